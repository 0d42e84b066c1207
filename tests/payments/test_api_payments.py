"""The deposit through the JSON API: checkout, the ledger's fields, refunds and their errors."""

from __future__ import annotations

import pytest

from booking.accounts import services as accounts
from booking.extensions import db
from tests.api.helpers import api, assert_error_shape
from tests.payments.helpers import held, pay_at_standin
from tests.scheduling.helpers import user

ROLES = ("patient", "patient2", "coordinator", "other_coordinator", "admin")


@pytest.fixture()
def tokens(app, demo):
    with app.app_context():
        issued = {role: accounts.create_api_token(user(demo[role])) for role in ROLES}
        db.session.commit()
        db.session.remove()
    return issued


def test_checkout_answers_the_session_and_the_same_one_again(client, app, tokens,
                                                             stripe_live):
    booking_id = held(app)
    first = api(client, "post", f"/bookings/{booking_id}/checkout", tokens["patient"],
                json={"currency": "EUR"})
    assert first.status_code == 200, first.json
    assert first.json["currency"] == "EUR" and first.json["amount"] == 3975  # 1,500 × 0.0265
    assert first.json["checkout_url"].startswith(stripe_live.url + "/pay/")
    again = api(client, "post", f"/bookings/{booking_id}/checkout", tokens["patient"],
                json={"currency": "EUR"})
    assert again.json["session_id"] == first.json["session_id"]
    shown = api(client, "get", f"/bookings/{booking_id}", tokens["patient"]).json
    assert shown["payment_status"] == "unpaid" and shown["refunds"] == []
    pay_at_standin(stripe_live, first.json["session_id"])
    shown = api(client, "get", f"/bookings/{booking_id}", tokens["patient"]).json
    assert shown["state"] == "confirmed" and shown["payment_status"] == "paid"
    assert shown["amount_paid"] == {"amount_minor": 3975, "currency": "EUR"}
    again = api(client, "post", f"/bookings/{booking_id}/checkout", tokens["patient"], json={})
    assert_error_shape(again, 409)


def test_checkout_names_what_is_missing_and_who_may_ask(client, app, demo, tokens,
                                                        stripe_live):
    with app.app_context():
        from tests.scheduling.helpers import screen

        screen(demo["patient"])
    created = api(client, "post", "/bookings", tokens["patient"], json=_slot(app))
    booking_id = created.json["id"]
    missing = api(client, "post", f"/bookings/{booking_id}/checkout", tokens["patient"],
                  json={})
    assert assert_error_shape(missing, 422)["code"] == "checkout_incomplete"
    assert "consent" in missing.json["error"]["message"].lower()
    assert api(client, "post", f"/bookings/{booking_id}/checkout", tokens["patient2"],
               json={}).status_code == 404
    assert api(client, "post", f"/bookings/{booking_id}/checkout", tokens["coordinator"],
               json={}).status_code == 403
    bad = api(client, "post", f"/bookings/{booking_id}/checkout", tokens["patient"],
              json={"currency": "XXX"})
    assert bad.status_code == 422


def _slot(app) -> dict:
    from tests.scheduling.helpers import ctype_for, first_free

    with app.app_context():
        ctype = ctype_for("sukhumvit-spine", "video")
        s = first_free(ctype)
        return {"consultation_type": ctype.id, "doctor": s.doctor_id,
                "start": s.start.isoformat().replace("+00:00", "Z")}


def test_refunds_never_exceed_what_is_left_and_need_a_payment(client, app, tokens,
                                                              stripe_live):
    booking_id = held(app)
    nothing = api(client, "post", f"/bookings/{booking_id}/refunds", tokens["coordinator"],
                  json={"amount": 100, "reason": "goodwill"})
    assert assert_error_shape(nothing, 409)["code"] == "nothing_to_refund"
    session = api(client, "post", f"/bookings/{booking_id}/checkout", tokens["patient"],
                  json={}).json["session_id"]
    pay_at_standin(stripe_live, session)
    path = f"/bookings/{booking_id}/refunds"
    too_much = api(client, "post", path, tokens["coordinator"],
                   json={"amount": 1_500_01, "reason": "goodwill"})
    assert assert_error_shape(too_much, 409)["code"] == "refund_too_large"
    for body in ({"amount": 0, "reason": "x"}, {"amount": 100, "reason": ""},
                 {"amount": "100", "reason": "x"}):
        assert_error_shape(api(client, "post", path, tokens["coordinator"], json=body), 422)
    nul = api(client, "post", path, tokens["coordinator"], json={"amount": 1, "reason": "a\x00"})
    assert assert_error_shape(nul, 400)["code"] == "invalid_character"
    assert api(client, "post", path, tokens["other_coordinator"],
               json={"amount": 100, "reason": "x"}).status_code == 404
    assert api(client, "post", path, tokens["patient"],
               json={"amount": 100, "reason": "x"}).status_code == 403
    headers = {"Idempotency-Key": "retry-1"}
    for _ in range(2):  # a retried request is one refund
        done = api(client, "post", path, tokens["coordinator"], headers=headers,
                   json={"amount": 500_00, "reason": "doctor ran late"})
        assert done.status_code == 201, done.json
    stripe_live.flush()
    shown = api(client, "get", f"/bookings/{booking_id}", tokens["patient"]).json
    assert shown["payment_status"] == "partially_refunded"
    assert shown["amount_refunded"] == {"amount_minor": 500_00, "currency": "THB"}
    assert [(r["amount_minor"], r["status"], r["cause"]) for r in shown["refunds"]] == [
        (500_00, "succeeded", "manual")]


def test_switching_currency_closes_the_open_session_and_is_capped(client, app, tokens,
                                                                 stripe_live):
    booking_id = held(app)
    path = f"/bookings/{booking_id}/checkout"
    seen = []
    for currency in ("THB", "USD", "EUR", "GBP", "AUD"):
        answer = api(client, "post", path, tokens["patient"], json={"currency": currency})
        assert answer.status_code == 200, answer.json
        seen.append(answer.json["session_id"])
    assert len(set(seen)) == 5
    expired = [r["path"] for r in stripe_live.requests() if r["path"].endswith("/expire")]
    assert expired == [f"/v1/checkout/sessions/{s}/expire" for s in seen[:-1]]
    capped = api(client, "post", path, tokens["patient"], json={"currency": "SGD"})
    assert assert_error_shape(capped, 409)["code"] == "too_many_checkouts"
    # The last one is still open (at Stripe too) and still offered.
    again = api(client, "post", path, tokens["patient"], json={"currency": "AUD"})
    assert again.json["session_id"] == seen[-1]
    import json
    import urllib.request

    request = urllib.request.Request(f"{stripe_live.url}/v1/checkout/sessions/{seen[-1]}",
                                     headers={"Authorization": "Bearer sk_test_x"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert json.loads(answer.read())["status"] == "open"
