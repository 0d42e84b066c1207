"""The coordinators' travel desk: who lands and leaves in the coming days, what each needs
(pickup, hotel), confirming pickups, the hotel's booking status and the visa letters waiting
for a decision. Services: `actor=` explicit, flush never commit, no request state.

The board's reads are a fixed number of queries whatever the number of trips (the trips'
patients, hotels, flights and companions are loaded with them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby

import phonenumbers
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from booking.accounts.models import User
from booking.core import audit
from booking.core.errors import Conflict, FieldInvalid, NotAllowed, NotFound
from booking.core.policy import can_manage_clinic
from booking.core.zones import CLINIC_ZONE, days_in_utc
from booking.extensions import db
from booking.travel import services
from booking.travel.itinerary import hotel_name
from booking.travel.models import (
    ARRIVAL,
    DEPARTURE,
    Flight,
    HotelChoice,
    HotelStatus,
    LetterState,
    PickupStatus,
    Trip,
    TripStatus,
    VisaLetter,
)

#: Pickups the clinic still has to arrange (a driver to find, or to tell of a new flight).
PICKUP_TO_DO = (PickupStatus.REQUESTED, PickupStatus.RECONFIRM)
MAX_DRIVER = 120
MAX_PLATE = 40
#: The dashboard lists this many pickups to confirm (the desk has them all).
QUEUE_SHOWN = 10


@dataclass(frozen=True)
class BoardRow:
    """One flight on the board, with what the desk shows about its trip."""

    trip: Trip
    flight: Flight
    #: The scheduled landing (arrival) or take-off (departure) in Bangkok time.
    at: datetime
    #: The Bangkok day of `at`: the board's grouping.
    day: date
    hotel: str | None
    companions: int

    @property
    def patient_name(self) -> str:
        return self.trip.patient.name

    @property
    def pickup_to_do(self) -> bool:
        """The clinic still has to confirm (or re-confirm) this pickup."""
        return self.trip.pickup_status in PICKUP_TO_DO

    @property
    def hotel_settable(self) -> bool:
        """The clinic books this stay (a partner hotel), so its status is the desk's to set."""
        return self.trip.hotel_choice == HotelChoice.PARTNER and self.trip.partner_hotel_id \
            is not None


@dataclass(frozen=True)
class BoardDay:
    day: date
    rows: list[BoardRow]


@dataclass(frozen=True)
class DeskCounts:
    """What the dashboard's queue says about travel."""

    #: Arrivals in the next 7 days whose pickup is requested or must be confirmed again.
    pickups: int
    #: The soonest of them (up to QUEUE_SHOWN).
    soonest_pickups: list[BoardRow]
    letters: int


def _require_clinic(actor: User, clinic_id: int) -> None:
    if not can_manage_clinic(actor, clinic_id):
        raise NotFound(_l("No such clinic."))


def _flights(clinic_id: int, direction: str, start: datetime, end: datetime,
             *extra) -> list[BoardRow]:  # type: ignore[no-untyped-def]
    """Open trips' flights of one direction scheduled in [start, end), soonest first; two
    queries however many (the flights with their trips, patients and hotels; the trips'
    companions)."""
    query = (select(Flight).join(Flight.trip)
             .where(Trip.clinic_id == clinic_id, Trip.status == TripStatus.OPEN,
                    Flight.direction == direction, Flight.scheduled_at >= start,
                    Flight.scheduled_at < end, *extra)
             .options(contains_eager(Flight.trip).options(
                 joinedload(Trip.patient), joinedload(Trip.partner_hotel),
                 selectinload(Trip.companions)))
             .order_by(Flight.scheduled_at, Flight.id))
    rows = []
    for flight in db.session.scalars(query).unique():
        local = flight.scheduled_at.astimezone(CLINIC_ZONE)
        rows.append(BoardRow(trip=flight.trip, flight=flight, at=local, day=local.date(),
                             hotel=hotel_name(flight.trip),
                             companions=len(flight.trip.companions)))
    return rows


def arrivals(actor: User, clinic_id: int, start: date, days: int = 7) -> list[BoardRow]:
    """Who lands in Bangkok from `start` (a Bangkok day) for `days` days, soonest first."""
    _require_clinic(actor, clinic_id)
    return _flights(clinic_id, ARRIVAL, *days_in_utc(start, start + timedelta(days=days)))


def departures(actor: User, clinic_id: int, start: date, days: int = 7) -> list[BoardRow]:
    """Who flies home from `start` (a Bangkok day) for `days` days, soonest first."""
    _require_clinic(actor, clinic_id)
    return _flights(clinic_id, DEPARTURE, *days_in_utc(start, start + timedelta(days=days)))


def by_day(rows: list[BoardRow], start: date, days: int = 7) -> list[BoardDay]:
    """The rows under each Bangkok day from `start`, empty days included (the board reads as
    a week)."""
    grouped = {day: list(items) for day, items in groupby(rows, key=lambda r: r.day)}
    return [BoardDay(day, grouped.get(day, []))
            for day in (start + timedelta(days=n) for n in range(days))]


@dataclass(frozen=True)
class BoardSummary:
    """What is still to do on a week's arrivals, for the line above the board."""

    arrivals: int
    to_confirm: int
    to_reconfirm: int
    hotels_to_book: int


def summarise(rows: list[BoardRow]) -> BoardSummary:
    return BoardSummary(
        arrivals=len(rows),
        to_confirm=sum(r.trip.pickup_status == PickupStatus.REQUESTED for r in rows),
        to_reconfirm=sum(r.trip.pickup_status == PickupStatus.RECONFIRM for r in rows),
        hotels_to_book=sum(r.hotel_settable and r.trip.hotel_status != HotelStatus.BOOKED
                           for r in rows))


def letters_to_review(actor: User, clinic_id: int) -> list[VisaLetter]:
    """Visa letters waiting for the clinic's decision on its open trips, oldest request
    first."""
    _require_clinic(actor, clinic_id)
    return list(db.session.scalars(
        select(VisaLetter).join(VisaLetter.trip)
        .where(Trip.clinic_id == clinic_id, Trip.status == TripStatus.OPEN,
               VisaLetter.state == LetterState.REQUESTED)
        .options(contains_eager(VisaLetter.trip).joinedload(Trip.patient))
        .order_by(VisaLetter.created_at, VisaLetter.id)))


def desk_counts(clinic_id: int, now: datetime) -> DeskCounts:
    """The dashboard's travel queue: pickups to arrange for arrivals not landed yet in the 7
    Bangkok days from today, and letters to review."""
    # The same 7 Bangkok days as the desk opens on, so every entry's link lands on its row.
    today = now.astimezone(CLINIC_ZONE).date()
    end = days_in_utc(today, today + timedelta(days=7))[1]
    soonest = _flights(clinic_id, ARRIVAL, now, end, Trip.pickup_status.in_(PICKUP_TO_DO))
    letters = db.session.scalar(
        select(func.count(VisaLetter.id)).join(VisaLetter.trip)
        .where(Trip.clinic_id == clinic_id, Trip.status == TripStatus.OPEN,
               VisaLetter.state == LetterState.REQUESTED)) or 0
    return DeskCounts(pickups=len(soonest), soonest_pickups=soonest[:QUEUE_SHOWN],
                      letters=letters)


# Changes -----------------------------------------------------------------------------------

def _clinic_side(actor: User, trip: Trip, what: str) -> None:
    """Only the trip's clinic's coordinators arrange its travel; anyone else who cannot see
    the trip is told it does not exist."""
    if not services.can_see_trip(actor, trip):
        raise NotFound(_l("No such trip."))
    if not (actor.is_coordinator and actor.clinic_id == trip.clinic_id):
        raise NotAllowed(what)


def _one_line(value: str | None, limit: int) -> str:
    # Cut before collapsing so a huge input costs nothing; one over the limit is still seen.
    return " ".join((value or "")[:limit + 1].split())


def driver_phone_e164(raw: str | None) -> str:
    """A driver's mobile as E.164; a local number is read as Thai ("081 234 5678")."""
    text = (raw or "")[:41].strip()
    if not text:
        raise FieldInvalid("driver_phone", _l("Give the driver's mobile number, so the "
                                              "patient can call them at the airport."),
                           code="missing_phone")
    try:
        number = phonenumbers.parse(text, "TH")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or len(text) > 40 or not phonenumbers.is_valid_number(number):
        raise FieldInvalid("driver_phone", _l(
            "This is not a phone number we can call. Write it as on the driver's phone, e.g. "
            "081 234 5678 or +66 81 234 5678."), code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_display(e164: str) -> str:
    """A stored number as the desk in Bangkok dials it: "+66812345678" -> "081 234 5678"; a
    foreign one in international form ("+44 7700 900123")."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    local = phonenumbers.region_code_for_number(number) == "TH"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL if local
                                      else phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def confirm_pickup(actor: User, trip: Trip, driver: str | None, driver_phone: str | None,
                   vehicle_plate: str | None) -> Trip:
    """The clinic has a driver for the patient's arrival: their name, mobile and the vehicle's
    plate are stored, the patient's pickup notice (48 hours before landing) and itinerary
    email are rescheduled with them."""
    _clinic_side(actor, trip, _l("Only the clinic's coordinators confirm airport pickups."))
    driver = _one_line(driver, MAX_DRIVER)
    plate = _one_line(vehicle_plate, MAX_PLATE)
    if not driver:
        raise FieldInvalid("driver", _l("Give the driver's name, as the patient will see it on "
                                        "the sign."), code="missing_driver")
    if len(driver) > MAX_DRIVER:
        raise FieldInvalid("driver", _l("A name may have up to %(n)s characters.",
                                        n=MAX_DRIVER), code="name_too_long")
    phone = driver_phone_e164(driver_phone)
    if not plate:
        raise FieldInvalid("vehicle_plate", _l("Give the vehicle's plate, so the patient finds "
                                               "the right car."), code="missing_plate")
    if len(plate) > MAX_PLATE:
        raise FieldInvalid("vehicle_plate", _l("A plate may have up to %(n)s characters.",
                                               n=MAX_PLATE), code="plate_too_long")
    services.lock_trip(trip)
    if not trip.is_open:
        raise Conflict(_l("This trip is closed: there is no pickup to confirm."),
                       code="trip_closed")
    if trip.pickup_status == PickupStatus.CONFIRMED and (
            trip.pickup_driver, trip.pickup_driver_phone, trip.pickup_vehicle_plate) == (
            driver, phone, plate):
        raise Conflict(_l("This pickup is already confirmed: %(driver)s, %(plate)s.",
                          driver=trip.pickup_driver, plate=trip.pickup_vehicle_plate),
                       code="pickup_already_confirmed")
    # A confirmed pickup may get another driver (the patient is sent the new details).
    if trip.pickup_status not in (*PICKUP_TO_DO, PickupStatus.CONFIRMED):
        raise Conflict(_l("The patient has not asked for an airport pickup (or no longer "
                          "wants one)."), code="pickup_not_requested")
    if trip.arrival is None:
        raise Conflict(_l("The patient has not given an arrival flight yet: confirm the pickup "
                          "once it is known."), code="no_arrival_flight")
    before = _pickup_summary(trip)
    trip.pickup_status = PickupStatus.CONFIRMED
    trip.pickup_driver, trip.pickup_driver_phone, trip.pickup_vehicle_plate = driver, phone, plate
    trip.ics_sequence += 1
    db.session.flush()
    audit.record(actor, "trip.pickup_confirmed", trip, before=before,
                 after={**_pickup_summary(trip), "flight": trip.arrival.code,
                        "landing": trip.arrival.scheduled_at.isoformat()})
    services.itinerary_changed.send(trip, actor=actor, what="pickup_confirmed")
    return trip


def _pickup_summary(trip: Trip) -> dict:
    return {"pickup": trip.pickup_status, "driver": trip.pickup_driver,
            "driver_phone": trip.pickup_driver_phone, "vehicle_plate": trip.pickup_vehicle_plate}


def set_hotel_status(actor: User, trip: Trip, status: str | None) -> Trip:
    """Where the clinic stands with booking the patient's partner hotel (not booked yet,
    requested from the hotel, booked); the patient is told when it changes."""
    _clinic_side(actor, trip, _l("Only the clinic's coordinators book partner hotels."))
    if status not in tuple(HotelStatus):
        raise FieldInvalid("hotel_status", _l("Choose one of the statuses listed."),
                           code="invalid_hotel_status")
    services.lock_trip(trip)
    if not trip.is_open:
        raise Conflict(_l("This trip is closed: its hotel cannot change."), code="trip_closed")
    if trip.hotel_choice != HotelChoice.PARTNER or trip.partner_hotel_id is None:
        raise Conflict(_l("The patient books their own hotel, so there is no booking status "
                          "for the clinic to set."), code="not_partner_hotel")
    if trip.hotel_status == status:
        return trip
    before = {"hotel_status": trip.hotel_status}
    trip.hotel_status = status
    db.session.flush()
    audit.record(actor, "trip.hotel_status_set", trip, before=before,
                 after={"hotel_status": status, "partner_hotel": trip.partner_hotel_id})
    services.itinerary_changed.send(trip, actor=actor, what="hotel_status")
    return trip
