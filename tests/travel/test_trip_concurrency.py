"""Trip changes under concurrent requests: each thread is its own client and database
connection (on PostgreSQL the row locks are real)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import func, select

from booking.core.audit import AuditEvent
from booking.extensions import db
from booking.travel.models import Companion, Trip, TripBooking
from tests.scheduling.helpers import hold
from tests.scheduling.test_concurrent_changes import at_once, signed_in_clients
from tests.travel.helpers import make_trip

FUTURE = (date.today() + timedelta(days=1500)).isoformat()


def test_planning_twice_at_once_makes_one_trip(app, demo):
    with app.app_context():
        booking_id = hold(demo["patient"], confirm=True, mode="in_person").id
    clients, token = signed_in_clients(app, demo["patient"], demo["password"], 6)
    results = at_once(6, lambda i: clients[i].post(f"/bookings/{booking_id}/trip",
                                                   data={"csrf_token": token}))
    assert Counter(r.status_code for r in results) == {302: 6}
    assert len({r.headers["Location"] for r in results}) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Trip)) == 1
        assert db.session.scalar(select(func.count()).select_from(TripBooking)) == 1


def test_companions_added_at_once_never_pass_four(app, demo):
    with app.app_context():
        trip_id = make_trip(flights=False).id
    clients, token = signed_in_clients(app, demo["patient"], demo["password"], 8)

    def add(i: int):
        return clients[i].post(f"/trips/{trip_id}/companions", data={
            "csrf_token": token, "companion-csrf_token": token,
            "companion-name": f"Companion {i}", "companion-relationship": "friend",
            "companion-nationality": "GB", "companion-passport_number": f"GB{i}000000",
            "companion-passport_expiry": FUTURE})

    results = at_once(8, add)
    assert Counter(r.status_code for r in results) == {302: 4, 409: 4}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Companion)) == 4
        assert db.session.scalar(select(func.count()).where(
            AuditEvent.action == "trip.companion_added")) == 4


def test_the_same_flight_saved_at_once_is_saved_once(app, demo):
    with app.app_context():
        trip_id = make_trip(flights=False).id
    clients, token = signed_in_clients(app, demo["patient"], demo["password"], 6)
    landing = (date.today() + timedelta(days=30)).isoformat()
    results = at_once(6, lambda i: clients[i].post(f"/trips/{trip_id}/flights/arrival", data={
        "csrf_token": token, "arrival-csrf_token": token, "arrival-flight": "TG 917",
        "arrival-airport": "BKK", "arrival-date": landing, "arrival-time": "07:30"}))
    assert Counter(r.status_code for r in results) == {302: 6}
    with app.app_context():
        assert db.session.scalar(select(func.count()).where(
            AuditEvent.action == "trip.arrival_flight_saved")) == 1
