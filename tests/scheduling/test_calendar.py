"""Calendar files: the right UTC instant, the address or video note, a stable UID."""

from __future__ import annotations

from icalendar import Calendar

from booking.extensions import db
from booking.scheduling import services
from booking.scheduling.models import Booking
from tests.scheduling.helpers import ctype_for, first_free, hold, user


def _event(client, booking_id):
    response = client.get(f"/bookings/{booking_id}/calendar.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/calendar")
    return Calendar.from_ical(response.data).walk("VEVENT")[0]


def test_ics_has_the_utc_instant_and_a_uid_that_survives_a_reschedule(as_role, app):
    with app.app_context():
        booking = hold(confirm=True)
        booking_id, starts_at = booking.id, booking.starts_at
    client = as_role("patient")
    event = _event(client, booking_id)
    assert event.decoded("dtstart") == starts_at
    assert event["uid"] == f"booking-{booking_id}@spinebridge"
    assert str(event["status"]) == "CONFIRMED" and int(event["sequence"]) == 0
    assert "Video call" in str(event["location"])

    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        new = first_free(ctype_for(), doctor_id=booking.doctor_id)
        services.reschedule(user("patient@example.com"), booking, start=new.start)
        db.session.commit()
        new_start = new.start
    moved = _event(client, booking_id)
    assert moved["uid"] == event["uid"] and int(moved["sequence"]) == 1
    assert moved.decoded("dtstart") == new_start

    with app.app_context():
        services.cancel(user("patient@example.com"), db.session.get(Booking, booking_id))
        db.session.commit()
    cancelled = _event(client, booking_id)
    assert str(cancelled["status"]) == "CANCELLED" and int(cancelled["sequence"]) == 2


def test_in_person_ics_carries_the_clinic_address_and_others_get_404(as_role, app):
    with app.app_context():
        booking_id = hold(mode="in_person").id
    event = _event(as_role("patient"), booking_id)
    assert "Sukhumvit Soi 11" in str(event["location"])
    assert str(event["status"]) == "TENTATIVE"
    assert as_role("patient2").get(f"/bookings/{booking_id}/calendar.ics").status_code == 404
