"""Booking use cases: holds, consents, confirmation, cancellation, reschedule, outcomes
(the clinic's hours are changed in plans.py).

No double booking: on PostgreSQL an exclusion constraint refuses overlapping active bookings
(sqlstate 23P01, answered as Conflict); on SQLite writes are serialised with BEGIN IMMEDIATE and
the overlap is checked inside that transaction."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import NoReturn
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from booking.accounts.models import User
from booking.catalogue.models import ConsultationType, Doctor
from booking.core import audit
from booking.core.errors import Conflict, DomainError, NotAllowed, NotFound, Unprocessable
from booking.core.ids import id_value
from booking.core.locks import sqlite_write_lock
from booking.core.policy import can_manage_clinic
from booking.core.types import utcnow
from booking.core.zones import is_valid_zone
from booking.extensions import db
from booking.scheduling import lifecycle
from booking.scheduling.availability import is_bookable
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
)
from booking.scheduling.permissions import BookingAction, can_see, require
from booking.screening.models import REFER
from booking.screening.services import latest_screening

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
EXCLUSION_VIOLATION = "23P01"


MAX_REASON = 1000
MISSING_LABELS = {
    "screening": _l("the health questions"),
    **{f"consent:{kind}": text.title for kind, text in CONSENTS.items()},
}


class SlotTaken(Conflict):
    code = "slot_taken"


class PatientBusy(Conflict):
    code = "patient_overlap"


class HoldLimit(Conflict):
    code = "hold_limit"


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
        _raise_overlap(exc)


def _raise_overlap(exc: IntegrityError) -> NoReturn:
    """Turn an exclusion violation into the 409 it means; anything else stays an error."""
    if getattr(exc.orig, "sqlstate", None) == EXCLUSION_VIOLATION:
        diag = getattr(exc.orig, "diag", None)
        if getattr(diag, "constraint_name", None) == "booking_patient_no_overlap":
            raise PatientBusy(_l("You already have a booking at that time. Choose another "
                                 "time, or cancel that booking first.")) from exc
        raise SlotTaken(_l("Sorry, someone has just taken that time. Please choose "
                           "another.")) from exc
    raise exc


def _valid_host(host: str | None) -> bool:
    """A plausible DNS name: labels of 1-63 letters, digits or hyphens, 253 characters in all,
    with a dot (a meeting service, not a bare word)."""
    if not host or len(host) > 253 or "." not in host:
        return False
    return all(0 < len(label) <= 63 and label.replace("-", "").isalnum() and label.isascii()
               and not label.startswith("-") and not label.endswith("-")
               for label in host.split("."))


# Patients a clinic may act for -----------------------------------------------------------------

PATIENT_REF_SALT = "patient-ref"
#: How long a "found by email" reference lets a coordinator keep booking for that patient.
PATIENT_REF_MAX_AGE = 4 * 3600


def patient_ref(patient: User, clinic_id: int) -> str:
    """A signed, expiring reference to a patient a coordinator found by exact email, so the
    pages that follow never take a bare patient id (which could be walked)."""
    serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=PATIENT_REF_SALT)
    return serializer.dumps({"p": patient.id, "c": clinic_id})


def find_patient_for_clinic(actor: User, clinic_id: int, *, patient_id: int | None = None,
                            email: str | None = None, ref: str | None = None) -> User:
    """The patient a coordinator (or admin) may act for at `clinic_id`.

    A coordinator reaches a patient who has (or had) a booking with their clinic, one they
    found by exact email (a phone or chat request), or one behind a `patient_ref` they were
    given after such a search. They never browse patients by id. Anything else is "not found",
    so ids cannot be walked."""
    not_found = NotFound(_l("No patient account uses this email. Check it, or ask the patient "
                            "to register first."), code="patient_not_found")
    if actor.is_patient or not can_manage_clinic(actor, clinic_id):
        raise NotAllowed(_l("You may only book for patients of your own clinic."))
    patient: User | None = None
    if email is not None:
        patient = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    elif ref is not None:
        serializer = URLSafeTimedSerializer(current_app.config["SECRET_KEY"],
                                            salt=PATIENT_REF_SALT)
        try:
            data = serializer.loads(ref, max_age=PATIENT_REF_MAX_AGE)
        except BadData:
            raise not_found from None
        if not isinstance(data, dict) or data.get("c") != clinic_id:
            raise not_found
        patient = db.session.get(User, id_value(data.get("p")) or 0)
    elif patient_id is not None:
        patient = db.session.get(User, patient_id)
        if patient is not None and not actor.is_admin and not has_booked_with(patient,
                                                                              clinic_id):
            raise not_found
    if patient is None or not patient.is_patient or not patient.active:
        raise not_found
    return patient


def has_booked_with(patient: User, clinic_id: int) -> bool:
    """Whether the patient has, or had, any booking with the clinic."""
    return db.session.scalar(select(Booking.id).where(
        Booking.patient_id == patient.id, Booking.clinic_id == clinic_id).limit(1)) is not None


def missing_for_confirmation(booking: Booking) -> list[str]:
    """What the patient still has to give before the booking can be confirmed:
    "screening" (a passed pre-screening) and "consent:<kind>" for each current consent."""
    missing = []
    if booking.screening_id is None:
        screening = latest_screening(booking.patient)
        if screening is None or screening.outcome == REFER:
            missing.append("screening")
    missing += [f"consent:{kind}" for kind in CONSENTS if booking.consent(kind) is None]
    return missing


def get_booking(actor: User, booking_id: int) -> Booking:
    """A booking the actor may see: a patient their own, a coordinator their clinic's."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or not can_see(actor, booking):
        raise NotFound(_l("No such booking."))
    return booking


def bookable_type(ctype: ConsultationType | None) -> bool:
    """Whether patients may see and book this consultation type (it and its clinic listed)."""
    return ctype is not None and ctype.active and ctype.clinic.active


def lock_patient(patient: User) -> None:
    """Serialise a patient's holds: the cap on active holds and the no-overlap check are read
    and acted on by one request at a time (row lock on PostgreSQL, write lock on SQLite)."""
    sqlite_write_lock()
    db.session.execute(select(User.id).where(User.id == patient.id).with_for_update())


def _check_patient_free(patient: User, start: datetime, end: datetime,
                        ignore_booking_id: int | None = None) -> None:
    """A patient's own active bookings never overlap (the database also refuses it)."""
    query = select(Booking.reference).where(
        Booking.patient_id == patient.id, Booking.state.in_(ACTIVE_STATES),
        Booking.starts_at < end, Booking.ends_at > start)
    if ignore_booking_id is not None:
        query = query.where(Booking.id != ignore_booking_id)
    clash = db.session.scalar(query.limit(1))
    if clash is not None:
        raise PatientBusy(_l("You already have booking %(ref)s at that time. Choose another "
                             "time, or cancel that booking first.", ref=clash))


def _screening_for_hold(actor: User, patient: User) -> int | None:
    """The passed screening a hold rests on. A patient's own hold needs one, through every door;
    staff may hold a time for a patient who has not answered yet (they answer before the booking
    can be confirmed), never for one whose screening found warning signs."""
    screening = latest_screening(patient)
    if screening is not None and screening.outcome == REFER:
        raise Unprocessable(_l("The health questions found warning signs that need a doctor "
                               "near home first, so no consultation can be booked now."),
                            code="screening_referred")
    if screening is None and actor.id == patient.id:
        raise Unprocessable(_l("Please answer the health questions before choosing a time."),
                            code="screening_required")
    return screening.id if screening is not None else None


def place_hold(actor: User, *, patient: User, ctype: ConsultationType, doctor_id: int,
               start: datetime, patient_timezone: str | None = None,
               now: datetime | None = None) -> Booking:
    """Hold a slot for a patient while the deposit is paid (or a coordinator confirms)."""
    now = now or utcnow()
    if not patient.is_patient or not patient.active:
        raise DomainError(_l("Bookings are made for patient accounts."), code="not_a_patient")
    if actor.id != patient.id and (actor.is_patient
                                   or not can_manage_clinic(actor, ctype.clinic_id)):
        raise NotAllowed(_l("You may only book for yourself."))
    if not bookable_type(ctype):
        raise NotFound(_l("This consultation type is not offered."))
    doctor = db.session.get(Doctor, doctor_id)
    if doctor is None or doctor.clinic_id != ctype.clinic_id or not doctor.active:
        raise NotFound(_l("This doctor does not offer this consultation."))
    zone = patient_timezone or patient.timezone
    if not is_valid_zone(zone):
        raise DomainError(_l("Unknown time zone."), code="invalid_timezone")
    screening_id = _screening_for_hold(actor, patient)

    lock_schedule()
    lock_patient(patient)
    limit = current_app.config["MAX_ACTIVE_HOLDS"]
    holding = db.session.scalar(select(func.count(Booking.id)).where(
        Booking.patient_id == patient.id, Booking.state == HELD,
        Booking.hold_expires_at > now))
    if holding >= limit:
        raise HoldLimit(_l("%(name)s already holds %(count)s times waiting for a deposit. Pay "
                           "for or cancel one of them before holding another.",
                           name=patient.name, count=holding))
    if not is_bookable(ctype, doctor_id, start, now):
        raise SlotTaken(_l("That time is not available. Please choose another."))
    end = start + timedelta(minutes=ctype.duration_minutes)
    _check_patient_free(patient, start, end)
    # A patient holds while paying; a time the clinic holds for someone who phoned waits a
    # day, for them to set a password, answer the questions, consent and pay.
    hold = (timedelta(minutes=current_app.config["HOLD_MINUTES"]) if actor.id == patient.id
            else timedelta(hours=current_app.config["STAFF_HOLD_HOURS"]))
    booking = Booking(
        reference=_reference(), patient_id=patient.id, clinic_id=ctype.clinic_id,
        doctor_id=doctor_id, consultation_type_id=ctype.id, state=HELD,
        starts_at=start, ends_at=end,
        blocked_from=start - timedelta(minutes=ctype.buffer_before_minutes),
        blocked_until=start + timedelta(minutes=ctype.duration_minutes
                                        + ctype.buffer_after_minutes),
        hold_expires_at=now + hold, patient_timezone=zone,
        deposit_minor=ctype.deposit_minor, currency=ctype.currency, created_by_id=actor.id,
        screening_id=screening_id,
    )
    _insert_active(booking)
    return lifecycle.start(booking, actor, HELD)


def _attach_screening(booking: Booking) -> None:
    """A booking staff held before the patient answered takes the patient's passed screening."""
    if booking.screening_id is None:
        screening = latest_screening(booking.patient)
        if screening is not None and screening.outcome != REFER:
            booking.screening_id = screening.id


def give_consent(actor: User, booking: Booking, kinds: list[str]) -> list[BookingConsent]:
    """Record the patient's consents (current versions) for a held or confirmed booking."""
    require(actor, BookingAction.CONSENT, booking)
    lifecycle.lock(booking)
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
    _attach_screening(booking)
    db.session.flush()
    for consent in recorded:
        audit.record(actor, f"consent.{consent.kind}", booking,
                     after={"version": consent.version,
                            "accepted_at": consent.accepted_at.isoformat()})
    return recorded


def confirm_by_hand(actor: User, booking: Booking, *, note: str = "") -> Booking:
    """A coordinator confirms a held booking whose deposit arrived another way (bank transfer)."""
    require(actor, BookingAction.CONFIRM, booking)
    lifecycle.lock(booking)
    if booking.state == HELD:
        _attach_screening(booking)
        missing = missing_for_confirmation(booking)
        if missing:
            raise Unprocessable(
                _l("The patient has not finished: %(missing)s. They complete it from the link "
                   "in their email or on their booking page; confirm once it is done.",
                   missing=", ".join(str(MISSING_LABELS[m]) for m in missing)),
                code="confirmation_incomplete")
    return lifecycle.move(booking, CONFIRMED, actor, reason=note)


def set_video_link(actor: User, booking: Booking, url: str) -> Booking:
    """The clinic says where a video consultation takes place (a meeting link, https only);
    the patient is told if the booking is already confirmed."""
    require(actor, BookingAction.SET_VIDEO_LINK, booking)
    lifecycle.lock(booking)
    if booking.consultation_type.mode != "video":
        raise DomainError(_l("This consultation is in person: it has no video link."),
                          code="not_video")
    if booking.state not in (HELD, CONFIRMED):
        raise DomainError(_l("This booking is no longer active."), code="not_active")
    url = url.strip()
    try:
        parts = urlsplit(url)
        valid = (parts.scheme == "https" and _valid_host(parts.hostname) and len(url) <= 500
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
    require(actor, BookingAction.CANCEL, booking)
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise Unprocessable(_l("Please keep the reason under %(max)s characters (it has "
                               "%(count)s).", max=MAX_REASON, count=len(reason)),
                            code="reason_too_long")
    target = CANCELLED_BY_PATIENT if actor.is_patient else CANCELLED_BY_CLINIC
    return lifecycle.move(booking, target, actor, reason=reason)


def mark_outcome(actor: User, booking: Booking, outcome: str) -> Booking:
    """The clinic marks a confirmed consultation completed or a no-show."""
    require(actor, BookingAction.RECORD_OUTCOME, booking)
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
    require(actor, BookingAction.MOVE, booking)
    lifecycle.lock(booking)
    if not booking.movable:
        raise lifecycle.InvalidTransition(
            _l("Only a confirmed booking can be moved to another time."))
    ctype = booking.consultation_type
    doctor_id = doctor_id or booking.doctor_id
    doctor = db.session.get(Doctor, doctor_id)
    if doctor is None or doctor.clinic_id != booking.clinic_id or not doctor.active:
        raise NotFound(_l("This doctor does not offer this consultation."))
    if start == booking.starts_at and doctor_id == booking.doctor_id:
        raise Conflict(_l("The booking is already at that time."), code="unchanged")
    lock_schedule()
    if not is_bookable(ctype, doctor_id, start, now, ignore_booking_id=booking.id):
        raise SlotTaken(_l("That time is not available. Please choose another."))
    _check_patient_free(booking.patient, start,
                        start + timedelta(minutes=ctype.duration_minutes),
                        ignore_booking_id=booking.id)
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
        _raise_overlap(exc)
    return lifecycle.record_move(booking, actor, old_start)


def expire_holds(now: datetime | None = None) -> list[int]:
    """Free every hold whose time ran out (run by Celery beat every minute)."""
    now = now or utcnow()
    expired = db.session.scalars(
        select(Booking).where(Booking.state == HELD, Booking.hold_expires_at <= now)
        .with_for_update(skip_locked=True)
    ).all()
    freed = []
    for booking in expired:
        kept = any(answer for _, answer in lifecycle.hold_ending.send(booking, now=now))
        if not kept:
            lifecycle.move(booking, EXPIRED, None)
            freed.append(booking.id)
    return freed


def still_free(booking: Booking) -> bool:
    """Whether an ended booking's time could be given back to it: no active booking of the
    doctor overlaps it and the patient has nothing else then (under the schedule lock)."""
    lock_schedule()
    doctor_busy = select(Booking.id).where(
        Booking.doctor_id == booking.doctor_id, Booking.id != booking.id,
        Booking.state.in_(ACTIVE_STATES), Booking.blocked_from < booking.blocked_until,
        Booking.blocked_until > booking.blocked_from)
    patient_busy = select(Booking.id).where(
        Booking.patient_id == booking.patient_id, Booking.id != booking.id,
        Booking.state.in_(ACTIVE_STATES), Booking.starts_at < booking.ends_at,
        Booking.ends_at > booking.starts_at)
    return (db.session.scalar(doctor_busy.limit(1)) is None
            and db.session.scalar(patient_busy.limit(1)) is None)


# Working plans ------------------------------------------------------------------------------
