"""Deposit use cases: what a booking owes and has paid, Checkout, refunds.

The ledger is the one source of a booking's payment status. Every change here runs under the
booking's row lock (lifecycle.lock), so a double click, a webhook and a coordinator acting at
once are applied one after another, each seeing what the one before did."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from booking.accounts.models import User
from booking.catalogue.services import exchange_rates
from booking.core import audit
from booking.core.errors import Conflict, DomainError, Unprocessable
from booking.core.money import Money
from booking.core.types import utcnow
from booking.extensions import db
from booking.payments import gateway, messages
from booking.payments import policy as refund_policy
from booking.payments.ledger import Summary, summarise
from booking.payments.models import (
    CheckoutAttempt,
    CheckoutState,
    EntryKind,
    EntryStatus,
    LedgerEntry,
    RefundCause,
)
from booking.scheduling import lifecycle
from booking.scheduling.models import (
    CANCELLED_BY_CLINIC,
    CANCELLED_BY_PATIENT,
    CONFIRMED,
    EXPIRED,
    HELD,
    Booking,
)
from booking.scheduling.permissions import BookingAction, require
from booking.scheduling.services import MISSING_LABELS, missing_for_confirmation, still_free

log = logging.getLogger(__name__)

#: Currencies a deposit can be paid in (THB itself, or converted with the admin's rates).
PAY_CURRENCIES = ("THB", "USD", "EUR", "GBP", "AUD", "SGD", "JPY", "CNY")
#: Stripe takes a Checkout Session's expiry 30 minutes to 24 hours after its creation.
SESSION_MIN = timedelta(minutes=31)  # a minute's margin for the clocks
SESSION_MAX = timedelta(hours=23, minutes=59)
MAX_REFUND_REASON = 500
#: Sessions one hold may open (each may keep the hold 30 minutes longer): switching currency
#: again and again must not keep a time forever.
MAX_CHECKOUTS = 5


class PaymentUnavailable(DomainError):
    code = "payment_unavailable"
    status = 503


class NothingToRefund(Conflict):
    code = "nothing_to_refund"


# What it costs -------------------------------------------------------------------------------

def pay_currencies() -> list[str]:
    """THB and every payable currency the admin keeps a rate for."""
    rates = exchange_rates()
    base = current_app.config["BASE_CURRENCY"]
    return [c for c in PAY_CURRENCIES if c == base or c in rates]


def quote(booking: Booking, currency: str) -> tuple[Money, Decimal]:
    """The deposit in `currency`, converted with the admin's rate and rounded to its minor
    unit (JPY has none), with the rate used."""
    deposit = Money(booking.deposit_minor, booking.currency)
    if currency == booking.currency:
        return deposit, Decimal(1)
    if currency not in PAY_CURRENCIES:
        raise Unprocessable(_l("The deposit cannot be paid in %(code)s. Choose one of the "
                               "currencies listed.", code=currency[:3]), code="invalid_currency")
    rate = exchange_rates().get(currency)
    if rate is None or booking.currency != current_app.config["BASE_CURRENCY"]:
        raise Unprocessable(_l("The deposit cannot be paid in %(code)s just now. Choose "
                               "another currency.", code=currency), code="invalid_currency")
    return deposit.convert(currency, rate), rate


def default_currency(patient: User) -> str:
    """The patient's own currency when it can be paid in, else THB."""
    choices = pay_currencies()
    return patient.currency if patient.currency in choices else choices[0]


# Checkout ------------------------------------------------------------------------------------

def open_attempt(booking: Booking) -> CheckoutAttempt | None:
    return db.session.scalar(select(CheckoutAttempt).where(
        CheckoutAttempt.booking_id == booking.id, CheckoutAttempt.state == CheckoutState.OPEN))


def _missing_message(missing: list[str]) -> str:
    return _l("Before paying, please finish: %(missing)s.",
              missing=", ".join(str(MISSING_LABELS[m]) for m in missing))


def start_checkout(actor: User, booking: Booking, currency: str, *,
                   now: datetime | None = None) -> CheckoutAttempt:
    """A Stripe Checkout Session for the deposit (the open one again while it lasts). The hold
    follows the session: Stripe needs it to stay open at least 30 minutes."""
    now = now or utcnow()
    require(actor, BookingAction.PAY, booking)
    lifecycle.lock(booking)
    if booking.state != HELD or booking.hold_expires_at is None or booking.hold_expires_at <= now:
        refused = lifecycle.refusal(booking, CONFIRMED)
        if booking.state == HELD:  # lapsed, and the sweep has not run yet
            raise Conflict(_l("This hold has ended. Choose a new time to book again."),
                           code="hold_ended")
        raise refused or Conflict(_l("This booking is already confirmed."), code="already_done")
    missing = missing_for_confirmation(booking)
    if missing:
        raise Unprocessable(_missing_message(missing), code="checkout_incomplete")
    amount, rate = quote(booking, currency)
    current = open_attempt(booking)
    if current is not None and current.currency == currency \
            and current.expires_at > now + timedelta(minutes=2):
        return current
    number = (db.session.scalar(select(func.max(CheckoutAttempt.attempt)).where(
        CheckoutAttempt.booking_id == booking.id)) or 0) + 1
    if number > MAX_CHECKOUTS:
        raise Conflict(_l("This hold has had %(count)s payment attempts, the most we allow. "
                          "Choose a new time, or write to the clinic at %(email)s.",
                          count=MAX_CHECKOUTS, email=booking.clinic.email),
                       code="too_many_checkouts")
    if current is not None:  # another currency asked for, or about to lapse: close it first
        session = _close(current, now)
        if session is None:
            raise PaymentUnavailable(_l("The payment service did not answer. Your time stays "
                                        "held; please try again in a minute."))
        if current.state == CheckoutState.OPEN:  # Stripe says it was paid, or is being paid
            if session.payment_status == "paid":
                record_payment(booking, current, session.payment_intent, session.amount_total,
                               session.currency, now=now)
            return current  # the caller sends the patient to what happened, not to pay again
    expires_at = min(max(booking.hold_expires_at, now + SESSION_MIN), now + SESSION_MAX)
    base = current_app.config["BASE_URL"].rstrip("/")
    try:
        session = gateway.create_checkout_session(
            idempotency_key=f"checkout:{booking.id}:{number}", amount_minor=amount.amount_minor,
            currency=currency, name=f"{booking.consultation_type.name} — deposit "
                                     f"({booking.reference})",
            reference=booking.reference, booking_id=booking.id, email=booking.patient.email,
            expires_at=expires_at,
            success_url=f"{base}/bookings/{booking.id}/paid?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{base}/bookings/{booking.id}?checkout=cancelled",
            locale=booking.patient.language if booking.patient.language in ("en", "th")
            else "auto")
    except gateway.GatewayError as exc:
        raise PaymentUnavailable(_l("The payment service did not answer. Your time stays "
                                    "held; please try again in a minute.")) from exc
    attempt = CheckoutAttempt(
        booking_id=booking.id, attempt=number, session_id=session.id, url=session.url,
        state=CheckoutState.OPEN, amount_minor=amount.amount_minor, currency=currency,
        base_amount_minor=booking.deposit_minor, base_currency=booking.currency, rate=str(rate),
        expires_at=datetime.fromtimestamp(session.expires_at, tz=now.tzinfo) if
        session.expires_at else expires_at)
    db.session.add(attempt)
    if booking.hold_expires_at != attempt.expires_at:
        before = {"hold_expires_at": booking.hold_expires_at.isoformat()}
        booking.hold_expires_at = attempt.expires_at
        audit.record(actor, "booking.hold_extended", booking, before=before,
                     after={"hold_expires_at": attempt.expires_at.isoformat(),
                            "reason": "checkout"})
    db.session.flush()
    audit.record(actor, "payment.checkout_started", booking,
                 after={"session": session.id, "amount_minor": amount.amount_minor,
                        "currency": currency, "attempt": number})
    return attempt


def _close(attempt: CheckoutAttempt, now: datetime) -> gateway.Session | None:
    """Expire an open session at Stripe; what Stripe says it is now (None if unreachable)."""
    try:
        session = gateway.expire_checkout_session(attempt.session_id)
    except gateway.GatewayError:
        return None
    if session.status == "expired":
        attempt.state = CheckoutState.EXPIRED
        attempt.finished_at = now
        db.session.flush()
    return session


def on_hold_ending(booking: Booking, now: datetime) -> bool:
    """Before the sweep frees a lapsed hold: close its open session at Stripe. Keeps the hold
    (True) when the session was paid after all (the booking is confirmed here), or when Stripe
    cannot be asked and the hold lapsed only minutes ago."""
    attempt = open_attempt(booking)
    if attempt is None:
        return False
    session = _close(attempt, now)
    if session is None:
        return now - booking.hold_expires_at < timedelta(minutes=15)
    if session.status == "complete" and session.payment_status == "paid":
        record_payment(booking, attempt, session.payment_intent, session.amount_total,
                       session.currency, now=now)
        return True
    return False


# Money arriving ------------------------------------------------------------------------------

def record_payment(booking: Booking, attempt: CheckoutAttempt, payment_intent: str | None,
                   amount_minor: int, currency: str, *, now: datetime | None = None) -> str:
    """A session was paid (from a webhook, the sweep or the reconciliation): record the charge
    once, confirm the booking, or give the money back when the time is gone."""
    now = now or utcnow()
    lifecycle.lock(booking)
    if attempt.state == CheckoutState.PAID:
        return "already_recorded"
    attempt.state = CheckoutState.PAID
    attempt.payment_intent_id = payment_intent
    attempt.finished_at = now
    charge = LedgerEntry(booking_id=booking.id, checkout_id=attempt.id, kind=EntryKind.CHARGE,
                         status=EntryStatus.SUCCEEDED, amount_minor=amount_minor,
                         currency=currency.upper(), payment_intent_id=payment_intent)
    db.session.add(charge)
    db.session.flush()
    audit.record(None, "payment.received", booking,
                 after={"amount_minor": amount_minor, "currency": currency.upper(),
                        "payment_intent": payment_intent, "session": attempt.session_id})
    others = db.session.scalar(select(func.count(LedgerEntry.id)).where(
        LedgerEntry.booking_id == booking.id, LedgerEntry.kind == EntryKind.CHARGE,
        LedgerEntry.id != charge.id))
    if booking.state == HELD:
        lifecycle.move(booking, CONFIRMED, None)
        messages.queue("deposit_received", booking, payload={"entry": charge.id})
        return "confirmed"
    if booking.state == CONFIRMED and not others:
        messages.queue("deposit_received", booking, payload={"entry": charge.id})
        return "recorded"  # confirmed by hand before the payment came through
    if booking.state == EXPIRED and not others and _revived(booking):
        messages.queue("deposit_received", booking, payload={"entry": charge.id})
        return "confirmed_late"
    # Paid twice, or for a time that is gone: everything back, and people told.
    cause = RefundCause.LATE_PAYMENT
    entry = issue_refund(None, booking, amount_minor, cause=cause, charge=charge,
                         reason="paid twice" if others else f"paid while {booking.state}",
                         key=f"auto:{charge.id}")
    messages.queue("payment_after_hold", booking, payload={"entry": entry.id})
    messages.tell_clinic("clinic_payment_needs_human", booking, {"entry": entry.id})
    return "refunded"


def _revived(booking: Booking) -> bool:
    """Give an expired booking its time back if nobody took it (the database has the last
    word on PostgreSQL: an overlap there is refused and the money goes back)."""
    if not still_free(booking):
        return False
    try:
        with db.session.begin_nested():
            lifecycle.revive(booking, None)
    except IntegrityError:
        db.session.refresh(booking)
        return False
    return True


# Refunds -------------------------------------------------------------------------------------

def issue_refund(actor: User | None, booking: Booking, amount_minor: int, *, cause: str,
                 reason: str = "", key: str, charge: LedgerEntry | None = None) -> LedgerEntry:
    """Give back part or all of a booking's deposit through Stripe (never more than is left).
    `key` makes a repeated request (double click, retried call) the same refund."""
    lifecycle.lock(booking)
    existing = db.session.scalar(select(LedgerEntry).where(
        LedgerEntry.booking_id == booking.id, LedgerEntry.kind == EntryKind.REFUND,
        LedgerEntry.request_key == key))
    if existing is not None:
        return existing
    summary = summarise(booking)
    if charge is None:
        charge = next((c for c in reversed(summary.charges)
                       if c.status == EntryStatus.SUCCEEDED), None)
    if charge is None or summary.left <= 0:
        raise NothingToRefund(_l("Nothing is left to refund on %(ref)s.", ref=booking.reference))
    if amount_minor <= 0:
        raise Unprocessable(_l("Enter an amount above zero."), code="invalid_amount")
    left_on_charge = min(summary.left, charge.amount_minor - sum(
        r.amount_minor for r in summary.refunds
        if r.payment_intent_id == charge.payment_intent_id and r.status != EntryStatus.FAILED))
    if amount_minor > left_on_charge:
        raise Conflict(_l("At most %(left)s can be refunded.",
                          left=Money(left_on_charge, charge.currency).format("en")),
                       code="refund_too_large")
    entry = LedgerEntry(booking_id=booking.id, checkout_id=charge.checkout_id,
                        kind=EntryKind.REFUND, status=EntryStatus.PENDING,
                        amount_minor=amount_minor, currency=charge.currency,
                        payment_intent_id=charge.payment_intent_id, cause=cause,
                        reason=reason[:MAX_REFUND_REASON], request_key=key,
                        actor_id=actor.id if actor else None)
    db.session.add(entry)
    db.session.flush()
    try:
        refund = gateway.create_refund(idempotency_key=f"refund:{booking.id}:{key}",
                                       payment_intent=charge.payment_intent_id or "",
                                       amount_minor=amount_minor, note=reason, entry_id=entry.id)
    except gateway.GatewayError as exc:
        if exc.code in ("amount_too_large", "charge_already_refunded"):
            raise Conflict(_l("Stripe says less is left to refund than the ledger shows: %("
                              "why)s", why=exc.message), code="refund_too_large") from exc
        entry.status = EntryStatus.FAILED
        entry.failure = exc.message[:300]
    else:
        entry.refund_id = refund.id
        set_refund_status(entry, booking, refund.status, refund.failure_reason)
    audit.record(actor, "payment.refund_requested", booking,
                 after={"amount_minor": amount_minor, "currency": entry.currency,
                        "cause": cause, "reason": reason[:200], "status": entry.status,
                        "refund": entry.refund_id})
    return entry


def set_refund_status(entry: LedgerEntry, booking: Booking, status: str,
                      failure: str = "") -> bool:
    """Apply what Stripe says of a refund, only forward (pending → succeeded | failed;
    succeeded → failed); the patient is told once it succeeded. True if it changed."""
    new = {"succeeded": EntryStatus.SUCCEEDED, "pending": EntryStatus.PENDING,
           "requires_action": EntryStatus.PENDING}.get(status, EntryStatus.FAILED)
    allowed = {EntryStatus.PENDING: {EntryStatus.SUCCEEDED, EntryStatus.FAILED},
               EntryStatus.SUCCEEDED: {EntryStatus.FAILED}, EntryStatus.FAILED: set()}
    if new == entry.status or new not in allowed[EntryStatus(entry.status)]:
        return False
    entry.status = new
    entry.failure = (failure or ("" if new != EntryStatus.FAILED else "failed"))[:300]
    db.session.flush()
    if new == EntryStatus.SUCCEEDED:
        messages.queue("refund_issued", booking, payload={"entry": entry.id})
    elif new == EntryStatus.FAILED:
        audit.record(None, "payment.refund_failed", booking,
                     after={"refund": entry.refund_id, "amount_minor": entry.amount_minor,
                            "currency": entry.currency, "failure": entry.failure})
        messages.tell_clinic("clinic_payment_needs_human", booking, {"entry": entry.id})
    return True


def refund_by_clinic(actor: User, booking: Booking, amount_minor: int, reason: str,
                     key: str) -> LedgerEntry:
    """A coordinator gives back more than the policy did (or all), with a reason."""
    require(actor, BookingAction.REFUND, booking)
    reason = reason.strip()
    if not reason:
        raise Unprocessable(_l("Say why the money is given back (the patient reads it)."),
                            code="reason_required")
    if len(reason) > MAX_REFUND_REASON:
        raise Unprocessable(_l("Please keep the reason under %(max)s characters.",
                               max=MAX_REFUND_REASON), code="reason_too_long")
    return issue_refund(actor, booking, amount_minor, cause=RefundCause.MANUAL, reason=reason,
                        key=key)


def policy_refund(booking: Booking, at: datetime | None = None, *, by_clinic: bool = False,
                  summary: Summary | None = None) -> tuple[int, int]:
    """(percent, amount in the paid currency) a cancellation now would give back: the
    clinic's policy for the patient's own, everything when the clinic cancels."""
    summary = summary or summarise(booking)
    if by_clinic:
        percent = 100
    else:
        percent = refund_policy.share(refund_policy.windows(booking.clinic_id),
                                      booking.starts_at, at or utcnow())
    return percent, min(refund_policy.refund_amount(summary.paid, percent), summary.left)


def on_booking_changed(booking: Booking, event, previous_start=None) -> None:  # type: ignore[no-untyped-def]
    """A cancellation gives back what the clinic's policy says (everything when the clinic
    cancels); an open checkout for a booking that ended is closed."""
    if event.to_state not in (CANCELLED_BY_PATIENT, CANCELLED_BY_CLINIC, EXPIRED):
        return
    attempt = open_attempt(booking)
    if attempt is not None:
        _close(attempt, utcnow())
    if event.to_state == EXPIRED:
        return
    percent, amount = policy_refund(booking, by_clinic=event.to_state == CANCELLED_BY_CLINIC)
    if amount <= 0:
        return
    cause = RefundCause.CLINIC if event.to_state == CANCELLED_BY_CLINIC else RefundCause.POLICY
    try:
        issue_refund(None, booking, amount, cause=cause, key=f"cancel:{event.id}",
                     reason=f"{percent} % under the cancellation policy"
                     if cause == RefundCause.POLICY else "cancelled by the clinic")
    except DomainError as exc:  # the cancellation stands; a person looks at the money
        log.warning("policy refund for %s refused: %s", booking.reference, exc.message)


def register() -> None:
    """Connect payments to the booking state machine (called once by the app factory)."""
    lifecycle.booking_changed.connect(on_booking_changed)
    lifecycle.hold_ending.connect(on_hold_ending)
