"""Paying a deposit the way the app does: hold, consent, Checkout at the stand-in."""

from __future__ import annotations

import json
import urllib.request
from datetime import timedelta

from sqlalchemy import select

from booking.core.types import utcnow
from booking.extensions import db
from booking.payments.models import CheckoutAttempt, LedgerEntry
from booking.scheduling import services
from booking.scheduling.consent import CONSENTS
from booking.scheduling.models import Booking
from tests.conftest import csrf_token
from tests.scheduling.helpers import ctype_for, first_free, user


def held(app, *, days_ahead: int = 10, email: str = "patient@example.com",
         mode: str = "video") -> int:
    """A consented hold `days_ahead` days out (or the first free time after); its id."""
    with app.app_context():
        ctype = ctype_for("sukhumvit-spine", mode)
        slot = first_free(ctype, after=utcnow() + timedelta(days=days_ahead))
        patient = user(email)
        booking = services.place_hold(patient, patient=patient, ctype=ctype,
                                      doctor_id=slot.doctor_id, start=slot.start)
        services.give_consent(patient, booking, list(CONSENTS))
        db.session.commit()
        booking_id = booking.id
        db.session.remove()
    return booking_id


def start_checkout(client, booking_id: int, currency: str = "THB"):
    token = csrf_token(client, f"/bookings/{booking_id}")
    return client.post(f"/bookings/{booking_id}/checkout",
                       data={"csrf_token": token, "currency": currency})


def session_id_of(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:300]
    return response.headers["Location"].rsplit("/", 1)[-1]


def control(standin, path: str, payload: dict | None = None) -> dict:
    request = urllib.request.Request(f"{standin.url}{path}", method="POST",
                                     data=json.dumps(payload or {}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def pay_at_standin(standin, session_id: str, *, deliver: bool = True) -> dict:
    return control(standin, f"/_standin/checkout/sessions/{session_id}/pay",
                   {"deliver": "1" if deliver else "0"})


def booking_row(app, booking_id: int) -> Booking:
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        db.session.expunge(booking)
        return booking


def ledger(app, booking_id: int) -> list[tuple[str, str, int, str, str]]:
    with app.app_context():
        return [(e.kind, e.status, e.amount_minor, e.currency, e.cause)
                for e in db.session.scalars(select(LedgerEntry).where(
                    LedgerEntry.booking_id == booking_id).order_by(LedgerEntry.id))]


def attempts(app, booking_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        return [(a.session_id, a.state) for a in db.session.scalars(select(
            CheckoutAttempt).where(CheckoutAttempt.booking_id == booking_id)
            .order_by(CheckoutAttempt.id))]

