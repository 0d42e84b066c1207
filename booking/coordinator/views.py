"""The coordinator's views: their clinic, the week's bookings, and actions on a booking."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from booking.accounts.models import User
from booking.catalogue.models import ConsultationType, Doctor
from booking.coordinator.forms import (
    WEEKDAYS,
    BookForPatientForm,
    ExceptionForm,
    VideoLinkForm,
    WeeklyPlanForm,
    format_intervals,
)
from booking.core.actions import apply
from booking.core.audit import AuditEvent
from booking.core.errors import DomainError
from booking.core.ids import id_value
from booking.core.inputs import parse_day
from booking.core.policy import coordinator_required
from booking.core.templating import MODE_LABELS
from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE, days_in_utc, is_valid_zone
from booking.extensions import db
from booking.notifications import services as notifications
from booking.notifications.models import OutboxMessage
from booking.notifications.registry import kinds
from booking.scheduling import services
from booking.scheduling.models import (
    ACTIVE_STATES,
    CONFIRMED,
    Booking,
    Holiday,
    ScheduleException,
    WorkingInterval,
)
from booking.scheduling.views import booking_page, chosen_slot, render_slot_page

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")


@bp.get("/")
@coordinator_required
def dashboard():
    """The coordinator's own clinic: today's bookings, holds, doctors, recent changes."""
    clinic = current_user.clinic
    doctor_ids = [str(d.id) for d in clinic.doctors]
    ctype_ids = [str(c.id) for c in clinic.consultation_types]
    recent = db.session.scalars(
        select(AuditEvent)
        .where(
            ((AuditEvent.object_type == "Clinic") & (AuditEvent.object_id == str(clinic.id)))
            | ((AuditEvent.object_type == "Doctor") & AuditEvent.object_id.in_(doctor_ids))
            | ((AuditEvent.object_type == "ConsultationType")
               & AuditEvent.object_id.in_(ctype_ids))
        )
        .order_by(AuditEvent.created_at.desc())
        .limit(10)
    ).all()
    today = utcnow().astimezone(CLINIC_ZONE).date()
    upcoming = _bookings(clinic.id, today, today + timedelta(days=2))
    failed = db.session.scalars(
        select(OutboxMessage).join(Booking, OutboxMessage.about("booking", Booking.id))
        .where(Booking.clinic_id == clinic.id, OutboxMessage.status == "failed",
               OutboxMessage.recipient_id == Booking.patient_id)
        .order_by(OutboxMessage.due_at.desc()).limit(20)).all()
    now = utcnow()
    no_link = db.session.scalars(
        select(Booking).join(ConsultationType, Booking.consultation_type_id == ConsultationType.id)
        .where(Booking.clinic_id == clinic.id, Booking.state == CONFIRMED,
               ConsultationType.mode == "video", Booking.video_url.is_(None),
               Booking.starts_at >= now, Booking.starts_at < now + timedelta(days=7))
        .options(joinedload(Booking.patient), joinedload(Booking.doctor))
        .order_by(Booking.starts_at)).all()
    return render_template("coordinator/dashboard.html", clinic=clinic, recent=recent,
                           upcoming=upcoming, today=today, failed=failed, message_kinds=kinds(),
                           no_link=no_link)


def _bookings(clinic_id: int, first: date, last_exclusive: date,
              doctor_id: int | None = None) -> list[Booking]:
    start, end = days_in_utc(first, last_exclusive)
    query = (select(Booking).options(joinedload(Booking.patient), joinedload(Booking.doctor),
                                     joinedload(Booking.consultation_type))
             .where(Booking.clinic_id == clinic_id, Booking.starts_at >= start,
                    Booking.starts_at < end)
             .order_by(Booking.starts_at))
    if doctor_id:
        query = query.where(Booking.doctor_id == doctor_id)
    return list(db.session.scalars(query).unique())


@bp.get("/week")
@coordinator_required
def week():
    """Monday-to-Sunday view of the clinic's bookings and holds, in Bangkok time."""
    clinic = current_user.clinic
    today = utcnow().astimezone(CLINIC_ZONE).date()
    anchor = parse_day(request.args.get("start"), "start", today)
    monday = anchor - timedelta(days=anchor.weekday())
    doctor_id = id_value(request.args.get("doctor"))
    show_all = request.args.get("all") == "1"
    rows = _bookings(clinic.id, monday, monday + timedelta(days=7), doctor_id)
    if not show_all:
        rows = [b for b in rows if b.state in ACTIVE_STATES]
    days = {monday + timedelta(days=i): [] for i in range(7)}
    for b in rows:
        days[b.starts_at.astimezone(CLINIC_ZONE).date()].append(b)
    week_start, week_end = days_in_utc(monday, monday + timedelta(days=7))
    blocks: dict[date, list] = {day: [] for day in days}
    for exc in db.session.scalars(select(ScheduleException).where(
            ScheduleException.clinic_id == clinic.id,
            ScheduleException.starts_at < week_end,
            ScheduleException.ends_at > week_start).order_by(ScheduleException.starts_at)):
        if doctor_id and exc.doctor_id not in (None, doctor_id):
            continue
        for day in days:
            day_start, day_end = days_in_utc(day)
            if exc.starts_at < day_end and exc.ends_at > day_start:
                blocks[day].append(exc)
    holidays = {h.day: h.name for h in db.session.scalars(select(Holiday).where(
        Holiday.day >= monday, Holiday.day < monday + timedelta(days=7)))}
    return render_template("coordinator/week.html", clinic=clinic, days=days, monday=monday,
                           blocks=blocks, holidays=holidays,
                           doctor_names={d.id: d.name for d in clinic.doctors},
                           today=today, doctor_id=doctor_id, show_all=show_all,
                           prev_week=monday - timedelta(days=7),
                           next_week=monday + timedelta(days=7))


@bp.get("/day")
@coordinator_required
def day():
    """One day, doctor by doctor: bookings, holds, leave and blocks, in Bangkok time."""
    clinic = current_user.clinic
    today = utcnow().astimezone(CLINIC_ZONE).date()
    chosen = parse_day(request.args.get("date"), "date", today)
    doctor_id = id_value(request.args.get("doctor"))
    rows = [b for b in _bookings(clinic.id, chosen, chosen + timedelta(days=1), doctor_id)
            if b.state in ACTIVE_STATES or request.args.get("all") == "1"]
    start, end = days_in_utc(chosen)
    blocks = db.session.scalars(select(ScheduleException).where(
        ScheduleException.clinic_id == clinic.id,
        ScheduleException.starts_at < end,
        ScheduleException.ends_at > start).order_by(ScheduleException.starts_at)).all()
    doctors = [d for d in clinic.doctors if d.active and (not doctor_id or d.id == doctor_id)]
    holiday = db.session.scalar(select(Holiday.name).where(Holiday.day == chosen))
    return render_template(
        "coordinator/day.html", clinic=clinic, day=chosen, doctors=doctors, holiday=holiday,
        bookings={d.id: [b for b in rows if b.doctor_id == d.id] for d in doctors},
        blocks={d.id: [e for e in blocks if e.doctor_id in (None, d.id)] for d in doctors},
        prev_day=chosen - timedelta(days=1), next_day=chosen + timedelta(days=1),
        doctor_id=doctor_id)


@bp.post("/messages/<int:message_id>/resend")
@coordinator_required
def resend_message(message_id: int):
    """Try a failed message again now."""
    message = db.session.get(OutboxMessage, message_id)
    if message is None or message.subject_type != "booking":
        abort(404)
    booking = _own_booking(message.subject_id)
    apply(lambda: notifications.resend(message), _("The message will be sent again shortly."))
    return redirect(url_for("scheduling.booking_detail", booking_id=booking.id) + "#messages")


def _own_booking(booking_id: int) -> Booking:
    return services.get_booking(current_user, booking_id)


@bp.post("/bookings/<int:booking_id>/confirm")
@coordinator_required
def confirm(booking_id: int):
    """Confirm a held booking by hand (deposit paid another way, e.g. bank transfer)."""
    booking = _own_booking(booking_id)
    apply(lambda: services.confirm_by_hand(current_user, booking,
                                           note=request.form.get("note", "")),
          _("Booking %(ref)s is confirmed.", ref=booking.reference))
    return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))


@bp.post("/bookings/<int:booking_id>/outcome")
@coordinator_required
def outcome(booking_id: int):
    """Mark a confirmed consultation completed or a no-show."""
    booking = _own_booking(booking_id)
    apply(lambda: services.mark_outcome(current_user, booking, request.form.get("outcome", "")),
          _("Saved."))
    return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))


@bp.post("/bookings/<int:booking_id>/video-link")
@coordinator_required
def video_link(booking_id: int):
    """Set or change where a video consultation takes place; the patient is emailed."""
    booking = _own_booking(booking_id)
    form = VideoLinkForm()
    if form.validate_on_submit():
        try:
            services.set_video_link(current_user, booking, form.url.data or "")
        except DomainError as exc:
            db.session.rollback()
            if exc.code != "invalid_video_url":  # not about what was typed
                flash(str(exc.message), "danger")
                return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))
            form.url.errors = [*form.url.errors, str(exc.message)]
        else:
            db.session.commit()
            if booking.state == CONFIRMED:
                flash(_("The video link is saved and emailed to the patient; every reminder "
                        "carries it."), "success")
            else:
                flash(_("The video link is saved. The patient gets it with the confirmation, "
                        "and every reminder carries it."), "success")
            return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))
    flash(_("The video link was not saved: see below."), "danger")
    return booking_page(booking, video_form=form), 422


# Schedules ----------------------------------------------------------------------------------

def _clinic_doctor(doctor_id: int) -> Doctor:
    doctor = db.session.get(Doctor, doctor_id)
    if doctor is None or doctor.clinic_id != current_user.clinic_id:
        abort(404)
    return doctor


def _schedule_page(exception_form: ExceptionForm | None = None, status: int = 200):
    clinic = current_user.clinic
    now = utcnow()
    plans: dict[int, dict[int, list]] = {d.id: {} for d in clinic.doctors}
    for row in db.session.scalars(select(WorkingInterval).where(
            WorkingInterval.doctor_id.in_(list(plans))).order_by(WorkingInterval.start_time)):
        plans[row.doctor_id].setdefault(row.weekday, []).append((row.start_time, row.end_time))
    exceptions = db.session.scalars(select(ScheduleException).where(
        ScheduleException.clinic_id == clinic.id, ScheduleException.ends_at >= now)
        .order_by(ScheduleException.starts_at)).all()
    this_year = now.astimezone(CLINIC_ZONE).year
    holidays = db.session.scalars(select(Holiday).where(
        Holiday.day >= date(this_year, 1, 1), Holiday.day <= date(this_year + 1, 12, 31))
        .order_by(Holiday.day)).all()
    exception_form = exception_form or _exception_form()
    return render_template(
        "coordinator/schedule.html", clinic=clinic, plans=plans, weekdays=WEEKDAYS,
        exceptions=exceptions, holidays=holidays, exception_form=exception_form,
        doctor_names={d.id: d.name for d in clinic.doctors}, fmt=format_intervals,
    ), status


def _exception_form() -> ExceptionForm:
    form = ExceptionForm(prefix="exc")
    form.doctor_id.choices = [(0, _l("Whole clinic (closure)"))] + [
        (d.id, d.name) for d in current_user.clinic.doctors]
    return form


@bp.get("/schedule")
@coordinator_required
def schedule():
    """Weekly plans, leave, blocks, extra hours and holidays, in Bangkok time."""
    return _schedule_page()


@bp.route("/doctors/<int:doctor_id>/plan", methods=["GET", "POST"])
@coordinator_required
def edit_plan(doctor_id: int):
    """Replace a doctor's weekly plan; bookings it no longer covers are listed, never dropped."""
    doctor = _clinic_doctor(doctor_id)
    form = WeeklyPlanForm()
    if request.method == "GET":
        current: dict[int, list] = {}
        for row in db.session.scalars(select(WorkingInterval).where(
                WorkingInterval.doctor_id == doctor.id)):
            current.setdefault(row.weekday, []).append((row.start_time, row.end_time))
        for index, (name, _label) in enumerate(WEEKDAYS):
            getattr(form, name).data = format_intervals(sorted(current.get(index, [])))
    if form.validate_on_submit():
        outside = services.set_weekly_plan(current_user, doctor, form.intervals())
        db.session.commit()
        if not outside:
            flash(_("The plan for %(doctor)s is saved.", doctor=doctor.name), "success")
            return redirect(url_for("coordinator.schedule"))
        return render_template("coordinator/plan_conflicts.html", doctor=doctor,
                               bookings=outside)
    status = 422 if request.method == "POST" else 200
    return render_template("coordinator/plan.html", form=form, doctor=doctor), status


def _submit(form, field, action) -> bool:  # type: ignore[no-untyped-def]
    """Validate `form`, run `action` (a service call) and commit once. A refusal is shown
    under `field` and rolled back, so the caller shows the page again with what was typed."""
    if not form.validate_on_submit():
        return False
    try:
        action()
    except DomainError as exc:
        db.session.rollback()
        field.errors = [*field.errors, str(exc.message)]
        return False
    db.session.commit()
    return True


def _bangkok(value: datetime) -> datetime:
    return value.replace(tzinfo=CLINIC_ZONE).astimezone(UTC)


@bp.post("/exceptions")
@coordinator_required
def add_exception():
    """Add leave, blocked time, extra hours or (whole clinic) a closure."""
    form = _exception_form()
    added = []
    if not _submit(form, form.starts_at, lambda: added.append(services.add_exception(
            current_user, clinic_id=current_user.clinic_id, doctor_id=form.doctor_id.data or None,
            kind=form.kind.data, starts_at=_bangkok(form.starts_at.data),
            ends_at=_bangkok(form.ends_at.data), note=form.note.data or ""))):
        return _schedule_page(exception_form=form, status=422)
    affected = services.bookings_in_exception(added[0])
    if affected:
        return render_template("coordinator/exception_conflicts.html", exception=added[0],
                               bookings=affected, exception_kinds=dict(
                                   ExceptionForm.kind_choices()),
                               doctor_names={d.id: d.name for d in current_user.clinic.doctors})
    flash(_("Saved. No booking falls in that time."), "success")
    return redirect(url_for("coordinator.schedule"))


@bp.post("/exceptions/<int:exception_id>/delete")
@coordinator_required
def remove_exception(exception_id: int):
    """Remove leave, a block, extra hours or a closure."""
    exc = db.session.get(ScheduleException, exception_id)
    if exc is None or exc.clinic_id != current_user.clinic_id:
        abort(404)
    apply(lambda: services.remove_exception(current_user, exc), _("Removed."))
    return redirect(url_for("coordinator.schedule"))


# Booking on a patient's behalf (phone or chat requests) -------------------------------------

@bp.route("/book", methods=["GET", "POST"])
@coordinator_required
def book_for_patient():
    """Find the patient and the consultation, then pick a time for them."""
    form = BookForPatientForm()
    form.consultation_type.choices = [(c.id, f"{c.name} ({mode_labels_text(c.mode)})")
                                      for c in current_user.clinic.consultation_types
                                      if c.active]
    if form.validate_on_submit():
        clinic_id = current_user.clinic_id
        try:
            patient = services.find_patient_for_clinic(current_user, clinic_id,
                                                       email=form.email.data)
        except DomainError as exc:
            form.email.errors.append(str(exc.message))
        else:
            return redirect(url_for("coordinator.book_slot",
                                    ctype_id=form.consultation_type.data,
                                    patient=services.patient_ref(patient, clinic_id)))
    status = 422 if request.method == "POST" else 200
    return render_template("coordinator/book.html", form=form), status


def _patient_arg(value: str | None) -> User:
    """The patient behind the signed reference the email search gave (never a bare id)."""
    return services.find_patient_for_clinic(current_user, current_user.clinic_id,
                                            ref=value or "")


def _clinic_ctype(ctype_id: int) -> ConsultationType:
    ctype = db.session.get(ConsultationType, ctype_id)
    if ctype is None or ctype.clinic_id != current_user.clinic_id or not ctype.active:
        abort(404)
    return ctype


@bp.get("/book/<int:ctype_id>")
@coordinator_required
def book_slot(ctype_id: int):
    """Free times shown in the patient's zone, with Bangkok time beside."""
    ctype = _clinic_ctype(ctype_id)
    patient = _patient_arg(request.args.get("patient"))
    zone = request.args.get("tz")
    zone = zone if is_valid_zone(zone) else patient.timezone
    return render_slot_page(ctype, zone, page_endpoint="coordinator.book_slot",
                            hold_endpoint="coordinator.book_hold", patient=patient,
                            patient_ref=request.args.get("patient"))


@bp.post("/book/<int:ctype_id>/hold")
@coordinator_required
def book_hold(ctype_id: int):
    """Hold the time for the patient; confirm it once the deposit has arrived."""
    ctype = _clinic_ctype(ctype_id)
    ref = request.form.get("patient")
    patient = _patient_arg(ref)
    back = url_for("coordinator.book_slot", ctype_id=ctype.id, patient=ref)
    chosen = chosen_slot()
    if chosen is None:
        flash(_("Please choose one of the times shown."), "danger")
        return redirect(back)
    try:
        booking = services.place_hold(current_user, patient=patient, ctype=ctype,
                                      doctor_id=chosen[1], start=chosen[0])
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return redirect(back)
    db.session.commit()
    missing = services.missing_for_confirmation(booking)
    if missing:
        flash(_("Held for %(name)s. They are emailed a link to answer the health questions and "
                "give their consent; confirm once that is done and the deposit has arrived.",
                name=patient.name), "success")
    else:
        flash(_("Held for %(name)s. Confirm it once the deposit has arrived.",
                name=patient.name), "success")
    return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))


def mode_labels_text(mode: str) -> str:
    return str(MODE_LABELS[mode])
