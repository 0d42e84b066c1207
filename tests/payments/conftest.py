"""The Stripe stand-in (a real HTTP server on 127.0.0.1) wired to the app under test."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator

import pytest

from stripe_standin import StandIn

SECRET = "whsec_test_spinebridge"
KEY = "sk_test_spinebridge"


def _use(app, standin: StandIn) -> dict:
    saved = {k: app.config.get(k) for k in
             ("STRIPE_SECRET_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET")}
    app.config.update(STRIPE_SECRET_KEY=KEY, STRIPE_API_BASE=standin.url,
                      STRIPE_WEBHOOK_SECRET=SECRET)
    return saved


@pytest.fixture()
def stripe_quiet(app, standin_server) -> Iterator[StandIn]:
    """The app talks to the stand-in, which delivers no webhooks: the tests sign their own."""
    standin_server.reset()
    standin_server.configure(webhook_url=None, webhook_secret=SECRET)
    saved = _use(app, standin_server)
    yield standin_server
    app.config.update(saved)


@pytest.fixture()
def stripe_live(app, live_server, standin_server) -> Iterator[StandIn]:
    """The stand-in delivers signed webhooks to the app served on 127.0.0.1."""
    standin_server.reset()
    standin_server.configure(webhook_url=f"{live_server}/stripe/webhook", webhook_secret=SECRET)
    saved = _use(app, standin_server)
    yield standin_server
    standin_server.flush()  # nothing may arrive after this test's rows are deleted
    standin_server.configure(webhook_url=None)
    app.config.update(saved)


def signed(event: dict, *, secret: str = SECRET, at: int | None = None) -> tuple[bytes, str]:
    """The body and Stripe-Signature header Stripe would send for `event`."""
    body = json.dumps(event).encode()
    stamp = int(at if at is not None else time.time())
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={stamp},v1={mac}"


def deliver(client, event: dict, **kwargs):
    body, signature = signed(event, **kwargs)
    return client.post("/stripe/webhook", data=body, content_type="application/json",
                       headers={"Stripe-Signature": signature})
