"""Stripe webhook events and the reconciliation sweep.

Stripe delivers at least once and in any order. Each event id is stored (unique) in the same
transaction as what it caused, so a repeat finds it and changes nothing; the objects only move
forward (a paid checkout never becomes expired, a failed refund never succeeds again), so a
stale event is a no-op. Every handler locks the booking first."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from booking.core import audit
from booking.core.ids import id_value
from booking.core.locks import sqlite_write_lock
from booking.core.types import utcnow
from booking.extensions import db
from booking.payments import gateway
from booking.payments.models import (
    CheckoutAttempt,
    CheckoutState,
    EntryKind,
    EntryStatus,
    LedgerEntry,
    RefundCause,
    StripeEvent,
)
from booking.payments.services import record_payment, set_refund_status
from booking.scheduling import lifecycle
from booking.scheduling.models import Booking

log = logging.getLogger(__name__)


class Retry(Exception):
    """The event cannot be applied yet (answer non-2xx so Stripe delivers it again)."""


def handle(event: dict) -> str:
    """Apply one verified event once; returns what was done ("duplicate" for a repeat)."""
    sqlite_write_lock()
    row = StripeEvent(id=str(event.get("id", ""))[:255], type=str(event.get("type", ""))[:100])
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return "duplicate"
    obj = (event.get("data") or {}).get("object") or {}
    handler = HANDLERS.get(row.type)
    booking_id, outcome = handler(obj) if handler else (None, "ignored")
    row.booking_id = booking_id
    row.outcome = outcome
    return outcome


def _booking_for_session(obj: dict) -> tuple[Booking | None, CheckoutAttempt | None]:
    attempt = db.session.scalar(select(CheckoutAttempt).where(
        CheckoutAttempt.session_id == str(obj.get("id", ""))))
    booking_id = attempt.booking_id if attempt else id_value(
        (obj.get("metadata") or {}).get("booking_id"))
    booking = db.session.get(Booking, booking_id) if booking_id else None
    if booking is not None:
        lifecycle.lock(booking)
    return booking, attempt


def _adopt(booking: Booking, obj: dict) -> CheckoutAttempt:
    """A paid session we have no row for (its creating request did not commit): keep it."""
    number = (db.session.scalar(select(func.max(CheckoutAttempt.attempt)).where(
        CheckoutAttempt.booking_id == booking.id)) or 0) + 1
    amount = int(obj.get("amount_total") or 0)
    attempt = CheckoutAttempt(
        booking_id=booking.id, attempt=number, session_id=str(obj["id"]),
        url=str(obj.get("url") or ""), state=CheckoutState.EXPIRED, amount_minor=amount,
        currency=str(obj.get("currency", "")).upper(), base_amount_minor=amount,
        base_currency=str(obj.get("currency", "")).upper(),
        expires_at=datetime.fromtimestamp(int(obj.get("expires_at") or 0), tz=utcnow().tzinfo))
    db.session.add(attempt)
    db.session.flush()
    return attempt


def _paid(obj: dict) -> tuple[int | None, str]:
    booking, attempt = _booking_for_session(obj)
    if booking is None:
        return None, "unknown_session"
    if obj.get("payment_status") != "paid":
        return booking.id, "awaiting_payment"  # e.g. a bank debit still on its way
    if attempt is None:
        attempt = _adopt(booking, obj)
    intent = obj.get("payment_intent")
    intent = intent.get("id") if isinstance(intent, dict) else intent
    return booking.id, record_payment(booking, attempt, intent, int(obj["amount_total"]),
                                      str(obj["currency"]))


def _closed(state: CheckoutState) -> Callable[[dict], tuple[int | None, str]]:
    def handler(obj: dict) -> tuple[int | None, str]:
        booking, attempt = _booking_for_session(obj)
        if booking is None or attempt is None:
            return (booking.id if booking else None), "unknown_session"
        if attempt.state != CheckoutState.OPEN:
            return booking.id, "stale"
        attempt.state = state
        attempt.finished_at = utcnow()
        if state == CheckoutState.FAILED:
            audit.record(None, "payment.failed", booking, after={"session": attempt.session_id})
        return booking.id, state.value
    return handler


def _refund_event(obj: dict) -> tuple[int | None, str]:
    intent = obj.get("payment_intent")
    intent = intent.get("id") if isinstance(intent, dict) else intent
    charge = db.session.scalar(select(LedgerEntry).where(
        LedgerEntry.kind == EntryKind.CHARGE, LedgerEntry.payment_intent_id == intent))
    if charge is None:
        return None, "unknown_payment"
    booking = db.session.get(Booking, charge.booking_id)
    lifecycle.lock(booking)  # waits for a refund being made right now to commit
    entry = db.session.scalar(select(LedgerEntry).where(
        LedgerEntry.refund_id == str(obj.get("id", ""))))
    if entry is None:
        mine = id_value((obj.get("metadata") or {}).get("ledger_entry"))
        entry = db.session.get(LedgerEntry, mine) if mine else None
        if entry is not None and entry.refund_id is None and entry.booking_id == booking.id:
            entry.refund_id = str(obj["id"])
        else:  # refunded outside the app (Stripe's dashboard): the ledger learns of it
            entry = LedgerEntry(booking_id=booking.id, checkout_id=charge.checkout_id,
                                kind=EntryKind.REFUND, status=EntryStatus.PENDING,
                                amount_minor=int(obj.get("amount") or 0),
                                currency=charge.currency, payment_intent_id=intent,
                                refund_id=str(obj["id"]), cause=RefundCause.STRIPE,
                                reason="refunded at Stripe")
            db.session.add(entry)
            db.session.flush()
    changed = set_refund_status(entry, booking, str(obj.get("status", "")),
                                str(obj.get("failure_reason") or ""))
    return booking.id, "applied" if changed else "stale"


def _charge_refunded(obj: dict) -> tuple[int | None, str]:
    """The charge's own view: its refunds arrive as refund events; this checks the sum."""
    charge = db.session.scalar(select(LedgerEntry).where(
        LedgerEntry.kind == EntryKind.CHARGE,
        LedgerEntry.payment_intent_id == obj.get("payment_intent")))
    if charge is None:
        return None, "unknown_payment"
    ours = db.session.scalar(select(func.coalesce(func.sum(LedgerEntry.amount_minor), 0)).where(
        LedgerEntry.kind == EntryKind.REFUND, LedgerEntry.status != EntryStatus.FAILED,
        LedgerEntry.payment_intent_id == charge.payment_intent_id))
    if int(obj.get("amount_refunded") or 0) != ours:
        log.warning("charge %s: Stripe shows %s refunded, the ledger %s", obj.get("id"),
                    obj.get("amount_refunded"), ours)
        return charge.booking_id, "differs"
    return charge.booking_id, "agrees"


HANDLERS: dict[str, Callable[[dict], tuple[int | None, str]]] = {
    "checkout.session.completed": _paid,
    "checkout.session.async_payment_succeeded": _paid,
    "checkout.session.async_payment_failed": _closed(CheckoutState.FAILED),
    "checkout.session.expired": _closed(CheckoutState.EXPIRED),
    "refund.created": _refund_event,
    "refund.updated": _refund_event,
    "refund.failed": _refund_event,
    "charge.refunded": _charge_refunded,
}


def reconcile(now: datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Ask Stripe about what its webhooks should have told us: sessions still open past their
    expiry (paid, or not), and refunds still pending after ten minutes."""
    now = now or utcnow()
    done = {"sessions": 0, "refunds": 0}
    stale = db.session.scalars(select(CheckoutAttempt).where(
        CheckoutAttempt.state == CheckoutState.OPEN,
        CheckoutAttempt.expires_at < now - timedelta(minutes=2)).limit(limit)).all()
    for attempt in stale:
        try:
            session = gateway.retrieve_checkout_session(attempt.session_id)
        except gateway.GatewayError:
            continue
        booking = db.session.get(Booking, attempt.booking_id)
        lifecycle.lock(booking)
        db.session.refresh(attempt)
        if attempt.state != CheckoutState.OPEN:
            continue
        if session.status == "complete" and session.payment_status == "paid":
            record_payment(booking, attempt, session.payment_intent, session.amount_total,
                           session.currency, now=now)
        elif session.status == "expired":
            attempt.state = CheckoutState.EXPIRED
            attempt.finished_at = now
        done["sessions"] += 1
    pending = db.session.scalars(select(LedgerEntry).where(
        LedgerEntry.kind == EntryKind.REFUND, LedgerEntry.status == EntryStatus.PENDING,
        LedgerEntry.refund_id.is_not(None),
        LedgerEntry.updated_at < now - timedelta(minutes=10)).limit(limit)).all()
    for entry in pending:
        try:
            refund = gateway.retrieve_refund(entry.refund_id)
        except gateway.GatewayError:
            continue
        booking = db.session.get(Booking, entry.booking_id)
        lifecycle.lock(booking)
        if set_refund_status(entry, booking, refund.status, refund.failure_reason):
            done["refunds"] += 1
    return done
