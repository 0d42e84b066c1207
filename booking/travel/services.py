"""The patient's trip: who may see and change it, flights, hotel, airport pickup and needs.
Passports and companions are in people.py, the warnings in risks.py. Services flush, never
commit.

Changes are announced on `flight_changed` and `itinerary_changed` (inside the transaction);
the travel messages subscribe to them, as the booking messages do to `booking_changed`."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from babel import Locale
from blinker import Namespace
from flask_babel import format_datetime
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from booking.accounts.models import User
from booking.catalogue.models import Treatment
from booking.core import audit
from booking.core.errors import Conflict, FieldInvalid, NotAllowed, NotFound
from booking.core.locks import sqlite_write_lock
from booking.core.policy import can_manage_clinic
from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.scheduling.models import ACTIVE_STATES, Booking
from booking.scheduling.services import lock_patient
from booking.travel.models import (
    AIRPORTS,
    ARRIVAL,
    DEPARTURE,
    DIRECTIONS,
    VEHICLES,
    Flight,
    HotelChoice,
    HotelStatus,
    PartnerHotel,
    PickupStatus,
    Trip,
    TripBooking,
    TripStatus,
)

signals = Namespace()
#: (trip, flight=, previous=the old scheduled instant or None, actor=): sent inside the
#: transaction whenever a flight is added, changed or removed.
flight_changed = signals.signal("flight-changed")
#: (trip, actor=, what=): anything the itinerary shows changed (not flights: see above).
itinerary_changed = signals.signal("itinerary-changed")

#: Bookings a trip is planned around (the others are history).
TRIP_STATES = ACTIVE_STATES
MAX_TEXT = 1000
MAX_NAME = 200
#: An IATA airline designator (two letters or digits, not two digits) and 1-4 digits with an
#: optional operational suffix: "TG917", "tg 917", "EK-384", "9W 12", "FD3101A".
FLIGHT_RE = re.compile(r"^\s*([A-Z0-9]{2})\s*-?\s*(\d{1,4}[A-Z]?)\s*$")
#: How far ahead a flight may be entered.
FLIGHT_HORIZON = timedelta(days=550)


# Who may see and change a trip -------------------------------------------------------------

def can_see_trip(actor: User, trip: Trip) -> bool:
    """The patient their own trip; the clinic's coordinators and admins theirs."""
    if actor.is_patient:
        return trip.patient_id == actor.id
    return can_manage_clinic(actor, trip.clinic_id)


def can_edit_trip(actor: User, trip: Trip) -> bool:
    """The patient and the clinic's coordinators fill it in (people phone in their flights);
    admins look."""
    return (actor.is_patient and trip.patient_id == actor.id) or (
        actor.is_coordinator and actor.clinic_id == trip.clinic_id)


def get_trip(actor: User, trip_id: int) -> Trip:
    """A trip the actor may see; any other does not exist for them (404)."""
    trip = db.session.get(Trip, trip_id)
    if trip is None or not can_see_trip(actor, trip):
        raise NotFound(_l("No such trip."))
    return trip


def lock_trip(trip: Trip) -> Trip:
    """Re-read the trip under a row lock so two concurrent changes apply one after the other
    (each sees the other's result)."""
    sqlite_write_lock()
    db.session.refresh(trip, with_for_update=True)
    return trip


def _editable(actor: User, trip: Trip) -> Trip:
    if not can_see_trip(actor, trip):
        raise NotFound(_l("No such trip."))
    if not can_edit_trip(actor, trip):
        raise NotAllowed(_l("Only the patient and the clinic's coordinators can change a trip."))
    lock_trip(trip)
    if not trip.is_open:
        raise Conflict(_l("This trip is closed, so it cannot be changed. Start a new trip from "
                          "your next booking."), code="trip_closed")
    return trip


def open_trip_of(patient: User) -> Trip | None:
    return db.session.scalar(select(Trip).where(Trip.patient_id == patient.id,
                                                Trip.status == TripStatus.OPEN))


def trip_of_booking(booking: Booking) -> Trip | None:
    return db.session.scalar(select(Trip).join(TripBooking, TripBooking.trip_id == Trip.id)
                             .where(TripBooking.booking_id == booking.id))


def active_bookings(trip: Trip) -> list[Booking]:
    """The trip's bookings that still take place, soonest first."""
    return [b for b in trip.bookings if b.state in TRIP_STATES]


def plan_trip(actor: User, booking: Booking) -> Trip:
    """The patient's trip for this booking (see plan_trip_for)."""
    return plan_trip_for(actor, booking)[0]


def plan_trip_for(actor: User, booking: Booking) -> tuple[Trip, bool]:
    """The patient's trip for this booking: the one it is in, else their open trip (at the same
    clinic) takes it, else a new trip starts with it; and whether it was started now."""
    if not actor.is_patient or booking.patient_id != actor.id:
        raise NotFound(_l("No such booking."))
    # One request at a time per patient: two tabs planning at once make one trip, not an
    # error from the one-open-trip index.
    lock_patient(actor)
    existing = trip_of_booking(booking)
    if existing is not None:
        return existing, False
    if booking.state not in TRIP_STATES:
        raise Conflict(_l("This booking is no longer going ahead, so there is no trip to plan "
                          "for it. Book a new time first."), code="booking_ended")
    trip = open_trip_of(actor)
    if trip is not None and trip.clinic_id != booking.clinic_id:
        raise Conflict(_l("Your open trip is with %(clinic)s. Close it first (from its page) "
                          "to plan a trip with another clinic.", clinic=trip.clinic.name),
                       code="trip_other_clinic")
    created = trip is None
    if created:
        trip = Trip(patient_id=actor.id, clinic_id=booking.clinic_id)
        db.session.add(trip)
        db.session.flush()
    db.session.add(TripBooking(trip_id=trip.id, booking_id=booking.id))
    if not created:  # the calendar file gains an event (raised in SQL, as by other writers)
        trip.ics_sequence = Trip.ics_sequence + 1
    db.session.flush()
    db.session.expire(trip, ["bookings", "ics_sequence"])
    audit.record(actor, "trip.created" if created else "trip.booking_added", trip,
                 after={"booking": booking.reference})
    return trip, created


def visible_trips(actor: User) -> list[Trip]:
    """A patient's own trips; a coordinator's clinic's open trips; every trip for admins;
    newest first, with what a list shows loaded."""
    query = select(Trip).options(selectinload(Trip.flights), selectinload(Trip.clinic),
                                 selectinload(Trip.patient)).order_by(Trip.id.desc())
    if actor.is_patient:
        query = query.where(Trip.patient_id == actor.id)
    elif actor.is_coordinator:
        query = query.where(Trip.clinic_id == actor.clinic_id, Trip.status == TripStatus.OPEN)
    elif not actor.is_admin:
        return []
    return list(db.session.scalars(query))


def close_trip(actor: User, trip: Trip) -> Trip:
    """The patient ends the trip (a next visit will be a new one); kept for the record."""
    _editable(actor, trip)
    trip.status = TripStatus.CLOSED
    trip.ics_sequence += 1
    db.session.flush()
    audit.record(actor, "trip.closed", trip, before={"status": "open"},
                 after={"status": "closed"})
    itinerary_changed.send(trip, actor=actor, what="closed")
    return trip


# Flights -----------------------------------------------------------------------------------

def parse_flight_code(text: str | None) -> tuple[str, str]:
    """"tg 917" -> ("TG", "917"); a 422 on the flight field when it is not a flight number."""
    match = FLIGHT_RE.match((text or "")[:20].upper())
    if not match or match.group(1).isdigit():
        raise FieldInvalid("flight", _l("Write the flight number as it is on your ticket: the "
                                        "airline's two-character code and the number, e.g. "
                                        "TG 917 or EK 384."), code="invalid_flight")
    return match.group(1), match.group(2)


def bangkok_instant(day: date | None, at: time | None, field: str) -> datetime:
    """A date and time as read in Bangkok, as a UTC instant (Bangkok has no DST)."""
    if day is None or at is None:
        raise FieldInvalid(field, _l("Give the date and the time, in Bangkok time."),
                           code="missing_time")
    return datetime.combine(day, at, tzinfo=CLINIC_ZONE).astimezone(UTC)


def save_flight(actor: User, trip: Trip, direction: str, *, code: str, airport: str,
                scheduled_at: datetime, now: datetime | None = None) -> Flight:
    """Add or change the arrival or departure flight (landing / take-off in Bangkok time)."""
    now = now or utcnow()
    if direction not in DIRECTIONS:
        raise NotFound(_l("No such flight."))
    airline, number = parse_flight_code(code)
    if airport not in AIRPORTS:
        raise FieldInvalid("airport", _l("Choose Suvarnabhumi (BKK) or Don Mueang (DMK)."),
                           code="invalid_airport")
    if scheduled_at.tzinfo is None:
        raise FieldInvalid("date", _l("Give the time in Bangkok time."), code="missing_time")
    if scheduled_at <= now:
        raise FieldInvalid("date", _l("This date and time have already passed. Give the "
                                      "flight's scheduled time, in Bangkok time."),
                           code="flight_in_past")
    if scheduled_at > now + FLIGHT_HORIZON:
        raise FieldInvalid("date", _l("This is more than 18 months ahead. Check the year."),
                           code="flight_too_far")
    _editable(actor, trip)
    other = trip.flight(DEPARTURE if direction == ARRIVAL else ARRIVAL)
    if other is not None:
        arrival_at = scheduled_at if direction == ARRIVAL else other.scheduled_at
        departure_at = other.scheduled_at if direction == ARRIVAL else scheduled_at
        if departure_at <= arrival_at:
            raise FieldInvalid("date", _l(
                "Your flight home leaves before your flight to Bangkok lands (%(landing)s). "
                "Check both dates.", landing=format_datetime(
                    arrival_at.astimezone(CLINIC_ZONE), "medium", rebase=False)),
                code="departure_before_arrival")
    flight = trip.flight(direction)
    previous = flight.scheduled_at if flight else None
    before = _flight_summary(flight) if flight else None
    if flight is None:
        flight = Flight(trip=trip, direction=direction, airline=airline, number=number,
                        airport=airport, scheduled_at=scheduled_at)
        db.session.add(flight)
    else:
        flight.airline, flight.number = airline, number
        flight.airport, flight.scheduled_at = airport, scheduled_at
    after = _flight_summary(flight)
    if before == after:
        return flight
    if direction == ARRIVAL and trip.pickup_status == PickupStatus.CONFIRMED:
        trip.pickup_status = PickupStatus.RECONFIRM  # the driver waits for the old flight
    trip.ics_sequence += 1
    db.session.flush()
    audit.record(actor, f"trip.{direction}_flight_saved", trip, before=before, after=after)
    flight_changed.send(trip, flight=flight, previous=previous, actor=actor)
    return flight


def remove_flight(actor: User, trip: Trip, direction: str) -> None:
    _editable(actor, trip)
    flight = trip.flight(direction)
    if flight is None:
        raise NotFound(_l("No such flight."))
    before = _flight_summary(flight)
    previous = flight.scheduled_at
    trip.flights.remove(flight)
    if direction == ARRIVAL and trip.pickup_status == PickupStatus.CONFIRMED:
        trip.pickup_status = PickupStatus.RECONFIRM
    trip.ics_sequence += 1
    db.session.flush()
    audit.record(actor, f"trip.{direction}_flight_removed", trip, before=before)
    flight_changed.send(trip, flight=None, previous=previous, actor=actor)


def _flight_summary(flight: Flight) -> dict:
    return {"flight": flight.code, "airport": flight.airport,
            "scheduled_at": flight.scheduled_at.isoformat()}


# Hotel, pickup, needs ----------------------------------------------------------------------

def partner_hotels(clinic_id: int) -> list[PartnerHotel]:
    return list(db.session.scalars(select(PartnerHotel).where(
        PartnerHotel.clinic_id == clinic_id, PartnerHotel.active)
        .order_by(PartnerHotel.nightly_min_minor, PartnerHotel.name)))


def save_hotel(actor: User, trip: Trip, *, choice: str, partner_hotel_id: int | None = None,
               own_name: str | None = None, own_address: str | None = None) -> Trip:
    """Where the patient sleeps: one of the clinic's partner hotels (the clinic books it), or
    their own (with its address, for the driver)."""
    own_name = " ".join((own_name or "")[:MAX_NAME + 1].split())
    own_address = (own_address or "")[:MAX_TEXT + 1].strip()
    if choice not in tuple(HotelChoice):
        raise FieldInvalid("hotel_choice", _l("Choose a partner hotel or your own."),
                           code="invalid_hotel")
    hotel = None
    if choice == HotelChoice.PARTNER:
        hotel = db.session.get(PartnerHotel, partner_hotel_id) if partner_hotel_id else None
        if hotel is None or hotel.clinic_id != trip.clinic_id or not hotel.active:
            raise FieldInvalid("partner_hotel", _l("Choose one of the clinic's partner hotels."),
                               code="invalid_hotel")
    if choice == HotelChoice.OWN:
        if not own_name:
            raise FieldInvalid("own_hotel_name", _l("Give the hotel's name."),
                               code="missing_hotel")
        if len(own_name) > MAX_NAME:
            raise FieldInvalid("own_hotel_name", _l("A name may have up to 200 characters."),
                               code="name_too_long")
        if not own_address:
            raise FieldInvalid("own_hotel_address", _l("Give the hotel's address, so the driver "
                                                       "can find it."), code="missing_address")
        if len(own_address) > MAX_TEXT:
            raise FieldInvalid("own_hotel_address", _l("An address may have up to 1,000 "
                                                       "characters."), code="text_too_long")
    _editable(actor, trip)
    before = _hotel_summary(trip)
    trip.hotel_choice = choice
    trip.partner_hotel_id = hotel.id if hotel else None
    trip.own_hotel_name = own_name if choice == HotelChoice.OWN else ""
    trip.own_hotel_address = own_address if choice == HotelChoice.OWN else ""
    if before != _hotel_summary(trip):
        trip.hotel_status = HotelStatus.PENDING
        trip.ics_sequence += 1
        db.session.flush()
        audit.record(actor, "trip.hotel_saved", trip, before=before, after=_hotel_summary(trip))
        itinerary_changed.send(trip, actor=actor, what="hotel")
    return trip


def _hotel_summary(trip: Trip) -> dict:
    return {"choice": trip.hotel_choice, "partner_hotel": trip.partner_hotel_id,
            "own_hotel": trip.own_hotel_name, "address": trip.own_hotel_address}


def save_pickup(actor: User, trip: Trip, *, wanted: bool, vehicle: str | None = None,
                wheelchair: bool = False, luggage: int | None = None) -> Trip:
    """Airport pickup: wanted or not, the vehicle, a wheelchair, how many bags. A change to a
    confirmed pickup asks the clinic to confirm again."""
    vehicle = vehicle or "sedan"
    if vehicle not in VEHICLES:
        raise FieldInvalid("vehicle", _l("Choose a car, a van or a minibus."),
                           code="invalid_vehicle")
    if luggage is None or not 0 <= luggage <= 20:
        raise FieldInvalid("luggage", _l("Give the number of suitcases, from 0 to 20."),
                           code="invalid_luggage")
    _editable(actor, trip)
    before = _pickup_summary(trip)
    trip.pickup_vehicle, trip.pickup_wheelchair, trip.pickup_luggage = vehicle, wheelchair, luggage
    if not wanted:
        trip.pickup_status = PickupStatus.NOT_WANTED
    elif trip.pickup_status == PickupStatus.NOT_WANTED:
        trip.pickup_status = PickupStatus.REQUESTED
    elif trip.pickup_status == PickupStatus.CONFIRMED and before != _pickup_summary(trip):
        trip.pickup_status = PickupStatus.RECONFIRM
    if before != _pickup_summary(trip):
        trip.ics_sequence += 1
        db.session.flush()
        audit.record(actor, "trip.pickup_saved", trip, before=before,
                     after=_pickup_summary(trip))
        itinerary_changed.send(trip, actor=actor, what="pickup")
    return trip


def _pickup_summary(trip: Trip) -> dict:
    return {"pickup": trip.pickup_status, "vehicle": trip.pickup_vehicle,
            "wheelchair": trip.pickup_wheelchair, "luggage": trip.pickup_luggage}


def interpreter_languages(locale: str = "en") -> dict[str, str]:
    """Languages an interpreter may be asked for: code -> name in `locale`."""
    names = Locale.parse(locale).languages
    codes = ("ar", "bn", "de", "en", "es", "fa", "fr", "he", "hi", "id", "it", "ja", "km",
             "ko", "lo", "ms", "my", "ne", "nl", "pl", "pt", "ru", "sv", "tl", "tr", "uk", "ur",
             "vi", "zh")
    return dict(sorted(((c, names.get(c, c)) for c in codes), key=lambda p: p[1]))


def save_needs(actor: User, trip: Trip, *, interpreter_language: str | None,
               mobility_needs: str | None, dietary_needs: str | None,
               treatment_id: int | None = None) -> Trip:
    """An interpreter, mobility and dietary needs, and the treatment the patient plans (its
    advised recovery time decides when flying home is wise)."""
    language = interpreter_language or None
    if language is not None and language not in interpreter_languages():
        raise FieldInvalid("interpreter_language", _l("Choose a language from the list."),
                           code="invalid_language")
    texts = {}
    for field, value in (("mobility_needs", mobility_needs), ("dietary_needs", dietary_needs)):
        value = (value or "")[:MAX_TEXT + 1].strip()
        if len(value) > MAX_TEXT:
            raise FieldInvalid(field, _l("Up to 1,000 characters, please."),
                               code="text_too_long")
        texts[field] = value
    treatment = None
    if treatment_id is not None:
        treatment = db.session.get(Treatment, treatment_id)
        if treatment is None or not treatment.active or trip.clinic not in treatment.clinics:
            raise FieldInvalid("treatment", _l("Choose one of the clinic's treatments."),
                               code="invalid_treatment")
    _editable(actor, trip)
    before = _needs_summary(trip)
    trip.interpreter_language = language
    trip.mobility_needs, trip.dietary_needs = texts["mobility_needs"], texts["dietary_needs"]
    trip.treatment_id = treatment.id if treatment else None
    if before != _needs_summary(trip):
        db.session.flush()
        audit.record(actor, "trip.needs_saved", trip, before=before, after=_needs_summary(trip))
    return trip


def _needs_summary(trip: Trip) -> dict:
    return {"interpreter": trip.interpreter_language, "mobility": trip.mobility_needs,
            "dietary": trip.dietary_needs, "treatment": trip.treatment_id}
