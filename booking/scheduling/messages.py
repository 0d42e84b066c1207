"""Booking messages: what the patient and the clinic are sent when a booking changes, each
registered with the outbox engine (subject line, template, context, "still wanted at send
time?", the calendar file). Connected to the booking state machine by `register` at start-up.

Adding a booking email: a `_kind(...)` line here, a branch in `on_booking_changed` that queues
it, and templates/emails/<template>.{txt,html}."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from booking.accounts.models import User
from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE, days_in_utc
from booking.extensions import db
from booking.notifications import services as outbox
from booking.notifications.models import OutboxMessage
from booking.notifications.registry import (
    Attachment,
    MessageKind,
    SubjectType,
    register_kind,
    register_subject,
)
from booking.scheduling import lifecycle, links
from booking.scheduling.calendar import booking_calendar
from booking.scheduling.models import (
    CANCELLED_BY_CLINIC,
    CANCELLED_BY_PATIENT,
    COMPLETED,
    CONFIRMED,
    EXPIRED,
    HELD,
    NO_SHOW,
    Booking,
)

#: Reminders before a consultation; one whose moment has passed at booking is not sent.
REMINDERS = (timedelta(days=7), timedelta(hours=48), timedelta(hours=24), timedelta(hours=2))

#: Kinds made void when the booking moves or ends (cancelled unsent by `_cancel_timed`).
TIMED = "timed"


# What the engine needs ---------------------------------------------------------------------------

def load_bookings(booking_ids: Iterable[int]) -> dict[int, Booking]:
    """The bookings with everything an email about them shows, in two queries for a batch."""
    ids = set(booking_ids)
    if not ids:
        return {}
    found = db.session.scalars(select(Booking).where(Booking.id.in_(ids)).options(
        joinedload(Booking.patient), joinedload(Booking.clinic), joinedload(Booking.doctor),
        joinedload(Booking.consultation_type), selectinload(Booking.events),
    )).unique()
    return {booking.id: booking for booking in found}


def booking_link(booking: Booking) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + f"/bookings/{booking.id}"


def _booking_context(message: OutboxMessage, booking: Booking, preview: bool) -> dict:
    context: dict = {"booking": booking, "ref": booking.reference, "link": booking_link(booking)}
    if message.recipient_id == booking.patient_id and booking.is_active:
        context["manage"] = links.manage_url(booking)  # works without signing in
    if message.payload.get("previous_start"):
        context["previous_start"] = datetime.fromisoformat(message.payload["previous_start"])
    return context


def _calendar(message: OutboxMessage, booking: Booking) -> list[Attachment]:
    return [(f"spinebridge-{booking.reference}.ics", booking_calendar(booking), "text/calendar")]


def _for_the_time_it_was_made(message: OutboxMessage, booking: Booking) -> bool:
    """A reminder (or video link) goes only for a confirmed booking, at the time it was
    queued for."""
    made_for = message.payload.get("starts_at")
    return booking.state == CONFIRMED and (
        made_for is None or datetime.fromisoformat(made_for) == booking.starts_at)


def _staff_still_at_the_clinic(message: OutboxMessage, booking: Booking) -> bool:
    """A message to a coordinator who has since left the clinic, been suspended or has not
    accepted their invitation (User.receives_clinic_alerts) is not sent."""
    staff = message.recipient
    return staff.receives_clinic_alerts and staff.clinic_id == booking.clinic_id


def _staff_wants_booking_news(message: OutboxMessage, booking: Booking) -> bool:
    """News of what a patient did, to coordinators who still want it (their profile)."""
    return _staff_still_at_the_clinic(message, booking) and message.recipient.booking_alerts


def _hold_still_open(message: OutboxMessage, booking: Booking) -> bool:
    return _staff_wants_booking_news(message, booking) and booking.state == HELD


def _kind(name: str, subject: object, template: str, *,  # type: ignore[no-untyped-def]
          calendar: bool = False, to_staff: bool = False, still_wanted=None,
          timed: bool = False) -> None:
    register_kind(MessageKind(
        name=name, subject=subject, template=template, about="booking",
        context=_booking_context,
        still_wanted=still_wanted or (lambda message, booking: True),
        attachments=_calendar if calendar else (lambda message, booking: []),
        to_staff=to_staff, tags=frozenset({TIMED}) if timed else frozenset()))


def _register_kinds() -> None:
    register_subject(SubjectType(name="booking", model=Booking, load=load_bookings,
                                 version=Booking.updated_at, on_failure=_tell_clinic_it_failed))
    # To the patient.
    _kind("hold_placed", _l("Your time is held: %(ref)s"), "booking_held")
    _kind("booking_confirmed", _l("Booking confirmed: %(ref)s"), "booking_confirmed",
          calendar=True)
    _kind("booking_rescheduled", _l("New time for booking %(ref)s"), "booking_rescheduled",
          calendar=True)
    _kind("booking_cancelled", _l("Booking cancelled: %(ref)s"), "booking_cancelled",
          calendar=True)
    _kind("hold_expired", _l("Your hold has ended: %(ref)s"), "hold_expired")
    _kind("reminder", _l("Reminder: your consultation %(ref)s"), "booking_reminder",
          calendar=True, timed=True, still_wanted=_for_the_time_it_was_made)
    _kind("video_link", _l("Video link for your consultation %(ref)s"), "video_link",
          calendar=True, timed=True, still_wanted=_for_the_time_it_was_made)
    # To the clinic's coordinators.
    _kind("message_failed", _l("A message about %(ref)s could not be sent"), "message_failed",
          to_staff=True, still_wanted=_staff_still_at_the_clinic)
    _kind("clinic_new_hold", _l("New hold %(ref)s: confirm it when the deposit arrives"),
          "clinic_booking_change", to_staff=True, still_wanted=_hold_still_open)
    _kind("clinic_patient_moved", _l("A patient moved booking %(ref)s"),
          "clinic_booking_change", to_staff=True, still_wanted=_staff_wants_booking_news)
    _kind("clinic_patient_cancelled", _l("A patient cancelled booking %(ref)s"),
          "clinic_booking_change", to_staff=True, still_wanted=_staff_wants_booking_news)
    register_kind(MessageKind(
        name="daily_digest", subject=_l("Tomorrow at your clinic"), template="daily_digest",
        about=None, context=lambda message, _none, preview: digest_context(message),
        still_wanted=lambda message, _none: message.recipient.receives_clinic_alerts,
        to_staff=True))


# Queueing ----------------------------------------------------------------------------------------

def queue(kind: str, booking: Booking, due_at: datetime | None = None, *,
          recipient: User | None = None, payload: dict | None = None) -> OutboxMessage:
    """Add a message about a booking (to its patient unless told) to the current transaction."""
    return outbox.queue(kind, recipient or booking.patient, about=booking, due_at=due_at,
                        payload=payload)


def _schedule_reminders(booking: Booking, now: datetime) -> None:
    for before in REMINDERS:
        due = booking.starts_at - before
        if due > now:  # a reminder whose moment has passed is not sent at all
            queue("reminder", booking, due, payload={"starts_at": booking.starts_at.isoformat()})


def _cancel_timed(booking: Booking) -> None:
    """Reminders and video link emails not sent yet are void (after a move, the "new time"
    email carries the link again)."""
    outbox.cancel_unsent(booking, TIMED)


def coordinators(clinic_id: int) -> list[User]:
    """Who receives the clinic's alerts (patient names inside): User.receives_clinic_alerts,
    so an invited coordinator who has not accepted yet is left out."""
    return list(db.session.scalars(select(User).where(
        User.receives_clinic_alerts, User.clinic_id == clinic_id)))


def tell_clinic(kind: str, booking: Booking, payload: dict | None = None) -> None:
    """Queue a message to each coordinator of the booking's clinic; news of a patient's own
    hold, move or cancellation only to those who asked for it (their profile)."""
    for coordinator in coordinators(booking.clinic_id):
        if kind == "message_failed" or coordinator.booking_alerts:
            queue(kind, booking, recipient=coordinator, payload=payload)


def _tell_clinic_it_failed(message: OutboxMessage, booking: Booking) -> None:
    """A message to the patient failed for good: the clinic's coordinators are told."""
    tell_clinic("message_failed", booking,
                {"failed_kind": message.kind, "error": message.last_error[:300]})


def on_booking_changed(booking: Booking, event,  # type: ignore[no-untyped-def]
                       previous_start: datetime | None = None) -> None:
    """The booking state machine announced a change: queue what the patient should receive,
    and tell the clinic what the patient did themselves."""
    now = utcnow()
    by_patient = event.actor_id is not None and event.actor_id == booking.patient_id
    if event.from_state is None and event.to_state == HELD:
        queue("hold_placed", booking)
        if by_patient:
            tell_clinic("clinic_new_hold", booking)
    elif event.from_state == event.to_state:  # moved to another time
        _cancel_timed(booking)
        queue("booking_rescheduled", booking)
        _schedule_reminders(booking, now)
        if by_patient:
            tell_clinic("clinic_patient_moved", booking,
                        {"previous_start": previous_start.isoformat()} if previous_start else {})
    elif event.to_state == CONFIRMED:
        queue("booking_confirmed", booking)
        _schedule_reminders(booking, now)
    elif event.to_state in (CANCELLED_BY_PATIENT, CANCELLED_BY_CLINIC):
        _cancel_timed(booking)
        queue("booking_cancelled", booking)
        if by_patient:
            tell_clinic("clinic_patient_cancelled", booking)
    elif event.to_state == EXPIRED:
        queue("hold_expired", booking)
    elif event.to_state in (COMPLETED, NO_SHOW):
        _cancel_timed(booking)


def on_video_link_changed(booking: Booking, first: bool) -> None:  # type: ignore[no-untyped-def]
    """The clinic set where a video consultation takes place: tell a confirmed patient now (a
    held one reads it in the confirmation; every reminder carries it)."""
    if booking.state == CONFIRMED:
        queue("video_link", booking, payload={"changed": not first})


# The coordinators' daily digest ------------------------------------------------------------------

def queue_daily_digests(now: datetime | None = None) -> int:
    """Queue, once a day, each coordinator's list of tomorrow's consultations (Bangkok days)."""
    now = now or utcnow()
    tomorrow = (now.astimezone(CLINIC_ZONE) + timedelta(days=1)).date().isoformat()
    recent = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "daily_digest", OutboxMessage.due_at >= now - timedelta(days=2)))
    already = {m.recipient_id for m in recent if m.payload.get("day") == tomorrow}
    count = 0
    for coordinator in db.session.scalars(select(User).where(User.receives_clinic_alerts)):
        if coordinator.id not in already:
            outbox.queue("daily_digest", coordinator, due_at=now, payload={"day": tomorrow})
            count += 1
    return count


def digest_context(message: OutboxMessage) -> dict:
    """Tomorrow's active bookings at the coordinator's clinic, in Bangkok time."""
    day = date.fromisoformat(message.payload["day"])
    start, end = days_in_utc(day)
    bookings = db.session.scalars(select(Booking).where(
        Booking.clinic_id == message.recipient.clinic_id,
        Booking.state.in_((HELD, CONFIRMED)),
        Booking.starts_at >= start, Booking.starts_at < end,
    ).order_by(Booking.starts_at)).all()
    base = current_app.config["BASE_URL"].rstrip("/")
    return {"day": day, "bookings": bookings, "link": f"{base}/coordinator/day?date={day}"}


def register() -> None:
    """Register the booking messages with the outbox and connect them to the state machine
    (called once by the app factory; connecting twice is harmless)."""
    _register_kinds()
    lifecycle.booking_changed.connect(on_booking_changed)
    lifecycle.video_link_changed.connect(on_video_link_changed)
