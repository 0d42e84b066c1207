"""Scheduling use cases: holds, confirmation, cancellation, reschedule, outcomes, plans.

No double booking: on PostgreSQL an exclusion constraint refuses overlapping active bookings
(sqlstate 23P01, answered as Conflict); on SQLite writes are serialised with BEGIN IMMEDIATE and
the overlap is checked inside that transaction."""

from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking.accounts.models import User
from booking.catalogue.models import ConsultationType, Doctor
from booking.core import audit
from booking.core.errors import Conflict, DomainError, NotAllowed, NotFound, Unprocessable
from booking.core.locks import sqlite_write_lock
from booking.core.policy import can_manage_clinic
from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE, is_valid_zone
from booking.extensions import db
from booking.scheduling import lifecycle
from booking.scheduling.availability import is_bookable, local_instant
from booking.scheduling.cache import mark_changed
from booking.scheduling.consent import CONSENTS
from booking.scheduling.models import (
    ACTIVE_STATES,
    CANCELLED_BY_CLINIC,
    CANCELLED_BY_PATIENT,
    COMPLETED,
    CONFIRMED,
    EXPIRED,
    HELD,
    NO_SHOW,
    Booking,
    BookingConsent,
    Holiday,
    ScheduleException,
    WorkingInterval,
)

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
EXCLUSION_VIOLATION = "23P01"


class SlotTaken(Conflict):
    code = "slot_taken"


def _reference() -> str:
    return "SB-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))


def lock_schedule() -> None:
    """On SQLite, take the database write lock now so the overlap check and the insert that
    follows cannot interleave with another writer. PostgreSQL relies on its constraint."""
    sqlite_write_lock()


def _insert_active(booking: Booking) -> None:
    """Flush a booking that occupies time; an overlap becomes SlotTaken, never a 500."""
    try:
        with db.session.begin_nested():
            db.session.add(booking)
            db.session.flush()
    except IntegrityError as exc:
        if getattr(exc.orig, "sqlstate", None) == EXCLUSION_VIOLATION:
            raise SlotTaken(_l("Sorry, someone has just taken that time. Please choose "
                               "another.")) from exc
        raise


def get_booking(actor: User, booking_id: int) -> Booking:
    """A booking the actor may see: a patient their own, a coordinator their clinic's."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or not can_see(actor, booking):
        raise NotFound(_l("No such booking."))
    return booking


def can_see(actor: User, booking: Booking) -> bool:
    if actor.is_patient:
        return booking.patient_id == actor.id
    return can_manage_clinic(actor, booking.clinic_id)


def place_hold(actor: User, *, patient: User, ctype: ConsultationType, doctor_id: int,
               start: datetime, patient_timezone: str | None = None,
               now: datetime | None = None, screening_id: int | None = None) -> Booking:
    """Hold a slot for a patient while the deposit is paid (or a coordinator confirms)."""
    now = now or utcnow()
    if not patient.is_patient:
        raise DomainError(_l("Bookings are made for patient accounts."), code="not_a_patient")
    if actor.id != patient.id and not can_manage_clinic(actor, ctype.clinic_id):
        raise NotAllowed(_l("You may only book for yourself."))
    if not ctype.active:
        raise NotFound(_l("This consultation type is not offered."))
    doctor = db.session.get(Doctor, doctor_id)
    if doctor is None or doctor.clinic_id != ctype.clinic_id or not doctor.active:
        raise NotFound(_l("This doctor does not offer this consultation."))
    zone = patient_timezone or patient.timezone
    if not is_valid_zone(zone):
        raise DomainError(_l("Unknown time zone."), code="invalid_timezone")

    lock_schedule()
    if not is_bookable(ctype, doctor_id, start, now):
        raise SlotTaken(_l("That time is not available. Please choose another."))
    hold = timedelta(minutes=current_app.config["HOLD_MINUTES"])
    booking = Booking(
        reference=_reference(), patient_id=patient.id, clinic_id=ctype.clinic_id,
        doctor_id=doctor_id, consultation_type_id=ctype.id, state=HELD,
        starts_at=start, ends_at=start + timedelta(minutes=ctype.duration_minutes),
        blocked_from=start - timedelta(minutes=ctype.buffer_before_minutes),
        blocked_until=start + timedelta(minutes=ctype.duration_minutes
                                        + ctype.buffer_after_minutes),
        hold_expires_at=now + hold, patient_timezone=zone,
        deposit_minor=ctype.deposit_minor, currency=ctype.currency, created_by_id=actor.id,
        screening_id=screening_id,
    )
    _insert_active(booking)
    return lifecycle.start(booking, actor, HELD)


def give_consent(actor: User, booking: Booking, kinds: list[str]) -> list[BookingConsent]:
    """Record the patient's consents (current versions) for a held or confirmed booking."""
    if actor.id != booking.patient_id:
        raise NotAllowed(_l("Only the patient can give consent."))
    if booking.state not in ACTIVE_STATES:
        raise lifecycle.InvalidTransition(_l("This booking is no longer active."))
    missing = [k for k in CONSENTS if k not in kinds]
    if missing:
        raise DomainError(_l("Please tick both boxes to continue."), code="consent_required")
    recorded = []
    for kind, text in CONSENTS.items():
        if booking.consent(kind) is None:
            consent = BookingConsent(booking_id=booking.id, kind=kind, version=text.version,
                                     patient_id=actor.id)
            booking.consents.append(consent)
            recorded.append(consent)
    db.session.flush()
    for consent in recorded:
        audit.record(actor, f"consent.{consent.kind}", booking,
                     after={"version": consent.version,
                            "accepted_at": consent.accepted_at.isoformat()})
    return recorded


def confirm_by_hand(actor: User, booking: Booking, *, note: str = "") -> Booking:
    """A coordinator confirms a held booking whose deposit arrived another way (bank transfer)."""
    if actor.is_patient or not can_manage_clinic(actor, booking.clinic_id):
        raise NotAllowed(_l("Only the clinic can confirm a booking by hand."))
    return lifecycle.move(booking, CONFIRMED, actor, reason=note)


def set_video_link(actor: User, booking: Booking, url: str) -> Booking:
    """The clinic says where a video consultation takes place (a meeting link, https only);
    the patient is told if the booking is already confirmed."""
    if actor.is_patient or not can_manage_clinic(actor, booking.clinic_id):
        raise NotAllowed(_l("Only the clinic can set the video link."))
    if booking.consultation_type.mode != "video":
        raise DomainError(_l("This consultation is in person: it has no video link."),
                          code="not_video")
    if booking.state not in (HELD, CONFIRMED):
        raise DomainError(_l("This booking is no longer active."), code="not_active")
    url = url.strip()
    try:
        parts = urlsplit(url)
        valid = (parts.scheme == "https" and bool(parts.hostname) and len(url) <= 500
                 and not any(c.isspace() or not c.isprintable() for c in url))
    except ValueError:  # e.g. "https://[meet"
        valid = False
    if not valid:
        raise Unprocessable(_l("Enter the full meeting address, starting with https://."),
                            code="invalid_video_url")
    url = parts.geturl()
    if url == booking.video_url:
        return booking
    before = audit.snapshot(booking, ["video_url"])
    booking.video_url = url
    booking.ics_sequence += 1  # the event's location changed
    audit.record(actor, "booking.video_link_set", booking, before=before,
                 after=audit.snapshot(booking, ["video_url"]))
    lifecycle.video_link_changed.send(booking, first=before["video_url"] is None)
    return booking


def cancel(actor: User, booking: Booking, *, reason: str = "") -> Booking:
    """Cancel: by the patient (their own) or by the clinic."""
    if not can_see(actor, booking):
        raise NotFound(_l("No such booking."))
    target = CANCELLED_BY_PATIENT if actor.is_patient else CANCELLED_BY_CLINIC
    return lifecycle.move(booking, target, actor, reason=reason.strip()[:1000])


def mark_outcome(actor: User, booking: Booking, outcome: str) -> Booking:
    """The clinic marks a confirmed consultation completed or a no-show."""
    if actor.is_patient or not can_manage_clinic(actor, booking.clinic_id):
        raise NotAllowed(_l("Only the clinic can record the outcome."))
    if outcome not in (COMPLETED, NO_SHOW):
        raise DomainError(_l("Unknown outcome."), code="invalid_outcome")
    if booking.starts_at > utcnow():
        raise DomainError(_l("The consultation has not started yet: record how it went "
                             "afterwards."), code="too_early")
    return lifecycle.move(booking, outcome, actor)


def reschedule(actor: User, booking: Booking, *, start: datetime, doctor_id: int | None = None,
               now: datetime | None = None) -> Booking:
    """Move a confirmed booking to another free slot, keeping its history."""
    now = now or utcnow()
    if not can_see(actor, booking):
        raise NotFound(_l("No such booking."))
    if booking.state != CONFIRMED:
        raise lifecycle.InvalidTransition(
            _l("Only a confirmed booking can be moved to another time."))
    ctype = booking.consultation_type
    doctor_id = doctor_id or booking.doctor_id
    doctor = db.session.get(Doctor, doctor_id)
    if doctor is None or doctor.clinic_id != booking.clinic_id:
        raise NotFound(_l("This doctor does not offer this consultation."))
    lock_schedule()
    if not is_bookable(ctype, doctor_id, start, now, ignore_booking_id=booking.id):
        raise SlotTaken(_l("That time is not available. Please choose another."))
    old_start = booking.starts_at
    try:
        with db.session.begin_nested():
            booking.doctor_id = doctor_id
            booking.starts_at = start
            booking.ends_at = start + timedelta(minutes=ctype.duration_minutes)
            booking.blocked_from = start - timedelta(minutes=ctype.buffer_before_minutes)
            booking.blocked_until = booking.ends_at + timedelta(
                minutes=ctype.buffer_after_minutes)
            db.session.flush()
    except IntegrityError as exc:
        db.session.refresh(booking)
        if getattr(exc.orig, "sqlstate", None) == EXCLUSION_VIOLATION:
            raise SlotTaken(_l("Sorry, someone has just taken that time. Please choose "
                               "another.")) from exc
        raise
    return lifecycle.record_move(booking, actor, old_start)


def expire_holds(now: datetime | None = None) -> list[int]:
    """Free every hold whose time ran out (run by Celery beat every minute)."""
    now = now or utcnow()
    expired = db.session.scalars(
        select(Booking).where(Booking.state == HELD, Booking.hold_expires_at <= now)
        .with_for_update(skip_locked=True)
    ).all()
    for booking in expired:
        lifecycle.move(booking, EXPIRED, None)
    return [b.id for b in expired]


# Working plans ------------------------------------------------------------------------------

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
    exc = ScheduleException(clinic_id=clinic_id, doctor_id=doctor_id, kind=kind,
                            starts_at=starts_at, ends_at=ends_at, note=note.strip()[:300])
    db.session.add(exc)
    db.session.flush()
    mark_changed()
    audit.record(actor, f"schedule.{kind}_added", exc,
                 after={"doctor_id": doctor_id, "starts_at": starts_at.isoformat(),
                        "ends_at": ends_at.isoformat()})
    return exc




def remove_exception(actor: User, exc: ScheduleException) -> None:
    """Delete leave, extra hours, a block or a closure."""
    if actor.is_patient or not can_manage_clinic(actor, exc.clinic_id):
        raise NotAllowed(_l("You may only change your own clinic's schedules."))
    audit.record(actor, f"schedule.{exc.kind}_removed", exc,
                 before={"doctor_id": exc.doctor_id, "starts_at": exc.starts_at.isoformat(),
                         "ends_at": exc.ends_at.isoformat()})
    db.session.delete(exc)
    db.session.flush()
    mark_changed()


def add_holiday(actor: User, day: date, name: str) -> Holiday:
    """Add a public holiday (all clinics close)."""
    if actor.is_patient:
        raise NotAllowed(_l("Only staff can change holidays."))
    if db.session.scalar(select(Holiday.id).where(Holiday.day == day)) is not None:
        raise DomainError(_l("That date is already a holiday."), code="holiday_exists")
    holiday = Holiday(day=day, name=name.strip()[:200])
    db.session.add(holiday)
    db.session.flush()
    mark_changed()
    audit.record(actor, "holiday.added", holiday, after={"day": day.isoformat(), "name": name})
    return holiday


def remove_holiday(actor: User, holiday: Holiday) -> None:
    """Remove a public holiday (clinics open on their usual plan that day)."""
    if actor.is_patient:
        raise NotAllowed(_l("Only staff can change holidays."))
    audit.record(actor, "holiday.removed", holiday,
                 before={"day": holiday.day.isoformat(), "name": holiday.name})
    db.session.delete(holiday)
    db.session.flush()
    mark_changed()
