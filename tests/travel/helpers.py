"""Helpers to build a trip through the services, as the pages and the API would."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.travel import people, services
from booking.travel.models import Trip
from tests.scheduling.helpers import hold, user


def bangkok(day: date, hour: int, minute: int = 0) -> datetime:
    """A Bangkok wall-clock time as a UTC instant."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=CLINIC_ZONE).astimezone(UTC)


def make_trip(patient_email: str = "patient@example.com", clinic_slug: str = "sukhumvit-spine",
              *, flights: bool = True, passport: bool = True, companion: bool = False,
              mode: str = "in_person") -> Trip:
    """A confirmed in-person booking and its trip; with `flights` landing 36 hours before the
    consultation and leaving five days after; commits."""
    booking = hold(patient_email, clinic_slug, confirm=True, mode=mode)
    patient = user(patient_email)
    trip = services.plan_trip(patient, booking)
    if flights:
        # The booking is at least two days away: landing a day and a half before it is always
        # still ahead, whatever the time of day the test runs.
        services.save_flight(patient, trip, "arrival", code="TG 917", airport="BKK",
                             scheduled_at=booking.starts_at - timedelta(hours=36))
        services.save_flight(patient, trip, "departure", code="TG 918", airport="BKK",
                             scheduled_at=booking.ends_at + timedelta(days=5))
    if passport:
        people.save_passport(patient, trip, nationality="US", number="X12345678",
                               expiry=date.today() + timedelta(days=3 * 365))
    if companion:
        people.add_companion(patient, trip, name="Tom Miller", relationship="spouse",
                               nationality="US", passport_number="Y87654321",
                               passport_expiry=date.today() + timedelta(days=4 * 365))
    db.session.commit()
    return trip


def paid_booking(app, as_role, standin, email: str = "patient@example.com") -> int:
    """An in-person hold whose deposit was paid through Checkout at the Stripe stand-in (its
    signed webhook confirms it); the booking's id."""
    import time

    from tests.payments.conftest import deliver
    from tests.payments.helpers import held, pay_at_standin, session_id_of, start_checkout

    booking_id = held(app, email=email, mode="in_person")
    client = as_role("patient" if email == "patient@example.com" else "patient2")
    session_id = session_id_of(start_checkout(client, booking_id))
    session = pay_at_standin(standin, session_id, deliver=False)
    event = {"id": f"evt_{session_id}", "object": "event", "type": "checkout.session.completed",
             "created": int(time.time()), "data": {"object": session}, "livemode": False}
    answer = deliver(app.test_client(), event)
    assert answer.json["outcome"] == "confirmed", answer.json
    return booking_id
