"""Where the clinic's hours are kept: each doctor's weekly plan, leave, blocked time, extra
hours, closures and public holidays. Each change is audited, tells the slot cache, and lists
the bookings it touches (they are kept for the coordinator to handle, never dropped). Flushes,
never commits."""

from __future__ import annotations

from datetime import date, datetime, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from booking.accounts.models import User
from booking.catalogue.models import Doctor
from booking.core import audit
from booking.core.errors import Conflict, DomainError, NotAllowed, NotFound, Unprocessable
from booking.core.policy import can_manage_clinic
from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.scheduling.availability import local_instant
from booking.scheduling.cache import mark_changed
from booking.scheduling.models import (
    ACTIVE_STATES,
    EXCEPTION_KINDS,
    Booking,
    Holiday,
    ScheduleException,
    WorkingInterval,
)


def set_weekly_plan(actor: User, doctor: Doctor,
                    intervals: list[tuple[int, time, time]]) -> list[Booking]:
    """Replace a doctor's weekly plan; returns active future bookings now outside the plan
    (they are kept, and listed for the coordinator to handle)."""
    if not can_manage_clinic(actor, doctor.clinic_id) or actor.is_patient:
        raise NotAllowed(_l("You may only change your own clinic's schedules."))
    for weekday, start, end in intervals:
        if not 0 <= weekday <= 6 or end <= start:
            raise DomainError(_l("Each interval must end after it starts."), code="bad_interval")
    before = sorted((i.weekday, i.start_time.isoformat(), i.end_time.isoformat())
                    for i in db.session.scalars(
                        select(WorkingInterval).where(WorkingInterval.doctor_id == doctor.id)))
    db.session.execute(WorkingInterval.__table__.delete().where(
        WorkingInterval.doctor_id == doctor.id))
    for weekday, start, end in intervals:
        db.session.add(WorkingInterval(doctor_id=doctor.id, weekday=weekday,
                                       start_time=start, end_time=end))
    db.session.flush()
    mark_changed()
    after = sorted((w, s.isoformat(), e.isoformat()) for w, s, e in intervals)
    audit.record(actor, "schedule.plan_replaced", doctor,
                 before={"intervals": str(before)}, after={"intervals": str(after)})
    return bookings_outside_plan(doctor)


def bookings_outside_plan(doctor: Doctor, now: datetime | None = None) -> list[Booking]:
    """Active future bookings of a doctor that the current plan and exceptions no longer cover."""
    now = now or utcnow()
    bookings = db.session.scalars(select(Booking).where(
        Booking.doctor_id == doctor.id, Booking.state.in_(ACTIVE_STATES),
        Booking.starts_at >= now).order_by(Booking.starts_at)).all()
    plan = db.session.scalars(
        select(WorkingInterval).where(WorkingInterval.doctor_id == doctor.id)).all()
    extras = [(e.starts_at, e.ends_at) for e in db.session.scalars(select(ScheduleException).where(
        ScheduleException.doctor_id == doctor.id, ScheduleException.kind == "extra",
        ScheduleException.ends_at > now))]
    outside = []
    for booking in bookings:
        day = booking.starts_at.astimezone(CLINIC_ZONE).date()
        open_time = [(local_instant(day, i.start_time), local_instant(day, i.end_time))
                     for i in plan if i.weekday == day.weekday()] + extras
        covered = any(s <= booking.starts_at and booking.ends_at <= e for s, e in open_time)
        if not covered:
            outside.append(booking)
    return outside


def add_exception(actor: User, *, clinic_id: int, doctor_id: int | None, kind: str,
                  starts_at: datetime, ends_at: datetime, note: str = "") -> ScheduleException:
    """Add leave, extra hours, a blocked period, or (no doctor) a clinic closure."""
    if actor.is_patient or not can_manage_clinic(actor, clinic_id):
        raise NotAllowed(_l("You may only change your own clinic's schedules."))
    if ends_at <= starts_at:
        raise DomainError(_l("The end must be after the start."), code="bad_range")
    if doctor_id is not None:
        doctor = db.session.get(Doctor, doctor_id)
        if doctor is None or doctor.clinic_id != clinic_id:
            raise NotFound(_l("No such doctor in this clinic."))
    if kind not in EXCEPTION_KINDS:
        raise Unprocessable(_l("Unknown kind of change."), code="invalid_kind")
    note = note.strip()
    if len(note) > 300:
        raise Unprocessable(_l("Please keep the note under 300 characters."), code="note_too_long")
    exc = ScheduleException(clinic_id=clinic_id, doctor_id=doctor_id, kind=kind,
                            starts_at=starts_at, ends_at=ends_at, note=note)
    db.session.add(exc)
    db.session.flush()
    mark_changed()
    audit.record(actor, f"schedule.{kind}_added", exc,
                 after={"doctor_id": doctor_id, "starts_at": starts_at.isoformat(),
                        "ends_at": ends_at.isoformat()})
    return exc


def bookings_in_exception(exc: ScheduleException) -> list[Booking]:
    """Active bookings that leave, a block or a closure now falls over (kept, listed for the
    coordinator to move or cancel, as a plan change does). Extra hours take nothing away."""
    if exc.kind == "extra":
        return []
    query = select(Booking).where(
        Booking.clinic_id == exc.clinic_id, Booking.state.in_(ACTIVE_STATES),
        Booking.starts_at < exc.ends_at, Booking.ends_at > exc.starts_at,
        Booking.ends_at > utcnow())
    if exc.doctor_id is not None:
        query = query.where(Booking.doctor_id == exc.doctor_id)
    return list(db.session.scalars(query.order_by(Booking.starts_at)))




def _delete_once(row: ScheduleException | Holiday, gone: object) -> None:
    """Delete `row` with one DELETE that says whether it found it: of two requests removing
    the same row at once (a double-click), the second waits for the first's row lock on
    PostgreSQL, then matches nothing and is refused, so the removal is audited once."""
    model = type(row)
    deleted = db.session.execute(delete(model).where(model.id == row.id)
                                 .execution_options(synchronize_session=False)).rowcount
    if deleted != 1:
        raise Conflict(gone, code="already_removed")
    db.session.expunge(row)


def remove_exception(actor: User, exc: ScheduleException) -> None:
    """Delete leave, extra hours, a block or a closure."""
    if actor.is_patient or not can_manage_clinic(actor, exc.clinic_id):
        raise NotAllowed(_l("You may only change your own clinic's schedules."))
    _delete_once(exc, _l("That entry was already removed."))
    audit.record(actor, f"schedule.{exc.kind}_removed", exc,
                 before={"doctor_id": exc.doctor_id, "starts_at": exc.starts_at.isoformat(),
                         "ends_at": exc.ends_at.isoformat()})
    mark_changed()


def add_holiday(actor: User, day: date, name: str) -> Holiday:
    """Add a public holiday (every clinic closes): an admin's decision, not one clinic's."""
    if not actor.is_admin:
        raise NotAllowed(_l("Only an administrator can change public holidays."))
    name = name.strip()
    if not name or len(name) > 200:
        raise Unprocessable(_l("Give the holiday a name of at most 200 characters."),
                            code="invalid_name")
    if db.session.scalar(select(Holiday.id).where(Holiday.day == day)) is not None:
        raise DomainError(_l("That date is already a holiday."), code="holiday_exists")
    holiday = Holiday(day=day, name=name)
    db.session.add(holiday)
    db.session.flush()
    mark_changed()
    audit.record(actor, "holiday.added", holiday, after={"day": day.isoformat(), "name": name})
    return holiday


def remove_holiday(actor: User, holiday: Holiday) -> None:
    """Remove a public holiday (clinics open on their usual plan that day)."""
    if not actor.is_admin:
        raise NotAllowed(_l("Only an administrator can change public holidays."))
    _delete_once(holiday, _l("That holiday was already removed."))
    audit.record(actor, "holiday.removed", holiday,
                 before={"day": holiday.day.isoformat(), "name": holiday.name})
    mark_changed()
