"""The webhook handler with events the tests sign: duplicates, out of order, concurrent
duplicates, bad and stale signatures, an unpaid completion, async outcomes."""

from __future__ import annotations

import json
import threading
import time
import urllib.request

from sqlalchemy import func, select

from booking.extensions import db
from booking.payments.models import StripeEvent
from booking.scheduling.models import BookingEvent
from tests.payments.conftest import deliver
from tests.payments.helpers import (
    attempts,
    booking_row,
    held,
    ledger,
    session_id_of,
    start_checkout,
)


def _session(standin, session_id: str) -> dict:
    request = urllib.request.Request(f"{standin.url}/v1/checkout/sessions/{session_id}",
                                     headers={"Authorization": "Bearer sk_test_x"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def _event(event_id: str, kind: str, obj: dict) -> dict:
    return {"id": event_id, "object": "event", "type": kind, "created": int(time.time()),
            "data": {"object": obj}, "livemode": False}


def _paid_session(standin, session_id: str) -> dict:
    from tests.payments.helpers import pay_at_standin

    return pay_at_standin(standin, session_id, deliver=False)


def _confirmations(app, booking_id: int) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(BookingEvent.id)).where(
            BookingEvent.booking_id == booking_id, BookingEvent.to_state == "confirmed"))


def test_same_completed_event_three_times_concurrently_confirms_once(
        app, demo, as_role, stripe_quiet):
    booking_id = held(app)
    patient = as_role("patient")
    session_id = session_id_of(start_checkout(patient, booking_id))
    event = _event("evt_paid_1", "checkout.session.completed",
                   _paid_session(stripe_quiet, session_id))
    answers: list = []
    barrier = threading.Barrier(3)

    def send() -> None:
        client = app.test_client()
        barrier.wait()
        answers.append(deliver(client, event))

    threads = [threading.Thread(target=send) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(a.status_code for a in answers) == [200, 200, 200]
    assert sorted(a.json["outcome"] for a in answers) == ["confirmed", "duplicate", "duplicate"]
    assert booking_row(app, booking_id).state == "confirmed"
    assert _confirmations(app, booking_id) == 1
    assert ledger(app, booking_id) == [("charge", "succeeded", 1_500_00, "THB", "")]
    # A fourth, later delivery changes nothing either.
    assert deliver(app.test_client(), event).json["outcome"] == "duplicate"
    assert len(ledger(app, booking_id)) == 1


def test_a_second_event_for_the_same_payment_records_it_once(app, demo, as_role, stripe_quiet):
    """async_payment_succeeded after completed (another event id, same payment)."""
    booking_id = held(app)
    session_id = session_id_of(start_checkout(as_role("patient"), booking_id))
    session = _paid_session(stripe_quiet, session_id)
    client = app.test_client()
    assert deliver(client, _event("evt_a", "checkout.session.completed", session)).json[
        "outcome"] == "confirmed"
    assert deliver(client, _event("evt_b", "checkout.session.async_payment_succeeded",
                                  session)).json["outcome"] == "already_recorded"
    assert len(ledger(app, booking_id)) == 1 and _confirmations(app, booking_id) == 1


def test_expired_event_after_the_payment_is_a_no_op(app, demo, as_role, stripe_quiet):
    booking_id = held(app)
    session_id = session_id_of(start_checkout(as_role("patient"), booking_id))
    session = _paid_session(stripe_quiet, session_id)
    client = app.test_client()
    deliver(client, _event("evt_paid", "checkout.session.completed", session))
    stale = {**session, "status": "expired", "payment_status": "unpaid"}
    assert deliver(client, _event("evt_old", "checkout.session.expired", stale)).json[
        "outcome"] == "stale"
    assert attempts(app, booking_id) == [(session_id, "paid")]
    assert booking_row(app, booking_id).state == "confirmed"


def test_bad_or_stale_signature_changes_nothing(app, demo, as_role, stripe_quiet):
    booking_id = held(app)
    session_id = session_id_of(start_checkout(as_role("patient"), booking_id))
    event = _event("evt_forged", "checkout.session.completed",
                   _paid_session(stripe_quiet, session_id))
    client = app.test_client()
    wrong = deliver(client, event, secret="whsec_someone_else")
    stale = deliver(client, event, at=int(time.time()) - 600)
    unsigned = client.post("/stripe/webhook", data=json.dumps(event),
                           content_type="application/json")
    for answer in (wrong, stale, unsigned):
        assert answer.status_code == 400 and answer.json["error"]["code"] == "bad_signature"
    assert booking_row(app, booking_id).state == "held"
    assert ledger(app, booking_id) == []
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 0
    # The genuine one still works afterwards.
    assert deliver(client, event).json["outcome"] == "confirmed"


def test_unpaid_completion_waits_then_async_outcomes_decide(app, demo, as_role, stripe_quiet):
    booking_id = held(app)
    session_id = session_id_of(start_checkout(as_role("patient"), booking_id))
    pending = {**_session(stripe_quiet, session_id), "status": "complete",
               "payment_status": "unpaid"}
    client = app.test_client()
    assert deliver(client, _event("evt_c", "checkout.session.completed", pending)).json[
        "outcome"] == "awaiting_payment"
    assert booking_row(app, booking_id).state == "held" and ledger(app, booking_id) == []
    assert deliver(client, _event("evt_f", "checkout.session.async_payment_failed",
                                  pending)).json["outcome"] == "failed"
    assert attempts(app, booking_id) == [(session_id, "failed")]
    assert booking_row(app, booking_id).state == "held"  # the patient may try again


def test_async_success_confirms(app, demo, as_role, stripe_quiet):
    booking_id = held(app)
    session_id = session_id_of(start_checkout(as_role("patient"), booking_id))
    paid = _paid_session(stripe_quiet, session_id)
    answer = deliver(app.test_client(), _event("evt_s", "checkout.session.async_payment_succeeded",
                                               paid))
    assert answer.json["outcome"] == "confirmed"
    assert booking_row(app, booking_id).state == "confirmed"


def test_unknown_event_types_and_sessions_are_answered_and_ignored(app, demo, stripe_quiet):
    client = app.test_client()
    assert deliver(client, _event("evt_x", "customer.created", {"id": "cus_1"})).json[
        "outcome"] == "ignored"
    assert deliver(client, _event("evt_y", "checkout.session.completed",
                                  {"id": "cs_nobody", "payment_status": "paid",
                                   "metadata": {}})).json["outcome"] == "unknown_session"
    body = b"not json"
    from tests.payments.conftest import signed

    _, signature = signed({})
    bad = client.post("/stripe/webhook", data=body, content_type="application/json",
                      headers={"Stripe-Signature": signature})
    assert bad.status_code == 400
