"""What may go wrong with a trip's plan, each with what to do: warnings, never blocks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from flask_babel import format_date, format_datetime
from flask_babel import lazy_gettext as _l

from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE
from booking.travel.models import Trip
from booking.travel.services import active_bookings

#: The passport must stay valid this long after arrival (Thai entry rule).
PASSPORT_MARGIN_DAYS = 183


# Warnings ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class TripWarning:
    code: str
    message: str


def _bkk(value: datetime) -> str:
    return format_datetime(value.astimezone(CLINIC_ZONE), "EEE d MMM, HH:mm", rebase=False)


def _day(value: date) -> str:
    return format_date(value, "medium")


def trip_warnings(trip: Trip, now: datetime | None = None) -> list[TripWarning]:
    """What may go wrong with the plan, each with what to do; warnings, never blocks."""
    now = now or utcnow()
    out: list[TripWarning] = []
    bookings = active_bookings(trip)
    arrival, departure = trip.arrival, trip.departure
    min_hours = current_app.config["TRAVEL_MIN_LANDING_HOURS"]
    if arrival and bookings:
        first = bookings[0]
        gap = first.starts_at - arrival.scheduled_at
        if gap < timedelta(0):
            pass  # told below as a consultation outside the trip
        elif gap < timedelta(hours=min_hours):
            out.append(TripWarning("landing_close", str(_l(
                "You land %(hours)s hours before your first consultation (%(when)s, Bangkok "
                "time). Flights can be late and long journeys are tiring: take an earlier "
                "flight, or ask the clinic to move the consultation, so there are at least "
                "%(min)s hours in between.", hours=int(gap.total_seconds() // 3600),
                when=_bkk(first.starts_at), min=min_hours))))
    for booking in bookings:
        outside = (arrival and booking.starts_at < arrival.scheduled_at) or (
            departure and booking.ends_at > departure.scheduled_at)
        if outside:
            out.append(TripWarning("booking_outside_trip", str(_l(
                "Your consultation %(ref)s on %(when)s (Bangkok time) is outside your trip's "
                "dates. Change your flight, or move the consultation into your stay.",
                ref=booking.reference, when=_bkk(booking.starts_at)))))
    if departure and bookings and trip.treatment is not None:
        last = bookings[-1]
        days = trip.treatment.recovery_days
        earliest = (last.ends_at.astimezone(CLINIC_ZONE).date() + timedelta(days=days))
        if departure.scheduled_at.astimezone(CLINIC_ZONE).date() < earliest:
            out.append(TripWarning("leaving_too_soon", str(_l(
                "The clinic advises staying in Bangkok at least %(days)s days after %(treatment)s"
                ". Your last appointment is on %(last)s and your flight home leaves on "
                "%(leaves)s: move your flight home to %(earliest)s or later.", days=days,
                treatment=trip.treatment.name, last=_bkk(last.starts_at),
                leaves=_bkk(departure.scheduled_at), earliest=_day(earliest)))))
    entry = (arrival.scheduled_at.astimezone(CLINIC_ZONE).date() if arrival else
             bookings[0].starts_at.astimezone(CLINIC_ZONE).date() if bookings else None)
    if entry is not None:
        holders = [(trip.patient.name, trip.passport_expiry)] + [
            (c.name, c.passport_expiry) for c in trip.companions]
        for name, expiry in holders:
            if expiry is not None and expiry < entry + timedelta(days=PASSPORT_MARGIN_DAYS):
                out.append(TripWarning("passport_expiring", str(_l(
                    "%(name)s's passport expires on %(expiry)s, less than 6 months after "
                    "arriving in Thailand. Airlines and Thai immigration can refuse it: renew "
                    "it before you travel and enter the new number here.", name=name,
                    expiry=_day(expiry)))))
    return out
