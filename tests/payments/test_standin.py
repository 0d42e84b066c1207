"""The local Stripe stand-in, driven by the real `stripe` client over HTTP: Checkout Sessions,
idempotency, the hosted page, refunds, and signed webhooks caught by a tiny receiver."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import stripe
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from stripe_standin import StandIn, serve
from stripe_standin.wire import parse_params

SECRET = "whsec_test_standin"


class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps every (body, Stripe-Signature) it gets."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.on_call: Callable[[str], None] | None = None
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/webhook"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @Request.application
    def _wsgi(self, request: Request) -> Response:
        self.calls.append((request.get_data(as_text=True),
                           request.headers.get("Stripe-Signature", "")))
        if self.on_call is not None:
            self.on_call(request.get_data(as_text=True))
        return Response("ok")

    def events(self) -> list[Any]:
        return [stripe.Webhook.construct_event(body, sig, SECRET) for body, sig in self.calls]

    def types(self) -> list[str]:
        return [json.loads(body)["type"] for body, _ in self.calls]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    yield rec
    rec.stop()


@pytest.fixture
def standin(receiver: Receiver) -> Iterator[StandIn]:
    with serve(webhook_url=receiver.url, webhook_secret=SECRET) as running:
        yield running


@pytest.fixture
def client(standin: StandIn) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_standin", base_addresses={"api": standin.url},
                               max_network_retries=0)


def session_params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [{"price_data": {"currency": "thb", "unit_amount": 150000,
                                       "product_data": {"name": "Consultation deposit"}},
                        "quantity": 1}],
        "success_url": "http://127.0.0.1:5000/paid?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "http://127.0.0.1:5000/booking/7",
        "client_reference_id": "7",
        "customer_email": "alex@example.com",
        "metadata": {"booking_id": "7"},
        "payment_intent_data": {"metadata": {"booking_id": "7"}},
    }
    params.update(overrides)
    return params


def http(method: str, url: str, data: dict[str, str] | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    """One request without following redirects: (status, headers, body)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, dict(exc.headers), exc.read().decode()


def paid(client: stripe.StripeClient, standin: StandIn, **overrides: Any) -> Any:
    session = client.v1.checkout.sessions.create(params=session_params(**overrides))
    status, _, _ = http("POST", f"{standin.url}/_standin/checkout/sessions/{session.id}/pay", {})
    assert status == 200
    return client.v1.checkout.sessions.retrieve(session.id)


def test_bracket_keys_parse_into_dicts_and_lists() -> None:
    parsed = parse_params([("line_items[0][price_data][currency]", "thb"),
                           ("line_items[0][quantity]", "1"), ("metadata[booking_id]", "7"),
                           ("expand[0]", "payment_intent"), ("mode", "payment")])
    assert parsed == {"line_items": [{"price_data": {"currency": "thb"}, "quantity": "1"}],
                      "metadata": {"booking_id": "7"}, "expand": ["payment_intent"],
                      "mode": "payment"}


def test_session_is_created_and_retrieved(client: stripe.StripeClient,
                                          standin: StandIn) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    assert session.id.startswith("cs_test_")
    assert session.url == f"{standin.url}/pay/{session.id}"
    assert (session.status, session.payment_status) == ("open", "unpaid")
    assert (session.amount_total, session.currency) == (150000, "thb")
    assert session.expires_at == session.created + 86400
    assert session.metadata["booking_id"] == "7"
    assert session.payment_intent is None
    again = client.v1.checkout.sessions.retrieve(session.id)
    assert (again.id, again.customer_email, again.client_reference_id) == (
        session.id, "alex@example.com", "7")
    sent = standin.requests()[0]
    assert sent["params"]["line_items[0][price_data][currency]"] == "thb"
    assert sent["params"]["metadata[booking_id]"] == "7"
    assert sent["idempotency_key"]


def test_unknown_session_is_resource_missing(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.retrieve("cs_test_nope")
    assert (caught.value.http_status, caught.value.code) == (404, "resource_missing")


def test_a_secret_key_is_required(standin: StandIn) -> None:
    status, _, body = http("GET", f"{standin.url}/v1/checkout/sessions/cs_test_x")
    assert status == 401
    assert json.loads(body)["error"]["type"] == "invalid_request_error"
    live = stripe.StripeClient("sk_live_nope", base_addresses={"api": standin.url},
                               max_network_retries=0)
    with pytest.raises(stripe.AuthenticationError):
        live.v1.checkout.sessions.retrieve("cs_test_x")


def test_same_idempotency_key_replays_the_same_session(client: stripe.StripeClient) -> None:
    options: Any = {"idempotency_key": "booking-7-deposit"}
    first = client.v1.checkout.sessions.create(params=session_params(), options=options)
    second = client.v1.checkout.sessions.create(params=session_params(), options=options)
    assert second.id == first.id
    assert second.last_response.headers.get("Idempotent-Replayed") == "true"


def test_same_key_with_other_params_is_an_idempotency_error(
        client: stripe.StripeClient) -> None:
    options: Any = {"idempotency_key": "booking-8-deposit"}
    client.v1.checkout.sessions.create(params=session_params(), options=options)
    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(params=session_params(client_reference_id="8"),
                                           options=options)


def test_expires_at_must_be_30_minutes_to_24_hours_out(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(
            params=session_params(expires_at=int(time.time()) + 600))
    assert caught.value.param == "expires_at"
    assert "between 30 minutes and 24 hours" in caught.value.user_message
    ok = client.v1.checkout.sessions.create(
        params=session_params(expires_at=int(time.time()) + 3600))
    assert ok.expires_at >= ok.created + 1800


def test_paying_delivers_a_signed_completed_event(client: stripe.StripeClient,
                                                  standin: StandIn,
                                                  receiver: Receiver) -> None:
    session = paid(client, standin)
    assert (session.status, session.payment_status) == ("complete", "paid")
    (event,) = receiver.events()  # construct_event verified the signature
    assert event.type == "checkout.session.completed"
    assert event.data.object.id == session.id
    assert event.data.object.payment_intent == session.payment_intent
    assert event.data.object.metadata["booking_id"] == "7"
    intent = client.v1.payment_intents.retrieve(session.payment_intent)
    assert (intent.status, intent.amount_received, intent.metadata["booking_id"]) == (
        "succeeded", 150000, "7")
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert (charge.paid, charge.amount_refunded, charge.payment_intent) == (True, 0, intent.id)
    (record,) = standin.events()
    assert record["status"] == 200 and record["event"]["id"] == event.id


def test_a_webhook_handler_can_call_the_standin_back(client: stripe.StripeClient,
                                                    standin: StandIn,
                                                    receiver: Receiver) -> None:
    seen: list[str] = []
    receiver.on_call = lambda body: seen.append(client.v1.checkout.sessions.retrieve(
        json.loads(body)["data"]["object"]["id"]).status)
    paid(client, standin)
    assert seen == ["complete"]


def test_resend_delivers_the_same_event_signed_again(client: stripe.StripeClient,
                                                     standin: StandIn,
                                                     receiver: Receiver) -> None:
    paid(client, standin)
    (first,) = receiver.events()
    status, _, _ = http("POST", f"{standin.url}/_standin/events/{first.id}/resend", {})
    assert status == 200
    assert [e.id for e in receiver.events()] == [first.id, first.id]
    assert standin.events()[0]["attempts"] == 2


def test_a_dead_webhook_is_recorded_not_raised(client: stripe.StripeClient,
                                               standin: StandIn) -> None:
    standin.configure(webhook_url="http://127.0.0.1:9/nowhere")
    session = paid(client, standin)
    assert session.status == "complete"
    (record,) = standin.events()
    assert record["status"] is None and record["error"]


def test_hosted_page_shows_the_amount_and_declines_the_decline_card(
        client: stripe.StripeClient, receiver: Receiver) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    status, _, page = http("GET", session.url)
    assert status == 200
    assert "Pay deposit — test checkout" in page and "THB 1,500.00" in page
    assert 'id="pay"' in page and 'value="alex@example.com"' in page
    status, _, page = http("POST", session.url, {"email": "alex@example.com",
                                                 "cardNumber": "4000 0000 0000 0002",
                                                 "cardExpiry": "12 / 34", "cardCvc": "123",
                                                 "billingName": "Alex Rivera"})
    assert status == 402 and "Your card was declined." in page
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    status, _, page = http("POST", session.url, {"cardNumber": "1234"})
    assert status == 400 and "Your card number is incorrect." in page
    assert receiver.calls == []


def test_hosted_page_pays_then_redirects_after_the_webhook(client: stripe.StripeClient,
                                                           receiver: Receiver) -> None:
    item = {"price_data": {"currency": "jpy", "unit_amount": 1500,
                           "product_data": {"name": "Deposit"}}}
    session = client.v1.checkout.sessions.create(params=session_params(line_items=[item]))
    assert "Pay JPY 1,500</button>" in http("GET", session.url)[2]
    status, headers, _ = http("POST", session.url, {"email": "alex@example.com",
                                                    "cardNumber": "4242 4242 4242 4242"})
    assert status == 303
    assert headers["Location"] == f"http://127.0.0.1:5000/paid?session={session.id}"
    assert receiver.types() == ["checkout.session.completed"]  # before the redirect
    status, _, page = http("GET", session.url)
    assert "already paid" in page


def test_refund_over_the_remaining_amount_is_refused(client: stripe.StripeClient,
                                                     standin: StandIn) -> None:
    session = paid(client, standin)
    client.v1.refunds.create(params={"payment_intent": session.payment_intent,
                                     "amount": 100000})
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": session.payment_intent,
                                         "amount": 60000})
    assert caught.value.code == "amount_too_large"
    assert "greater than unrefunded amount on charge (THB 500.00)" in caught.value.user_message


def test_a_free_text_reason_is_refused(client: stripe.StripeClient, standin: StandIn) -> None:
    session = paid(client, standin)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": session.payment_intent,
                                         "reason": "clinic cancelled"})
    assert caught.value.param == "reason"


def test_full_refund_then_another_is_already_refunded(client: stripe.StripeClient,
                                                      standin: StandIn,
                                                      receiver: Receiver) -> None:
    session = paid(client, standin)
    refund = client.v1.refunds.create(params={"payment_intent": session.payment_intent,
                                              "reason": "requested_by_customer",
                                              "metadata": {"booking_id": "7"}})
    assert (refund.status, refund.amount, refund.metadata["booking_id"]) == (
        "succeeded", 150000, "7")
    charge = client.v1.charges.retrieve(refund.charge)
    assert (charge.amount_refunded, charge.refunded) == (150000, True)
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": session.payment_intent})
    assert caught.value.code == "charge_already_refunded"
    assert standin.flush()
    assert receiver.types() == ["checkout.session.completed", "refund.created",
                                "charge.refunded"]


def test_fail_next_refund_sends_refund_updated_failed(client: stripe.StripeClient,
                                                      standin: StandIn,
                                                      receiver: Receiver) -> None:
    session = paid(client, standin)
    status, _, _ = http("POST", f"{standin.url}/_standin/refunds/fail_next", {})
    assert status == 200
    refund = client.v1.refunds.create(params={"payment_intent": session.payment_intent})
    assert refund.status == "pending"
    assert standin.flush()
    events = receiver.events()
    assert [e.type for e in events][1:] == ["refund.created", "refund.updated"]
    assert events[2].data.object.status == "failed"
    assert events[2].data.object.failure_reason == "expired_or_canceled_card"
    assert client.v1.refunds.retrieve(refund.id).status == "failed"
    assert client.v1.charges.retrieve(refund.charge).amount_refunded == 0


def test_expire_sends_checkout_session_expired(client: stripe.StripeClient, standin: StandIn,
                                               receiver: Receiver) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    expired = client.v1.checkout.sessions.expire(session.id)
    assert expired.status == "expired"
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.expire(session.id)
    assert 'status in ["open"]' in caught.value.user_message
    assert standin.flush()
    (event,) = receiver.events()
    assert (event.type, event.data.object.id) == ("checkout.session.expired", session.id)


def test_a_session_past_expires_at_reads_as_expired_once(client: stripe.StripeClient,
                                                         standin: StandIn) -> None:
    session = client.v1.checkout.sessions.create(params=session_params())
    standin.advance_clock(86400)
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    assert client.v1.checkout.sessions.retrieve(session.id).status == "expired"
    assert standin.flush()
    assert [e["type"] for e in standin.events()] == ["checkout.session.expired"]
