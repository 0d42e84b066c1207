"""The trip as the API answers it: times in UTC with Bangkok and the patient's zone beside,
passport numbers masked, what the caller may do now."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from booking.accounts.models import User
from booking.api.serializers import iso
from booking.core.zones import CLINIC_ZONE
from booking.scheduling.models import Booking
from booking.travel import letters, people, risks, services
from booking.travel.models import Flight, HotelChoice, PartnerHotel, Trip


def zone_of(trip: Trip) -> ZoneInfo:
    return ZoneInfo(trip.patient.timezone or "UTC")


def times(prefix: str, value: datetime, zone: ZoneInfo) -> dict:
    return {prefix: iso(value),
            f"{prefix}_bangkok": value.astimezone(CLINIC_ZONE).isoformat(),
            f"{prefix}_local": value.astimezone(zone).isoformat()}


def _flight(f: Flight, zone: ZoneInfo) -> dict:
    return {"direction": f.direction, "flight": f.code, "airline": f.airline,
            "number": f.number, "airport": f.airport,
            **times("scheduled_at", f.scheduled_at, zone)}


def _booking(b: Booking) -> dict:
    return {"id": b.id, "reference": b.reference, "state": b.state, "start": iso(b.starts_at),
            "end": iso(b.ends_at),
            "start_local": b.starts_at.astimezone(ZoneInfo(b.patient_timezone)).isoformat(),
            "start_bangkok": b.starts_at.astimezone(CLINIC_ZONE).isoformat(),
            "timezone": b.patient_timezone}


def _partner_hotel(h: PartnerHotel) -> dict:
    return {"id": h.id, "name": h.name, "address": h.address, "distance_note": h.distance_note,
            "accessible": h.accessible, "nightly_price": {
                "min_minor": h.nightly_min_minor, "max_minor": h.nightly_max_minor,
                "currency": h.currency}}


def _clinic(trip: Trip) -> dict:
    c = trip.clinic
    return {"id": c.id, "slug": c.slug, "name": c.name, "address": c.address, "phone": c.phone}


def _patient(trip: Trip) -> dict:
    p = trip.patient
    return {"id": p.id, "name": p.name, "timezone": p.timezone}


def _actions(actor: User, trip: Trip) -> list[str]:
    """What the caller may do now: the services' rules, as the trip page's buttons."""
    out = []
    if trip.is_open and services.can_edit_trip(actor, trip):
        out += ["edit", "close"]
    if people.may_reveal(actor, trip):
        out.append("reveal_passport")
    if trip.is_open and letters.may_request(actor, trip) and letters.live_letter(trip) is None:
        out.append("request_letter")
    return out


def _letter(trip: Trip) -> dict | None:
    letter = trip.current_letter
    if letter is None:
        return None
    return {"state": letter.state, "number": letter.number, "reason": letter.reason,
            "requested_at": iso(letter.created_at), "issued_at": iso(letter.issued_at)}


def trip_body(actor: User, trip: Trip) -> dict:
    """The whole trip as the caller may see it (passport numbers masked)."""
    zone = zone_of(trip)
    passport = None
    if trip.passport_number_sealed is not None:
        passport = {"nationality": trip.passport_nationality,
                    "number": people.passport_number(actor, trip, reveal=False),
                    "expiry": trip.passport_expiry}
    partner = trip.partner_hotel if trip.hotel_choice == HotelChoice.PARTNER else None
    return {
        "id": trip.id, "status": trip.status, "created_at": iso(trip.created_at),
        "clinic": _clinic(trip), "patient": _patient(trip),
        "bookings": [_booking(b) for b in trip.bookings],
        "flights": [_flight(f, zone) for f in trip.flights],
        "passport": passport,
        "companions": [{"id": c.id, "name": c.name, "relationship": c.relationship_to_patient,
                        "nationality": c.nationality,
                        "passport_number": people.passport_number(actor, c, reveal=False),
                        "passport_expiry": c.passport_expiry} for c in trip.companions],
        "hotel": {"choice": trip.hotel_choice, "status": trip.hotel_status,
                  "partner_hotel": _partner_hotel(partner) if partner else None,
                  "own_hotel": ({"name": trip.own_hotel_name, "address": trip.own_hotel_address}
                                if trip.hotel_choice == HotelChoice.OWN else None)},
        "partner_hotels": [_partner_hotel(h) for h in services.partner_hotels(trip.clinic_id)],
        "pickup": {"status": trip.pickup_status, "vehicle": trip.pickup_vehicle,
                   "wheelchair": trip.pickup_wheelchair, "luggage": trip.pickup_luggage,
                   "driver": trip.pickup_driver, "driver_phone": trip.pickup_driver_phone,
                   "vehicle_plate": trip.pickup_vehicle_plate},
        "needs": {"interpreter_language": trip.interpreter_language,
                  "mobility_needs": trip.mobility_needs, "dietary_needs": trip.dietary_needs,
                  "treatment": ({"id": trip.treatment.id, "name": trip.treatment.name,
                                 "recovery_days": trip.treatment.recovery_days}
                                if trip.treatment else None)},
        "warnings": [{"code": w.code, "message": w.message}
                     for w in risks.trip_warnings(trip)],
        "letter": _letter(trip),
        "actions": _actions(actor, trip),
    }


def summary(trip: Trip) -> dict:
    zone = zone_of(trip)
    return {"id": trip.id, "status": trip.status, "created_at": iso(trip.created_at),
            "clinic": _clinic(trip), "patient": _patient(trip),
            "flights": [_flight(f, zone) for f in trip.flights]}
