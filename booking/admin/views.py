"""Admin pages: clinics, doctors, treatments, consultation types, staff, rates, audit trail."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from booking.accounts import emails
from booking.accounts import services as accounts
from booking.accounts.models import User
from booking.admin.forms import (
    AuditFilterForm,
    ClinicForm,
    ConsultationTypeForm,
    DoctorForm,
    ExchangeRateForm,
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
from booking.core.audit import AuditEvent
from booking.core.audit import record as audit_record
from booking.core.errors import DomainError
from booking.core.i18n import SUPPORTED_CURRENCIES
from booking.core.ids import id_value
from booking.core.policy import admin_required
from booking.core.templating import MODE_LABELS, REGULATORY_LABELS
from booking.extensions import db
from booking.notifications import services as notifications
from booking.notifications.kinds import KINDS
from booking.notifications.models import OutboxMessage

bp = Blueprint("admin", __name__, url_prefix="/admin")


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
            form.deposit.data = ctype.deposit_minor // 100
        elif id_value(request.args.get("clinic")):
            form.clinic_id.data = id_value(request.args.get("clinic"))

    def save() -> object:
        values = {f: getattr(form, f).data for f in
                  ("name", "mode", "duration_minutes", "active", "clinic_id",
                   "buffer_before_minutes", "buffer_after_minutes", "min_notice_minutes",
                   "horizon_days")}
        values["deposit_minor"] = form.deposit.data * 100
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
        form.price_min.data = treatment.price_min_minor // 100
        form.price_max.data = treatment.price_max_minor // 100
        form.conditions.data = [c.id for c in treatment.conditions]
        form.clinics.data = [c.id for c in treatment.clinics]

    def save() -> object:
        values = {f: getattr(form, f).data for f in
                  ("name", "slug", "summary", "description", "evidence_summary",
                   "regulatory_status", "regulatory_note", "not_candidates", "active")}
        values["price_min_minor"] = form.price_min.data * 100
        values["price_max_minor"] = form.price_max.data * 100
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
    page = db.paginate(query, per_page=50, error_out=False)
    return render_template("admin/users.html", page=page, role=role)


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
        emails.send_staff_invite(user)  # queued in the same transaction
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
    emails.send_staff_invite(user)
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
    page = db.paginate(query, per_page=50, error_out=False)
    return render_template("admin/outbox.html", page=page, status=status, kinds=KINDS)


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
    if form.validate():
        if form.action.data:
            query = query.where(AuditEvent.action.contains(form.action.data.strip()))
        if form.object_type.data:
            query = query.where(AuditEvent.object_type == form.object_type.data)
        if form.actor.data:
            query = query.where(AuditEvent.actor_label.contains(form.actor.data.strip().lower()))
        if form.since.data:
            query = query.where(
                AuditEvent.created_at >= datetime.combine(form.since.data, time.min, UTC))
        if form.until.data:
            query = query.where(
                AuditEvent.created_at <= datetime.combine(form.until.data, time.max, UTC))
    page = db.paginate(query, per_page=50, error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("admin/audit.html", form=form, page=page, args=args)
