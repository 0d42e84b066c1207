"""Money changes under concurrent requests: a double-clicked Pay opens one session; two
coordinators refunding at once never give back more than was paid."""

from __future__ import annotations

import threading

from tests.conftest import csrf_token
from tests.payments.helpers import held, ledger, pay_at_standin, session_id_of, start_checkout


def _at_once(actions) -> list:  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(len(actions))
    results: list = [None] * len(actions)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = actions[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_pay_clicks_at_once_open_one_session(app, demo, as_role, stripe_live):
    booking_id = held(app)
    clients = [as_role("patient"), as_role("patient")]
    tokens = [csrf_token(c, f"/bookings/{booking_id}") for c in clients]
    answers = _at_once([
        lambda c=c, t=t: c.post(f"/bookings/{booking_id}/checkout",
                                data={"csrf_token": t, "currency": "THB"})
        for c, t in zip(clients, tokens, strict=True)])
    assert [a.status_code for a in answers] == [303, 303]
    assert answers[0].headers["Location"] == answers[1].headers["Location"]
    created = [r for r in stripe_live.requests() if r["path"] == "/v1/checkout/sessions"]
    assert len(created) == 1


def test_two_refunds_at_once_never_exceed_what_was_paid(app, demo, as_role, stripe_live):
    booking_id = held(app)
    pay_at_standin(stripe_live, session_id_of(start_checkout(as_role("patient"), booking_id)))
    desks = [as_role("coordinator"), as_role("coordinator")]
    tokens = [csrf_token(c, f"/bookings/{booking_id}") for c in desks]
    path = f"/coordinator/bookings/{booking_id}/refund"
    _at_once([lambda c=c, t=t, k=k: c.post(path, data={"csrf_token": t, "amount": "1000",
                                                       "reason": "goodwill", "key": k})
              for c, t, k in zip(desks, tokens, ("a", "b"), strict=True)])
    stripe_live.flush()
    refunds = [row for row in ledger(app, booking_id) if row[0] == "refund"]
    assert refunds == [("refund", "succeeded", 1_000_00, "THB", "manual")]
    assert len([r for r in stripe_live.requests() if r["path"] == "/v1/refunds"]) == 1
