"""The clinic's side of bookings: the week and day views, confirming, outcomes and video links,
and booking a time on a patient's behalf. URLs stay under /coordinator/ (links in emails)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from booking.accounts.models import User
from booking.catalogue.models import ConsultationType
from booking.core.actions import apply, attempt
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
from booking.scheduling import permissions, services
from booking.scheduling.forms import BookForPatientForm, VideoLinkForm
from booking.scheduling.models import ACTIVE_STATES, CONFIRMED, Booking, Holiday, ScheduleException
from booking.scheduling.permissions import BookingAction
from booking.scheduling.views.patient import booking_page, chosen_slot, render_slot_page

bp = Blueprint("clinic_bookings", __name__, url_prefix="/coordinator")


def clinic_bookings(clinic_id: int, first: date, last_exclusive: date,
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


def _exceptions(clinic_id: int, start, end) -> list[ScheduleException]:  # type: ignore[no-untyped-def]
    """Leave, blocks, extra hours and closures overlapping [start, end)."""
    return list(db.session.scalars(select(ScheduleException).where(
        ScheduleException.clinic_id == clinic_id, ScheduleException.starts_at < end,
        ScheduleException.ends_at > start).order_by(ScheduleException.starts_at)))


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
    rows = clinic_bookings(clinic.id, monday, monday + timedelta(days=7), doctor_id)
    if not show_all:
        rows = [b for b in rows if b.state in ACTIVE_STATES]
    days = {monday + timedelta(days=i): [] for i in range(7)}
    for b in rows:
        days[b.starts_at.astimezone(CLINIC_ZONE).date()].append(b)
    week_start, week_end = days_in_utc(monday, monday + timedelta(days=7))
    blocks: dict[date, list] = {day: [] for day in days}
    for exc in _exceptions(clinic.id, week_start, week_end):
        if doctor_id and exc.doctor_id not in (None, doctor_id):
            continue
        for day in days:
            day_start, day_end = days_in_utc(day)
            if exc.starts_at < day_end and exc.ends_at > day_start:
                blocks[day].append(exc)
    holidays = {h.day: h.name for h in db.session.scalars(select(Holiday).where(
        Holiday.day >= monday, Holiday.day < monday + timedelta(days=7)))}
    return render_template("scheduling/clinic/week.html", clinic=clinic, days=days, monday=monday,
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
    rows = [b for b in clinic_bookings(clinic.id, chosen, chosen + timedelta(days=1), doctor_id)
            if b.state in ACTIVE_STATES or request.args.get("all") == "1"]
    start, end = days_in_utc(chosen)
    blocks = _exceptions(clinic.id, start, end)
    doctors = [d for d in clinic.doctors if d.active and (not doctor_id or d.id == doctor_id)]
    holiday = db.session.scalar(select(Holiday.name).where(Holiday.day == chosen))
    return render_template(
        "scheduling/clinic/day.html", clinic=clinic, day=chosen, doctors=doctors, holiday=holiday,
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

    def resend() -> None:
        permissions.require(current_user, BookingAction.RESEND_MESSAGE, booking)
        notifications.resend(message)

    apply(resend, _("The message will be sent again shortly."))
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
        saved = attempt(lambda: services.set_video_link(current_user, booking,
                                                        form.url.data or ""))
        if not saved.ok:
            if saved.error.code != "invalid_video_url":  # not about what was typed
                flash(saved.message, "danger")
                return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))
            form.url.errors = [*form.url.errors, saved.message]
        else:
            if booking.state == CONFIRMED:
                flash(_("The video link is saved and emailed to the patient; every reminder "
                        "carries it."), "success")
            else:
                flash(_("The video link is saved. The patient gets it with the confirmation, "
                        "and every reminder carries it."), "success")
            return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))
    flash(_("The video link was not saved: see below."), "danger")
    return booking_page(booking, video_form=form), 422


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
            return redirect(url_for("clinic_bookings.book_slot",
                                    ctype_id=form.consultation_type.data,
                                    patient=services.patient_ref(patient, clinic_id)))
    status = 422 if request.method == "POST" else 200
    return render_template("scheduling/clinic/book.html", form=form), status


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
    return render_slot_page(ctype, zone, page_endpoint="clinic_bookings.book_slot",
                            hold_endpoint="clinic_bookings.book_hold", patient=patient,
                            patient_ref=request.args.get("patient"))


@bp.post("/book/<int:ctype_id>/hold")
@coordinator_required
def book_hold(ctype_id: int):
    """Hold the time for the patient; confirm it once the deposit has arrived."""
    ctype = _clinic_ctype(ctype_id)
    ref = request.form.get("patient")
    patient = _patient_arg(ref)
    back = url_for("clinic_bookings.book_slot", ctype_id=ctype.id, patient=ref)
    chosen = chosen_slot()
    if chosen is None:
        flash(_("Please choose one of the times shown."), "danger")
        return redirect(back)
    held = attempt(lambda: services.place_hold(current_user, patient=patient, ctype=ctype,
                                               doctor_id=chosen[1], start=chosen[0]))
    if not held.ok:
        flash(held.message, "danger")
        return redirect(back)
    booking = held.value
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
