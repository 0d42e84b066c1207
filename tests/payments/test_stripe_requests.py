"""The exact requests sent to Stripe, recorded by an HTTP client wrapped around stripe's own
(the production calls are what Stripe's API expects: parameters, idempotency keys, no
parameter stripe 16's API version refuses)."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import stripe

from booking.core.types import utcnow
from tests.conftest import post_form
from tests.payments.helpers import booking_row, held, pay_at_standin, session_id_of, start_checkout


class Recording(type(stripe.new_default_http_client())):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict] = []

    def request(self, method, url, headers, post_data=None, **kwargs):  # noqa: ANN001, ANN003
        self.sent.append({"method": method.upper(), "path": urlsplit(url).path,
                          "headers": dict(headers or {}),
                          "params": dict(parse_qsl(post_data or urlsplit(url).query or ""))})
        return super().request(method, url, headers, post_data, **kwargs)


@pytest.fixture()
def recorded(app, stripe_live):
    client = Recording()
    app.extensions["stripe_http_client"] = client
    yield client
    app.extensions.pop("stripe_http_client", None)


def test_checkout_session_request_is_what_stripe_expects(app, demo, as_role, recorded):
    booking_id = held(app)
    before = utcnow()
    session_id = session_id_of(start_checkout(as_role("patient"), booking_id, "JPY"))
    booking = booking_row(app, booking_id)
    [create] = [r for r in recorded.sent if r["path"] == "/v1/checkout/sessions"]
    p, h = create["params"], create["headers"]
    assert create["method"] == "POST"
    assert h["Authorization"] == "Bearer sk_test_spinebridge"
    assert h["Idempotency-Key"] == f"checkout:{booking_id}:1"
    assert p["mode"] == "payment"
    assert p["line_items[0][price_data][currency]"] == "jpy"
    assert p["line_items[0][price_data][unit_amount]"] == "6525"  # 1,500 THB × 4.35, no minor unit
    assert p["line_items[0][quantity]"] == "1"
    assert booking.reference in p["line_items[0][price_data][product_data][name]"]
    assert p["client_reference_id"] == booking.reference
    assert p["metadata[booking_id]"] == str(booking_id)
    assert p["payment_intent_data[metadata][booking_id]"] == str(booking_id)
    assert p["customer_email"] == demo["patient"]
    expires = datetime.fromtimestamp(int(p["expires_at"]), tz=before.tzinfo)
    assert timedelta(minutes=30) < expires - before < timedelta(hours=24)
    assert abs(expires - booking.hold_expires_at) < timedelta(seconds=1)  # the hold follows it
    assert p["success_url"].endswith(
        f"/bookings/{booking_id}/paid?session_id={{CHECKOUT_SESSION_ID}}")
    assert "payment_method_types[0]" not in p
    assert session_id.startswith("cs_")


def test_refund_request_carries_a_stripe_reason_metadata_and_a_stable_key(app, demo, as_role,
                                                                          recorded, stripe_live):
    booking_id = held(app, days_ahead=3)
    patient = as_role("patient")
    pay_at_standin(stripe_live,
                   session_id_of(start_checkout(patient, booking_id)))
    post_form(patient, f"/bookings/{booking_id}/cancel", {"reason": "sick"})
    [refund] = [r for r in recorded.sent if r["path"] == "/v1/refunds"]
    p = refund["params"]
    assert p["payment_intent"].startswith("pi_")
    assert p["amount"] == "75000"
    assert p["reason"] == "requested_by_customer"  # our words go in metadata
    assert "policy" in p["metadata[note]"] and p["metadata[ledger_entry]"].isdigit()
    assert refund["headers"]["Idempotency-Key"].startswith(f"refund:{booking_id}:cancel:")

