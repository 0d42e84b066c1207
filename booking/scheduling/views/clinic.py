"""The clinic's side of bookings: the week and day views, confirming, outcomes and video links,
and booking a time on a patient's behalf. URLs stay under /coordinator/ (links in emails)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_date, format_datetime
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Integer, func, select
from sqlalchemy.orm import joinedload

from booking.accounts import services as accounts
from booking.accounts.forms import PatientByPhoneForm
from booking.accounts.models import User
from booking.catalogue.models import ConsultationType, Doctor
from booking.core.actions import apply, attempt
from booking.core.errors import DomainError
from booking.core.ids import id_value
from booking.core.inputs import parse_day
from booking.core.personal_pages import personal_page
from booking.core.policy import coordinator_required
from booking.core.templating import MODE_LABELS
from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE, days_in_utc, is_valid_zone
from booking.extensions import db
from booking.notifications import services as notifications
from booking.notifications.models import OutboxMessage
from booking.scheduling import grid, permissions, services
from booking.scheduling.availability import local_instant
from booking.scheduling.forms import BookForPatientForm, VideoLinkForm
from booking.scheduling.models import (
    ACTIVE_STATES,
    CONFIRMED,
    Booking,
    Holiday,
    ScheduleException,
    WorkingInterval,
)
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


#: More bookings than this in a week of all doctors are shown as counts per hour (each links
#: to the day, doctor by doctor): thousands of entries in seven columns help nobody.
WEEK_DETAIL_LIMIT = 300


def bookings_per_hour(conditions: list) -> dict[datetime, int]:
    """How many bookings start in each hour (UTC hours: Bangkok keeps a whole-hour offset
    and no summer time, so they are its hours too), counted in SQL."""
    if db.session.get_bind().dialect.name == "postgresql":
        bucket = func.floor(func.extract("epoch", Booking.starts_at) / 3600)
    else:
        bucket = func.cast(func.strftime("%s", Booking.starts_at), Integer) // 3600
    rows = db.session.execute(select(bucket.label("h"), func.count(Booking.id))
                              .where(*conditions).group_by("h")).all()
    return {datetime.fromtimestamp(int(h) * 3600, tz=UTC): n for h, n in rows}


def _working_hours(doctor_ids: list[int], days: list[date]) -> dict:
    """(day, doctor) -> the doctor's planned hours that day, as UTC instants."""
    plans: dict[tuple[int, int], list[WorkingInterval]] = {}
    for interval in db.session.scalars(select(WorkingInterval).where(
            WorkingInterval.doctor_id.in_(doctor_ids))):
        plans.setdefault((interval.doctor_id, interval.weekday), []).append(interval)
    return {(day, doctor_id): [(local_instant(day, i.start_time), local_instant(day, i.end_time))
                               for i in plans.get((doctor_id, day.weekday()), [])]
            for day in days for doctor_id in doctor_ids}


def _holidays(first: date, last_exclusive: date) -> dict[date, str]:
    return {h.day: h.name for h in db.session.scalars(select(Holiday).where(
        Holiday.day >= first, Holiday.day < last_exclusive))}


@bp.get("/week")
@personal_page
@coordinator_required
def week():
    """Monday to Sunday as a time grid in Bangkok time: a column a day (one doctor's, or all
    doctors' side by side), bookings and holds with their expiry, leave, blocks, closures."""
    clinic = current_user.clinic
    today = utcnow().astimezone(CLINIC_ZONE).date()
    anchor = parse_day(request.args.get("start"), "start", today)
    monday = anchor - timedelta(days=anchor.weekday())
    doctor_id = id_value(request.args.get("doctor"))
    if doctor_id and not any(d.id == doctor_id for d in clinic.doctors):
        doctor_id = None
    show_all = request.args.get("all") == "1"
    days = [monday + timedelta(days=i) for i in range(7)]
    week_start, week_end = days_in_utc(monday, monday + timedelta(days=7))
    in_week = [Booking.clinic_id == clinic.id, Booking.starts_at >= week_start,
               Booking.starts_at < week_end]
    if not show_all:
        in_week.append(Booking.state.in_(ACTIVE_STATES))
    by_hour = not doctor_id and db.session.scalar(
        select(func.count(Booking.id)).where(*in_week)) > WEEK_DETAIL_LIMIT
    rows: list = []
    counts: dict = {}
    if by_hour:  # a busy clinic's week: counted per hour by the database
        counts = bookings_per_hour(in_week)
    else:
        rows = clinic_bookings(clinic.id, monday, monday + timedelta(days=7), doctor_id)
        if not show_all:
            rows = [b for b in rows if b.state in ACTIVE_STATES]
    exceptions = [e for e in _exceptions(clinic.id, week_start, week_end)
                  if not doctor_id or e.doctor_id in (None, doctor_id)]
    holidays = _holidays(monday, monday + timedelta(days=7))
    columns = [grid.Column(day=d, title=format_date(d, "EEE d MMM"), doctor_id=doctor_id,
                           holiday=holidays.get(d)) for d in days]
    work = _working_hours([doctor_id], days) if doctor_id else {}
    return render_template("scheduling/clinic/week_grid.html", clinic=clinic, monday=monday,
                           grid=grid.build(columns, rows, exceptions, work, hour_counts=counts),
                           by_hour=by_hour,
                           doctor_names={d.id: d.name for d in clinic.doctors},
                           today=today, doctor_id=doctor_id, show_all=show_all,
                           prev_week=monday - timedelta(days=7),
                           next_week=monday + timedelta(days=7),
                           bookings_count=sum(counts.values()) if by_hour else len(rows))


@bp.get("/day")
@personal_page
@coordinator_required
def day():
    """One day as a time grid, a column per doctor: bookings, holds, leave, blocks, closures,
    and each doctor's working hours behind them (Bangkok time)."""
    clinic = current_user.clinic
    today = utcnow().astimezone(CLINIC_ZONE).date()
    chosen = parse_day(request.args.get("date"), "date", today)
    doctor_id = id_value(request.args.get("doctor"))
    show_all = request.args.get("all") == "1"
    rows = [b for b in clinic_bookings(clinic.id, chosen, chosen + timedelta(days=1), doctor_id)
            if b.state in ACTIVE_STATES or show_all]
    start, end = days_in_utc(chosen)
    doctors = [d for d in clinic.doctors if d.active and (not doctor_id or d.id == doctor_id)]
    holiday = _holidays(chosen, chosen + timedelta(days=1)).get(chosen)
    columns = [grid.Column(day=chosen, title=d.name, doctor_id=d.id, holiday=holiday)
               for d in doctors]
    return render_template(
        "scheduling/clinic/day_grid.html", clinic=clinic, day=chosen, holiday=holiday,
        grid=grid.build(columns, rows, _exceptions(clinic.id, start, end),
                        _working_hours([d.id for d in doctors], [chosen])),
        doctor_names={d.id: d.name for d in clinic.doctors}, today=today,
        prev_day=chosen - timedelta(days=1), next_day=chosen + timedelta(days=1),
        doctor_id=doctor_id, show_all=show_all, bookings_count=len(rows))


def _move_target(booking: Booking) -> tuple[datetime | None, int]:
    """The new start (a Bangkok wall-clock time, as the calendar sends it) and doctor asked."""
    raw = (request.values.get("start") or "")[:16]
    try:
        local = datetime.strptime(raw, "%Y-%m-%dT%H:%M")
    except ValueError:
        return None, booking.doctor_id
    doctor_id = id_value(request.values.get("doctor"))
    if doctor_id not in {d.id for d in booking.clinic.doctors if d.active}:
        doctor_id = booking.doctor_id  # only the clinic's own doctors are offered
    return local.replace(tzinfo=CLINIC_ZONE).astimezone(UTC), doctor_id


@bp.route("/bookings/<int:booking_id>/move", methods=["GET", "POST"])
@coordinator_required
def move(booking_id: int):
    """Move a booking dropped on the calendar: a page says what will change and what the
    patient is sent, and only its button moves it (the same reschedule rule as every move)."""
    booking = _own_booking(booking_id)
    start, doctor_id = _move_target(booking)
    back = url_for("clinic_bookings.day", date=booking.starts_at.astimezone(CLINIC_ZONE)
                   .date().isoformat())
    if start is None:
        flash(_("Drop the booking on a time in the calendar, or use Change time on the "
                "booking page."), "warning")
        return redirect(back)
    doctor = db.session.get(Doctor, doctor_id)
    if request.method == "POST":
        moved = attempt(lambda: services.reschedule(current_user, booking, start=start,
                                                    doctor_id=doctor_id))
        if moved.ok:
            flash(_("Booking %(ref)s is moved to %(when)s (Bangkok). %(patient)s is emailed "
                    "the new time.", ref=booking.reference, when=format_datetime(
                        start.astimezone(CLINIC_ZONE), "EEE d MMM, HH:mm"),
                    patient=booking.patient.name), "success")
            return redirect(url_for("clinic_bookings.day",
                                    date=start.astimezone(CLINIC_ZONE).date().isoformat()))
        flash(moved.message, "danger")
        return render_template("scheduling/clinic/move.html", booking=booking, start=start,
                               doctor=doctor, back=back, refused=moved.message), 409
    return render_template("scheduling/clinic/move.html", booking=booking, start=start,
                           doctor=doctor, back=back, refused=None)


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
    _ctype_choices(form)
    new_patient = PatientByPhoneForm(prefix="new", formdata=None)
    if form.validate_on_submit():
        clinic_id = current_user.clinic_id
        try:
            patient = services.find_patient_for_clinic(current_user, clinic_id,
                                                       email=form.email.data)
        except DomainError as exc:
            form.email.errors.append(str(exc.message))
            new_patient.email.data = form.email.data  # ready to register them instead
        else:
            return redirect(url_for("clinic_bookings.book_slot",
                                    ctype_id=form.consultation_type.data,
                                    patient=services.patient_ref(patient, clinic_id)))
    status = 422 if request.method == "POST" else 200
    return render_template("scheduling/clinic/book.html", form=form, new_patient=new_patient,
                           open_new=bool(form.email.errors)), status


@bp.post("/patients")
@coordinator_required
def register_patient():
    """Register a patient who called or wrote; they are emailed a link to choose a password,
    and the coordinator goes on to pick a time for them (the booking then waits for the
    patient's health questions and consent)."""
    form = PatientByPhoneForm(prefix="new")
    find = BookForPatientForm()
    _ctype_choices(find)
    ctype_id = id_value(request.form.get("new-consultation_type"))
    if form.validate_on_submit():
        done = attempt(lambda: accounts.register_patient_for(current_user, {
            "name": form.name.data, "email": form.email.data, "country": form.country.data,
            "phone": form.phone_e164, "timezone": form.timezone.data,
            "language": form.language.data}))
        if done.ok:
            flash(_("%(name)s is registered and has been emailed a link to choose a password. "
                    "Now choose a time for them.", name=done.value.name), "success")
            return redirect(url_for("clinic_bookings.book_slot",
                                    ctype_id=ctype_id or find.consultation_type.choices[0][0],
                                    patient=services.patient_ref(done.value,
                                                                 current_user.clinic_id)))
        form.email.errors.append(done.message)
    return render_template("scheduling/clinic/book.html", form=find, new_patient=form,
                           open_new=True), 422


def _ctype_choices(form: BookForPatientForm) -> None:
    form.consultation_type.choices = [(c.id, f"{c.name} ({mode_labels_text(c.mode)})")
                                      for c in current_user.clinic.consultation_types
                                      if c.active]


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
