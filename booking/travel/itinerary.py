"""The trip's itinerary: landing, pickup, hotel, consultations, departure, in time order, as
the page, the printable view, the emails and one calendar file (.ics) show it. Computed from
the trip and its bookings each time, so a moved consultation or a changed flight changes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import format_time
from flask_babel import gettext as _
from icalendar import Calendar, Event

from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE
from booking.scheduling.models import ACTIVE_STATES
from booking.travel.models import AIRPORTS, HotelChoice, PickupStatus, Trip

#: From landing to the hotel door: immigration, bags and the drive into Bangkok.
AIRPORT_TO_HOTEL = timedelta(hours=2)
#: Be at the airport this long before an international flight leaves.
AIRPORT_EARLY = timedelta(hours=3)


@dataclass(frozen=True)
class ItineraryEvent:
    #: Stable within the trip: the calendar's UID is built from it.
    key: str
    kind: str  # landing, pickup, hotel, consultation, departure
    starts_at: datetime
    ends_at: datetime | None
    title: str
    detail: str
    location: str
    #: False for a consultation that was cancelled (the calendar removes it).
    active: bool = True
    booking_id: int | None = None


def hotel_name(trip: Trip) -> str | None:
    if trip.hotel_choice == HotelChoice.PARTNER and trip.partner_hotel:
        return trip.partner_hotel.name
    if trip.hotel_choice == HotelChoice.OWN and trip.own_hotel_name:
        return trip.own_hotel_name
    return None


def hotel_address(trip: Trip) -> str:
    if trip.hotel_choice == HotelChoice.PARTNER and trip.partner_hotel:
        return trip.partner_hotel.address
    return trip.own_hotel_address


def itinerary(trip: Trip, *, include_cancelled: bool = False) -> list[ItineraryEvent]:
    """Every event of the trip in time order (times are UTC; pages show Bangkok and home)."""
    events: list[ItineraryEvent] = []
    arrival, departure = trip.arrival, trip.departure
    hotel = hotel_name(trip)
    if arrival:
        airport = str(AIRPORTS[arrival.airport])
        events.append(ItineraryEvent(
            "landing", "landing", arrival.scheduled_at, None,
            _("Land in Bangkok: %(flight)s", flight=arrival.code),
            _("Scheduled landing at %(airport)s.", airport=airport), airport))
        if trip.pickup_status != PickupStatus.NOT_WANTED:
            if trip.pickup_status == PickupStatus.CONFIRMED and trip.pickup_driver:
                detail = _("Your driver %(driver)s (%(phone)s, %(plate)s) waits in the arrivals "
                           "hall with a SpineBridge sign.", driver=trip.pickup_driver,
                           phone=trip.pickup_driver_phone or trip.clinic.phone,
                           plate=trip.pickup_vehicle_plate or "—")
            else:
                detail = _("The clinic is arranging your driver; their name and phone number "
                           "are sent to you 48 hours before you land.")
            events.append(ItineraryEvent(
                "pickup", "pickup", arrival.scheduled_at + timedelta(minutes=45), None,
                _("Airport pickup"), detail, airport))
        if hotel:
            events.append(ItineraryEvent(
                "hotel", "hotel", arrival.scheduled_at + AIRPORT_TO_HOTEL, None,
                _("Check in at %(hotel)s", hotel=hotel),
                _("About two hours after landing, after immigration and the drive."),
                hotel_address(trip)))
    for number, booking in enumerate(trip.bookings):
        active = booking.state in ACTIVE_STATES
        if not active and not include_cancelled:
            continue
        ctype = booking.consultation_type
        in_person = ctype.mode == "in_person"
        events.append(ItineraryEvent(
            f"booking-{booking.id}", "consultation", booking.starts_at, booking.ends_at,
            _("%(what)s with %(doctor)s", what=ctype.name, doctor=booking.doctor.name),
            (_("Booking %(ref)s at %(clinic)s.", ref=booking.reference,
               clinic=booking.clinic.name) if number == 0 else
             _("Follow-up, booking %(ref)s at %(clinic)s.", ref=booking.reference,
               clinic=booking.clinic.name)),
            booking.clinic.address if in_person else _("Video call"),
            active=active, booking_id=booking.id))
    if departure:
        airport = str(AIRPORTS[departure.airport])
        events.append(ItineraryEvent(
            "departure", "departure", departure.scheduled_at, None,
            _("Flight home: %(flight)s", flight=departure.code),
            _("Be at %(airport)s by %(time)s, three hours before take-off.", airport=airport,
              time=format_time((departure.scheduled_at - AIRPORT_EARLY).astimezone(
                  CLINIC_ZONE), "short", rebase=False)), airport))
    events.sort(key=lambda e: e.starts_at)
    return events


def itinerary_uid(trip: Trip, event: ItineraryEvent) -> str:
    return f"trip-{trip.id}-{event.key}@spinebridge"


def itinerary_calendar(trip: Trip) -> bytes:
    """One VEVENT per event, with stable UIDs and the trip's SEQUENCE, so a calendar that
    imported it before replaces every event when the plan changes (a cancelled consultation
    and a closed trip come as CANCELLED)."""
    cal = Calendar()
    cal.add("prodid", "-//SpineBridge//Trips//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", f"Bangkok trip – {trip.clinic.name}")
    link = current_app.config["BASE_URL"].rstrip("/") + f"/trips/{trip.id}"
    stamp = utcnow()
    for item in itinerary(trip, include_cancelled=True):
        event = Event()
        event.add("uid", itinerary_uid(trip, item))
        event.add("dtstamp", stamp)
        event.add("dtstart", item.starts_at)
        event.add("dtend", item.ends_at or item.starts_at + timedelta(minutes=30))
        event.add("sequence", trip.ics_sequence)
        event.add("summary", item.title)
        event.add("description", f"{item.detail}\n\nYour trip: {link}")
        if item.location:
            event.add("location", item.location)
        event.add("url", link)
        event.add("status", "CONFIRMED" if item.active and trip.is_open else "CANCELLED")
        cal.add_component(event)
    return cal.to_ical()
