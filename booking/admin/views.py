"""Admin pages: clinics, doctors, treatments, consultation types, staff, rates, audit trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking.accounts import messages as account_messages
from booking.accounts import services as accounts
from booking.accounts.models import User
from booking.admin.forms import (
    AuditFilterForm,
    ClinicForm,
    ConsultationTypeForm,
    DoctorForm,
    ExchangeRateForm,
    HolidayForm,
    StaffEditForm,
    StaffForm,
    TreatmentForm,
)
from booking.catalogue import services as catalogue
from booking.catalogue.models import (
    Clinic,
    Condition,
    ConsultationType,
    Doctor,
    ExchangeRate,
    Treatment,
)
from booking.core.actions import apply
from booking.core.audit import AuditEvent, describe_changes
from booking.core.audit import record as audit_record
from booking.core.errors import DomainError, Unprocessable
from booking.core.i18n import SUPPORTED_CURRENCIES
from booking.core.ids import id_value
from booking.core.inputs import page_number
from booking.core.money import Money
from booking.core.policy import admin_required
from booking.core.templating import MODE_LABELS, REGULATORY_LABELS
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.notifications import services as notifications
from booking.notifications.models import OutboxMessage
from booking.notifications.registry import kinds
from booking.scheduling import services as scheduling
from booking.scheduling.models import Holiday

bp = Blueprint("admin", __name__, url_prefix="/admin")

PER_PAGE = 50


@bp.app_template_filter("audit_changes")
def _audit_changes(event: AuditEvent) -> list[str]:
    return describe_changes(event)


def _page() -> tuple[int, str | None]:
    """The asked-for page (bounded), or page 1 and the message saying why not."""
    try:
        return page_number(request.args.get("page")), None
    except Unprocessable as exc:
        return 1, str(exc.message)


def _filters() -> dict[str, str]:
    """The other query arguments, kept on pagination links."""
    return {k: v for k, v in request.args.items() if k != "page"}


def _clinic_choices() -> list[tuple[int, str]]:
    return [(c.id, c.name) for c in db.session.scalars(select(Clinic).order_by(Clinic.name))]


def _get_or_404(model: type, ident: int):  # type: ignore[no-untyped-def]
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


def _edit(form: FlaskForm, title: str, save: Callable[[], object], done: str,
          back: str):  # type: ignore[no-untyped-def]
    """Validate, save through a service, commit once; on any error keep what was typed."""
    if form.validate_on_submit():
        try:
            save()
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
        else:
            db.session.commit()
            flash(_("Saved."), "success")
            return redirect(done)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/form.html", form=form, title=title, back=back), status


@bp.get("/")
@admin_required
def dashboard():
    """Counts and shortcuts."""
    counts = {
        "clinics": db.session.query(Clinic).count(),
        "doctors": db.session.query(Doctor).count(),
        "treatments": db.session.query(Treatment).count(),
        "patients": db.session.query(User).filter_by(role="patient").count(),
        "staff": db.session.query(User).filter(User.role != "patient").count(),
    }
    recent = db.session.scalars(
        select(AuditEvent).order_by(AuditEvent.created_at.desc()).limit(8)).all()
    return render_template("admin/dashboard.html", counts=counts, recent=recent)


# Clinics, doctors, consultation types ------------------------------------------------------

@bp.get("/clinics")
@admin_required
def clinics():
    """Every clinic with its doctors and consultation types."""
    rows = db.session.scalars(select(Clinic).order_by(Clinic.name)).all()
    return render_template("admin/clinics.html", clinics=rows)


@bp.route("/clinics/new", methods=["GET", "POST"])
@bp.route("/clinics/<int:clinic_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_clinic(clinic_id: int | None = None):
    """Create or edit a clinic."""
    clinic = _get_or_404(Clinic, clinic_id) if clinic_id else None
    form = ClinicForm(obj=clinic)

    def save() -> object:
        values = {f: getattr(form, f).data for f in catalogue.CLINIC_FIELDS}
        values["email"] = values["email"] or ""
        return catalogue.save_clinic(current_user, clinic, values)

    title = _("Edit clinic") if clinic else _("New clinic")
    return _edit(form, title, save, url_for("admin.clinics"), url_for("admin.clinics"))


@bp.route("/doctors/new", methods=["GET", "POST"])
@bp.route("/doctors/<int:doctor_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_doctor(doctor_id: int | None = None):
    """Create or edit a doctor."""
    doctor = _get_or_404(Doctor, doctor_id) if doctor_id else None
    form = DoctorForm(obj=doctor)
    form.clinic_id.choices = _clinic_choices()
    if doctor is None and request.method == "GET" and id_value(request.args.get("clinic")):
        form.clinic_id.data = id_value(request.args.get("clinic"))

    def save() -> object:
        values = {f: getattr(form, f).data for f in catalogue.DOCTOR_FIELDS}
        return catalogue.save_doctor(current_user, doctor, values)

    title = _("Edit doctor") if doctor else _("New doctor")
    return _edit(form, title, save, url_for("admin.clinics"), url_for("admin.clinics"))


@bp.route("/consultation-types/new", methods=["GET", "POST"])
@bp.route("/consultation-types/<int:ctype_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_consultation_type(ctype_id: int | None = None):
    """Create or edit a consultation type (mode, duration, deposit in THB)."""
    ctype = _get_or_404(ConsultationType, ctype_id) if ctype_id else None
    form = ConsultationTypeForm(obj=ctype)
    form.clinic_id.choices = _clinic_choices()
    form.mode.choices = [(k, str(v)) for k, v in MODE_LABELS.items()]
    if request.method == "GET":
        if ctype is not None:
            form.deposit.data = Money(ctype.deposit_minor, ctype.currency).decimal
        elif id_value(request.args.get("clinic")):
            form.clinic_id.data = id_value(request.args.get("clinic"))

    def save() -> object:
        values = {f: getattr(form, f).data for f in
                  ("name", "mode", "duration_minutes", "active", "clinic_id",
                   "buffer_before_minutes", "buffer_after_minutes", "min_notice_minutes",
                   "horizon_days")}
        currency = ctype.currency if ctype else current_app.config["BASE_CURRENCY"]
        values["deposit_minor"] = Money.from_decimal(form.deposit.data, currency).amount_minor
        return catalogue.save_consultation_type(current_user, ctype, values)

    title = _("Edit consultation type") if ctype else _("New consultation type")
    return _edit(form, title, save, url_for("admin.clinics"), url_for("admin.clinics"))


# Treatments ------------------------------------------------------------------------------

@bp.get("/treatments")
@admin_required
def treatments():
    """Every treatment, listed or not."""
    return render_template("admin/treatments.html",
                           treatments=catalogue.list_treatments(include_inactive=True))


@bp.route("/treatments/new", methods=["GET", "POST"])
@bp.route("/treatments/<int:treatment_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_treatment(treatment_id: int | None = None):
    """Create or edit a treatment: prices, evidence, regulatory status, candidates."""
    treatment = _get_or_404(Treatment, treatment_id) if treatment_id else None
    form = TreatmentForm(obj=treatment)
    form.regulatory_status.choices = [(k, str(v)) for k, v in REGULATORY_LABELS.items()]
    form.conditions.choices = [
        (c.id, c.name) for c in db.session.scalars(select(Condition).order_by(Condition.name))
    ]
    form.clinics.choices = _clinic_choices()
    if request.method == "GET" and treatment is not None:
        form.price_min.data = Money(treatment.price_min_minor, treatment.currency).decimal
        form.price_max.data = Money(treatment.price_max_minor, treatment.currency).decimal
        form.conditions.data = [c.id for c in treatment.conditions]
        form.clinics.data = [c.id for c in treatment.clinics]

    def save() -> object:
        values = {f: getattr(form, f).data for f in
                  ("name", "slug", "summary", "description", "evidence_summary",
                   "regulatory_status", "regulatory_note", "not_candidates", "active")}
        currency = treatment.currency if treatment else current_app.config["BASE_CURRENCY"]
        values["price_min_minor"] = Money.from_decimal(form.price_min.data, currency).amount_minor
        values["price_max_minor"] = Money.from_decimal(form.price_max.data, currency).amount_minor
        return catalogue.save_treatment(current_user, treatment, values,
                                        form.conditions.data or [], form.clinics.data or [])

    title = _("Edit treatment") if treatment else _("New treatment")
    return _edit(form, title, save, url_for("admin.treatments"), url_for("admin.treatments"))


# Staff and accounts -----------------------------------------------------------------------

@bp.get("/users")
@admin_required
def users():
    """Staff and patients, newest first."""
    role = request.args.get("role")
    query = select(User).order_by(User.created_at.desc())
    if role in {"patient", "coordinator", "admin"}:
        query = query.where(User.role == role)
    number, problem = _page()
    page = db.paginate(query, page=number, per_page=PER_PAGE, error_out=False)
    return render_template("admin/users.html", page=page, role=role, args=_filters(),
                           page_problem=problem), 422 if problem else 200


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_staff():
    """Create a coordinator or admin; they get an email link to choose a password."""
    form = StaffForm()
    form.clinic_id.choices = [(0, _l("— none (admins) —"))] + _clinic_choices()

    def save() -> object:
        user = accounts.create_staff(
            current_user, email=form.email.data, name=form.name.data, role=form.role.data,
            clinic_id=form.clinic_id.data or None)
        account_messages.send_staff_invite(user)  # queued in the same transaction
        return user

    return _edit(form, _("New staff account"), save, url_for("admin.users"),
                 url_for("admin.users"))


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_staff(user_id: int):
    """Rename a coordinator or admin, or move them to another clinic or role."""
    user = _get_or_404(User, user_id)
    if user.is_patient:
        abort(404)
    form = StaffEditForm(obj=user)
    form.clinic_id.choices = [(0, _l("— none (admins) —"))] + _clinic_choices()
    if request.method == "GET":
        form.clinic_id.data = user.clinic_id or 0

    def save() -> object:
        return accounts.update_staff(current_user, user, name=form.name.data,
                                     role=form.role.data, clinic_id=form.clinic_id.data or None)

    return _edit(form, _("Edit %(name)s (%(email)s)", name=user.name, email=user.email), save,
                 url_for("admin.users"), url_for("admin.users"))


@bp.post("/users/<int:user_id>/invite")
@admin_required
def resend_invite(user_id: int):
    """Send a staff member a new link to choose their password (valid 7 days)."""
    user = _get_or_404(User, user_id)
    if user.is_patient or not user.active:
        abort(404)
    account_messages.send_staff_invite(user)
    audit_record(current_user, "user.invited", user)
    db.session.commit()
    flash(_("A new invitation is on its way to %(email)s.", email=user.email), "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/active")
@admin_required
def set_user_active(user_id: int):
    """Suspend or restore an account."""
    user = _get_or_404(User, user_id)
    apply(lambda: accounts.set_active(current_user, user, request.form.get("active") == "1"),
          _("Saved."))
    return redirect(url_for("admin.users"))


# Exchange rates -----------------------------------------------------------------------------

@bp.route("/exchange-rates", methods=["GET", "POST"])
@admin_required
def exchange_rates():
    """The display rates used to show THB prices in other currencies."""
    form = ExchangeRateForm()
    form.currency.choices = [(c, c) for c in SUPPORTED_CURRENCIES if c != "THB"]
    if form.validate_on_submit():
        try:
            catalogue.set_exchange_rate(current_user, form.currency.data, form.rate.data)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
        else:
            db.session.commit()
            flash(_("Rate saved."), "success")
            return redirect(url_for("admin.exchange_rates"))
    rates = db.session.scalars(select(ExchangeRate).order_by(ExchangeRate.currency)).all()
    status = 422 if request.method == "POST" else 200
    return render_template("admin/exchange_rates.html", form=form, rates=rates), status


# Outbox -------------------------------------------------------------------------------------

@bp.get("/outbox")
@admin_required
def outbox():
    """Every message, newest first, with its status; failed ones first when asked."""
    query = select(OutboxMessage).order_by(OutboxMessage.due_at.desc(), OutboxMessage.id.desc())
    status = request.args.get("status")
    if status in ("pending", "sending", "sent", "failed", "cancelled"):
        query = query.where(OutboxMessage.status == status)
    number, problem = _page()
    page = db.paginate(query, page=number, per_page=PER_PAGE, error_out=False)
    return render_template("admin/outbox.html", page=page, status=status, kinds=kinds(),
                           args=_filters(), page_problem=problem), 422 if problem else 200


@bp.get("/outbox/<int:message_id>")
@admin_required
def outbox_message(message_id: int):
    """One message as it is (or would be) sent: subject, text and HTML."""
    message = _get_or_404(OutboxMessage, message_id)
    email = notifications.render(message, preview=True)
    html = next((body for body, mime in email.alternatives if mime == "text/html"), "")
    return render_template("admin/outbox_message.html", message=message, email=email, html=html)


# Audit trail --------------------------------------------------------------------------------

@bp.get("/audit")
@admin_required
def audit():
    """Every recorded change, filterable by action, object, person and dates."""
    form = AuditFilterForm(request.args)
    types = db.session.scalars(select(AuditEvent.object_type).distinct()).all()
    form.object_type.choices = [("", _l("Any"))] + [(t, t) for t in sorted(types)]
    query = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    valid = form.validate()
    # A bad value in one filter is reported on that field; the others still apply.
    def usable(f):  # type: ignore[no-untyped-def]
        return f.data and not f.errors

    if usable(form.action):
        query = query.where(AuditEvent.action.contains(form.action.data.strip()))
    if usable(form.object_type):
        query = query.where(AuditEvent.object_type == form.object_type.data)
    if usable(form.actor):
        query = query.where(AuditEvent.actor_label.contains(form.actor.data.strip().lower()))
    if usable(form.since):
        query = query.where(
            AuditEvent.created_at >= datetime.combine(form.since.data, time.min, UTC))
    if usable(form.until):
        query = query.where(
            AuditEvent.created_at <= datetime.combine(form.until.data, time.max, UTC))
    number, problem = _page()
    page = db.paginate(query, page=number, per_page=PER_PAGE, error_out=False)
    status = 422 if problem or not valid else 200
    return render_template("admin/audit.html", form=form, page=page, args=_filters(),
                           page_problem=problem), status


# Public holidays ----------------------------------------------------------------------------

def _holiday_page(form: HolidayForm, status: int = 200):  # type: ignore[no-untyped-def]
    this_year = datetime.now(CLINIC_ZONE).year
    holidays = db.session.scalars(select(Holiday).where(
        Holiday.day >= date(this_year, 1, 1), Holiday.day <= date(this_year + 1, 12, 31))
        .order_by(Holiday.day)).all()
    return render_template("admin/holidays.html", form=form, holidays=holidays,
                           years=(this_year, this_year + 1)), status


@bp.route("/holidays", methods=["GET", "POST"])
@admin_required
def holidays():
    """Public holidays this year and next (every clinic closes); add one."""
    form = HolidayForm()
    if request.method == "GET":
        return _holiday_page(form)
    if form.validate_on_submit():
        try:
            scheduling.add_holiday(current_user, form.day.data, form.name.data)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            target = form.day if exc.code == "holiday_exists" else form.name
            target.errors = [*target.errors, str(exc.message)]
        except IntegrityError:
            # Another admin added the same day a moment ago (the unique constraint caught it).
            db.session.rollback()
            form.day.errors = [*form.day.errors, _("That date is already a holiday.")]
        else:
            flash(_("Holiday added: every clinic is closed on %(day)s.",
                    day=form.day.data.isoformat()), "success")
            return redirect(url_for("admin.holidays"))
    return _holiday_page(form, 422)


@bp.route("/holidays/<int:holiday_id>/remove", methods=["GET", "POST"])
@admin_required
def remove_holiday(holiday_id: int):
    """Ask, then remove a public holiday (clinics open on their usual plan that day)."""
    holiday = _get_or_404(Holiday, holiday_id)
    if request.method == "GET":
        return render_template("admin/holiday_remove.html", holiday=holiday, form=FlaskForm())
    if not FlaskForm().validate_on_submit():
        abort(400)
    apply(lambda: scheduling.remove_holiday(current_user, holiday), _("Holiday removed."))
    return redirect(url_for("admin.holidays"))
