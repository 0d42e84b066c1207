"""The one module that talks to Stripe (stripe 16's StripeClient; its objects are not dicts).

`STRIPE_API_BASE` points the client at a local stand-in (tests, `make run`); unset, it talks to
Stripe itself. Every call that creates something carries an idempotency key, so a retry after
a timeout never charges or refunds twice. Errors come back as `GatewayError` with Stripe's
code, so services never see a stripe class."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import stripe
from flask import current_app

log = logging.getLogger(__name__)

#: Refund reasons Stripe accepts; anything else goes in metadata.
REASON = "requested_by_customer"


class GatewayError(Exception):
    """Stripe refused or could not be reached. `code` is Stripe's (e.g. amount_too_large), or
    "unreachable"."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class BadSignature(Exception):
    """A webhook whose signature does not verify (or is too old)."""


@dataclass(frozen=True)
class Session:
    id: str
    url: str
    status: str
    payment_status: str
    amount_total: int
    currency: str
    expires_at: int
    payment_intent: str | None
    metadata: dict


@dataclass(frozen=True)
class Refund:
    id: str
    amount: int
    currency: str
    status: str
    failure_reason: str


def configured() -> bool:
    return bool(current_app.config.get("STRIPE_SECRET_KEY"))


def _client() -> stripe.StripeClient:
    key = current_app.config.get("STRIPE_SECRET_KEY")
    if not key:
        raise GatewayError("Online payment is not configured.", "not_configured")
    base = current_app.config.get("STRIPE_API_BASE")
    options: dict[str, Any] = {"max_network_retries": 2}
    if base:
        options["base_addresses"] = {"api": base.rstrip("/")}
    http_client = current_app.extensions.get("stripe_http_client")
    if http_client is not None:  # tests record the exact requests
        options["http_client"] = http_client
    return stripe.StripeClient(key, **options)


def _session(obj: Any) -> Session:
    data = obj.to_dict()
    return Session(id=data["id"], url=data.get("url") or "", status=data["status"],
                   payment_status=data.get("payment_status") or "unpaid",
                   amount_total=int(data.get("amount_total") or 0),
                   currency=(data.get("currency") or "").upper(),
                   expires_at=int(data.get("expires_at") or 0),
                   payment_intent=_id(data.get("payment_intent")),
                   metadata=dict(data.get("metadata") or {}))


def _id(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("id")
    return value or None


def _refund(obj: Any) -> Refund:
    data = obj.to_dict()
    return Refund(id=data["id"], amount=int(data["amount"]),
                  currency=(data.get("currency") or "").upper(), status=data["status"],
                  failure_reason=data.get("failure_reason") or "")


def _call(action, *args, **kwargs):  # type: ignore[no-untyped-def]
    try:
        return action(*args, **kwargs)
    except stripe.StripeError as exc:
        error = getattr(exc, "error", None)
        code = getattr(error, "code", None) or getattr(exc, "code", None) or ""
        if isinstance(exc, stripe.APIConnectionError):
            code = "unreachable"
        log.warning("stripe refused: %s (%s)", exc.user_message or exc, code)
        raise GatewayError(str(exc.user_message or exc), code) from exc


def create_checkout_session(*, idempotency_key: str, amount_minor: int, currency: str,
                            name: str, reference: str, booking_id: int, email: str,
                            expires_at: datetime, success_url: str, cancel_url: str,
                            locale: str = "auto") -> Session:
    """A hosted Checkout Session for one deposit (mode payment, one price_data line)."""
    metadata = {"booking_id": str(booking_id), "reference": reference}
    params = {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {
            "currency": currency.lower(), "unit_amount": amount_minor,
            "product_data": {"name": name}}}],
        "client_reference_id": reference,
        "customer_email": email,
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "expires_at": int(expires_at.timestamp()),
        "success_url": success_url,
        "cancel_url": cancel_url,
        "locale": locale,
    }
    created = _call(_client().v1.checkout.sessions.create, params=params,
                    options={"idempotency_key": idempotency_key})
    return _session(created)


def retrieve_checkout_session(session_id: str) -> Session:
    return _session(_call(_client().v1.checkout.sessions.retrieve, session_id))


def expire_checkout_session(session_id: str) -> Session:
    """Close an open session (before its hold frees the slot); an already closed one is
    read back instead."""
    try:
        return _session(_call(_client().v1.checkout.sessions.expire, session_id))
    except GatewayError:
        return retrieve_checkout_session(session_id)


def create_refund(*, idempotency_key: str, payment_intent: str, amount_minor: int,
                  note: str, entry_id: int) -> Refund:
    """Give back `amount_minor` of a payment; our reason goes in metadata (Stripe takes only
    its own three reasons)."""
    params = {"payment_intent": payment_intent, "amount": amount_minor, "reason": REASON,
              "metadata": {"ledger_entry": str(entry_id), "note": note[:450]}}
    return _refund(_call(_client().v1.refunds.create, params=params,
                         options={"idempotency_key": idempotency_key}))


def verify_event(payload: bytes, signature: str | None) -> dict:
    """The event in a webhook, after its signature and timestamp are checked."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret or not signature:
        raise BadSignature("missing signature or secret")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise BadSignature(str(exc)) from exc
    return event.to_dict()


def retrieve_refund(refund_id: str) -> Refund:
    return _refund(_call(_client().v1.refunds.retrieve, refund_id))
