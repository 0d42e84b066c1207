"""Calendar files (.ics) for bookings: the right UTC instant and a stable UID, so a calendar
replaces the event when the booking moves or is cancelled."""

from __future__ import annotations

from flask import current_app
from icalendar import Calendar, Event

from booking.core.types import utcnow
from booking.scheduling.models import CONFIRMED, HELD, Booking


def booking_uid(booking: Booking) -> str:
    return f"booking-{booking.id}@spinebridge"


def booking_calendar(booking: Booking) -> bytes:
    """One VEVENT for the booking; SEQUENCE counts the moves so updates win over old copies."""
    ctype = booking.consultation_type
    clinic = booking.clinic
    cal = Calendar()
    cal.add("prodid", "-//SpineBridge//Bookings//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    event = Event()
    event.add("uid", booking_uid(booking))
    event.add("dtstamp", utcnow())
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("sequence", booking.ics_sequence)
    event.add("summary", f"{ctype.name} – {clinic.name} ({booking.reference})")
    if ctype.mode == "in_person":
        event.add("location", clinic.address)
    elif booking.joinable_video_url:
        event.add("location", booking.joinable_video_url)
    else:
        event.add("location", "Video call – the link is sent before the consultation")
    link = current_app.config["BASE_URL"].rstrip("/") + f"/bookings/{booking.id}"
    event.add("url", link)
    event.add("description",
              f"Booking {booking.reference} with {booking.doctor.name}.\n"
              f"Clinic: {clinic.name}, {clinic.address}\nPhone: {clinic.phone}\n"
              f"Manage your booking: {link}")
    status = {HELD: "TENTATIVE", CONFIRMED: "CONFIRMED"}.get(booking.state, "CANCELLED")
    event.add("status", status)
    cal.add_component(event)
    return cal.to_ical()
