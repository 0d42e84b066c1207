"""The booking state machine: the only code that changes Booking.state.

Each move is checked against the table, recorded in the booking's history and the audit trail,
and announced to listeners (the notifications feature subscribes to `booking_changed`)."""

from __future__ import annotations

from datetime import datetime

from blinker import Namespace
from flask_babel import lazy_gettext as _l

from booking.accounts.models import User
from booking.core import audit
from booking.core.errors import Conflict
from booking.core.locks import sqlite_write_lock
from booking.extensions import db
from booking.scheduling.cache import mark_changed
from booking.scheduling.models import (
    CANCELLED_BY_CLINIC,
    CANCELLED_BY_PATIENT,
    COMPLETED,
    CONFIRMED,
    EXPIRED,
    HELD,
    NO_SHOW,
    Booking,
    BookingEvent,
)

#: from-state -> the states it may move to. A reschedule keeps `confirmed` (see `record_move`).
TRANSITIONS: dict[str | None, frozenset[str]] = {
    None: frozenset({HELD, CONFIRMED}),
    HELD: frozenset({CONFIRMED, EXPIRED, CANCELLED_BY_PATIENT, CANCELLED_BY_CLINIC}),
    CONFIRMED: frozenset({COMPLETED, NO_SHOW, CANCELLED_BY_PATIENT, CANCELLED_BY_CLINIC}),
    COMPLETED: frozenset(),
    NO_SHOW: frozenset(),
    EXPIRED: frozenset(),
    CANCELLED_BY_PATIENT: frozenset(),
    CANCELLED_BY_CLINIC: frozenset(),
}

signals = Namespace()
#: Sent inside the transaction with (booking, event); listeners add rows, never commit.
booking_changed = signals.signal("booking-changed")
#: The clinic set or changed where a video consultation takes place.
video_link_changed = signals.signal("video-link-changed")
#: Sent by the hold sweep before it frees a lapsed hold; a receiver that answers True keeps
#: it (the payments feature: the deposit was paid at Stripe, or Stripe could not be asked).
hold_ending = signals.signal("hold-ending")


class InvalidTransition(Conflict):
    code = "invalid_transition"


def _summary(booking: Booking) -> dict:
    return {"state": booking.state, "starts_at": booking.starts_at.isoformat(),
            "doctor_id": booking.doctor_id}


def start(booking: Booking, actor: User | None, state: str = HELD) -> Booking:
    """Record a new booking's first state."""
    return _apply(booking, actor, None, state, action="booking.created")


def lock(booking: Booking) -> Booking:
    """Re-read the booking under a row lock (FOR UPDATE on PostgreSQL; the database write lock
    on SQLite, as holds take it), so a state is checked against what is committed now and two
    concurrent requests never apply the same move twice: the second sees the first's result."""
    transaction = db.session().get_transaction()
    locked = db.session.info.get("locked_bookings")
    if locked is not None and locked[0] is transaction and booking.id in locked[1]:
        return booking  # already read under the lock in this transaction: keep its changes
    sqlite_write_lock()
    db.session.refresh(booking, with_for_update=True)
    if locked is None or locked[0] is not transaction:
        locked = (transaction, set())
        db.session.info["locked_bookings"] = locked
    locked[1].add(booking.id)
    return booking


#: What a refused move says when the booking is already where the request wanted it.
ALREADY = {
    CONFIRMED: _l("This booking is already confirmed."),
    CANCELLED_BY_PATIENT: _l("This booking is already cancelled."),
    CANCELLED_BY_CLINIC: _l("This booking is already cancelled."),
    EXPIRED: _l("This hold has already ended."),
    COMPLETED: _l("The outcome of this consultation is already recorded."),
    NO_SHOW: _l("The outcome of this consultation is already recorded."),
}
ENDED = {
    EXPIRED: _l("This hold has ended, so the booking cannot be changed. Choose a new time to "
                "book again."),
    CANCELLED_BY_PATIENT: _l("This booking was cancelled, so it cannot be changed. Choose a "
                             "new time to book again."),
    CANCELLED_BY_CLINIC: _l("This booking was cancelled by the clinic, so it cannot be changed. "
                            "Choose a new time to book again."),
    COMPLETED: _l("This consultation has taken place, so the booking cannot be changed."),
    NO_SHOW: _l("This consultation was missed, so the booking cannot be changed."),
    CONFIRMED: _l("This booking is confirmed: it can be moved or cancelled, not held again."),
    HELD: _l("This booking is still waiting for its deposit."),
}


def refusal(booking: Booking, to_state: str) -> InvalidTransition | None:
    """Why the booking cannot move to `to_state` now, in words for people (None if it can)."""
    if to_state in TRANSITIONS.get(booking.state, frozenset()):
        return None
    same = booking.state == to_state or (
        booking.state in (CANCELLED_BY_PATIENT, CANCELLED_BY_CLINIC)
        and to_state in (CANCELLED_BY_PATIENT, CANCELLED_BY_CLINIC)) or (
        booking.state in (COMPLETED, NO_SHOW) and to_state in (COMPLETED, NO_SHOW))
    return InvalidTransition(ALREADY[booking.state] if same else ENDED[booking.state],
                             code="already_done" if same else "invalid_transition")


def move(booking: Booking, to_state: str, actor: User | None, *, reason: str = "") -> Booking:
    """Move a booking to another state under its row lock, or raise InvalidTransition."""
    lock(booking)
    refused = refusal(booking, to_state)
    if refused is not None:
        raise refused
    if reason:
        booking.cancel_reason = reason
    return _apply(booking, actor, booking.state, to_state, action=f"booking.{to_state}")


def revive(booking: Booking, actor: User | None) -> Booking:
    """A deposit paid after the hold lapsed confirms the booking after all (the caller has
    checked that the time is still free). Only payments do this: `move` never leaves EXPIRED."""
    lock(booking)
    if booking.state != EXPIRED:
        raise InvalidTransition(ENDED[booking.state])
    return _apply(booking, actor, EXPIRED, CONFIRMED, action="booking.confirmed_late")


def record_move(booking: Booking, actor: User | None, old_start: datetime) -> Booking:
    """Record a reschedule (same state, new time) in the history and the audit trail."""
    if not booking.movable:
        raise InvalidTransition(_l("Only a confirmed booking can be moved to another time."))
    booking.ics_sequence += 1
    event = BookingEvent(booking=booking, actor_id=actor.id if actor else None,
                         from_state=booking.state, to_state=booking.state,
                         detail=f"{old_start.isoformat()} -> {booking.starts_at.isoformat()}")
    db.session.add(event)
    db.session.flush()
    mark_changed()
    audit.record(actor, "booking.rescheduled", booking,
                 before={"starts_at": old_start.isoformat()},
                 after={"starts_at": booking.starts_at.isoformat(),
                        "doctor_id": booking.doctor_id})
    booking_changed.send(booking, event=event, previous_start=old_start)
    return booking


def _apply(booking: Booking, actor: User | None, from_state: str | None, to_state: str,
           *, action: str) -> Booking:
    before = _summary(booking) if from_state else None
    if to_state in (CANCELLED_BY_PATIENT, CANCELLED_BY_CLINIC, EXPIRED):
        booking.ics_sequence += 1  # the calendar event is cancelled
    booking.state = to_state
    if to_state != HELD:
        booking.hold_expires_at = None
    event = BookingEvent(booking=booking, actor_id=actor.id if actor else None,
                         from_state=from_state, to_state=to_state)
    db.session.add(event)
    db.session.flush()
    mark_changed()
    audit.record(actor, action, booking, before=before, after=_summary(booking))
    booking_changed.send(booking, event=event)
    return booking
