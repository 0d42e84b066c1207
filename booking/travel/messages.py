"""Trip messages, registered with the outbox (about the trip): the pickup details 48 hours
before landing, "your itinerary changed" (with the calendar file), and the clinic's alert when
a flight changes close to landing. Connected to the trip's signals by `register` at start-up;
the visa letter's messages are in letter_messages.py."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from booking.accounts.models import User
from booking.core.types import utcnow
from booking.extensions import db
from booking.notifications import services as outbox
from booking.notifications.models import PENDING, SENDING, SENT, OutboxMessage
from booking.notifications.registry import (
    Attachment,
    MessageKind,
    SubjectType,
    register_kind,
    register_subject,
)
from booking.scheduling import lifecycle
from booking.scheduling.messages import coordinators
from booking.scheduling.models import CANCELLED_BY_CLINIC, CANCELLED_BY_PATIENT, EXPIRED, Booking
from booking.travel import services
from booking.travel.models import ARRIVAL, PickupStatus, Trip

#: Pickup notices: void when the flight or the pickup changes (a new one is queued).
PICKUP = "pickup"
#: "Your itinerary changed": several changes in a few minutes make one email.
ITINERARY = "itinerary"
ITINERARY_SETTLE = timedelta(minutes=5)
#: Booking moves that take an appointment out of the itinerary.
ENDING = (CANCELLED_BY_PATIENT, CANCELLED_BY_CLINIC, EXPIRED)


def load_trips(trip_ids: Iterable[int]) -> dict[int, Trip]:
    ids = set(trip_ids)
    if not ids:
        return {}
    found = db.session.scalars(select(Trip).where(Trip.id.in_(ids)).options(
        joinedload(Trip.patient), joinedload(Trip.clinic), joinedload(Trip.partner_hotel),
        selectinload(Trip.flights), selectinload(Trip.companions),
        # What the itinerary names for each consultation, loaded with the bookings.
        selectinload(Trip.bookings).options(
            joinedload(Booking.doctor), joinedload(Booking.consultation_type),
            joinedload(Booking.clinic)))).unique()
    return {trip.id: trip for trip in found}


def trip_link(trip: Trip) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + f"/trips/{trip.id}"


def _context(message: OutboxMessage, trip: Trip, preview: bool) -> dict:
    from booking.travel.itinerary import itinerary

    return {"trip": trip, "link": trip_link(trip), "arrival": trip.arrival,
            "departure": trip.departure, "events": itinerary(trip),
            "desk_link": current_app.config["BASE_URL"].rstrip("/") + "/clinic/travel",
            "previous": (datetime.fromisoformat(message.payload["previous"])
                         if message.payload.get("previous") else None)}


def _calendar(message: OutboxMessage, trip: Trip) -> list[Attachment]:
    from booking.travel.itinerary import itinerary_calendar

    return [(f"spinebridge-trip-{trip.id}.ics", itinerary_calendar(trip), "text/calendar")]


def _pickup_still_wanted(message: OutboxMessage, trip: Trip) -> bool:
    return (trip.is_open and trip.pickup_status != PickupStatus.NOT_WANTED
            and message.payload.get("key") == _pickup_key(trip))


def _staff_still_there(message: OutboxMessage, trip: Trip) -> bool:
    staff = message.recipient
    return staff.receives_clinic_alerts and staff.clinic_id == trip.clinic_id


def register() -> None:
    register_subject(SubjectType(name="trip", model=Trip, load=load_trips,
                                 version=Trip.updated_at))
    register_kind(MessageKind(
        name="trip_pickup_details", subject=_l("Your airport pickup in Bangkok"),
        template="trip_pickup_details", about="trip", context=_context,
        still_wanted=_pickup_still_wanted, tags=frozenset({PICKUP})))
    register_kind(MessageKind(
        name="trip_itinerary_changed", subject=_l("Your Bangkok itinerary has changed"),
        template="trip_itinerary_changed", about="trip", context=_context,
        still_wanted=lambda message, trip: trip.is_open, attachments=_calendar,
        tags=frozenset({ITINERARY})))
    register_kind(MessageKind(
        name="clinic_flight_changed", subject=_l("A flight changed close to landing"),
        template="clinic_flight_changed", about="trip", context=_context,
        still_wanted=_staff_still_there, to_staff=True))
    services.flight_changed.connect(on_flight_changed)
    services.itinerary_changed.connect(on_itinerary_changed)
    lifecycle.booking_changed.connect(on_booking_changed)


# Queueing ----------------------------------------------------------------------------------

def _pickup_key(trip: Trip) -> str:
    """What a pickup notice was written for: a new flight or new driver makes it stale."""
    arrival = trip.arrival
    return "|".join([arrival.scheduled_at.isoformat() if arrival else "", trip.pickup_status,
                     trip.pickup_driver, trip.pickup_vehicle_plate])


def schedule_pickup_notice(trip: Trip, now: datetime | None = None) -> OutboxMessage | None:
    """The pickup details go 48 hours before landing (at once when later than that); a notice
    for an older flight or driver is cancelled, one already sent for this plan is not sent
    twice."""
    now = now or utcnow()
    arrival = trip.arrival
    key = _pickup_key(trip)
    for message in outbox.messages_about(trip):
        if (message.kind == "trip_pickup_details" and message.payload.get("key") == key
                and message.status in (PENDING, SENDING, SENT)):
            return None
    outbox.cancel_unsent(trip, PICKUP)
    if (not trip.is_open or arrival is None or arrival.scheduled_at <= now
            or trip.pickup_status == PickupStatus.NOT_WANTED):
        return None
    notice = timedelta(hours=current_app.config["PICKUP_NOTICE_HOURS"])
    due = max(now, arrival.scheduled_at - notice)
    return outbox.queue("trip_pickup_details", trip.patient, about=trip, due_at=due,
                        payload={"key": key})


def tell_patient_itinerary_changed(trip: Trip, now: datetime | None = None) -> None:
    """One email for a burst of changes: the pending one is replaced by a later one."""
    now = now or utcnow()
    outbox.cancel_unsent(trip, ITINERARY)
    outbox.queue("trip_itinerary_changed", trip.patient, about=trip,
                 due_at=now + ITINERARY_SETTLE)


def on_flight_changed(trip: Trip, flight, previous: datetime | None,  # type: ignore[no-untyped-def]
                      actor: User | None) -> None:
    now = utcnow()
    schedule_pickup_notice(trip, now)
    tell_patient_itinerary_changed(trip, now)
    if flight is not None and flight.direction != ARRIVAL:
        return
    if flight is None and previous is not None and trip.arrival is not None:
        return  # the departure was removed
    window = timedelta(hours=current_app.config["FLIGHT_CHANGE_ALERT_HOURS"])
    landing = [t for t in (previous, flight.scheduled_at if flight else None) if t is not None]
    if any(now <= t <= now + window for t in landing):
        for coordinator in coordinators(trip.clinic_id):
            outbox.queue("clinic_flight_changed", coordinator, about=trip,
                         payload={"previous": previous.isoformat() if previous else None})


def on_itinerary_changed(trip: Trip, actor: User | None, what: str) -> None:
    now = utcnow()
    schedule_pickup_notice(trip, now)
    if what in ("hotel", "pickup_confirmed", "hotel_status", "closed"):
        tell_patient_itinerary_changed(trip, now)


def on_booking_changed(booking: Booking, event,  # type: ignore[no-untyped-def]
                       previous_start: datetime | None = None) -> None:
    """A booking in a trip moved or ended: the itinerary (and its calendar file) changes."""
    if event.from_state is None or (event.from_state != event.to_state
                                    and event.to_state not in ENDING):
        return
    trip = services.trip_of_booking(booking)
    if trip is None or not trip.is_open:
        return
    # Raised in SQL: a clinic change under the trip's lock may be raising it at the same time.
    trip.ics_sequence = Trip.ics_sequence + 1
    db.session.flush()
    db.session.expire(trip, ["bookings", "ics_sequence"])
    tell_patient_itinerary_changed(trip)
