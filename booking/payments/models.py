"""Payments models. Amounts are integer minor units of `currency` (ISO 4217).

A `CheckoutAttempt` is one Stripe Checkout Session for a booking's deposit; the `LedgerEntry`
rows (charges and refunds) are the one source of what was paid and given back; `StripeEvent`
remembers every webhook event handled, so a repeated delivery changes nothing."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.core.models import TimestampMixin
from booking.core.types import UtcDateTime, utcnow
from booking.extensions import db

if TYPE_CHECKING:
    from booking.scheduling.models import Booking


class CheckoutState(StrEnum):
    """A checkout attempt only moves forward: open → paid | expired | failed."""

    OPEN = "open"
    PAID = "paid"
    EXPIRED = "expired"
    FAILED = "failed"


class EntryKind(StrEnum):
    CHARGE = "charge"
    REFUND = "refund"


class EntryStatus(StrEnum):
    """A refund is pending until Stripe says it succeeded or failed (a charge is recorded
    only once it succeeded)."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RefundCause(StrEnum):
    POLICY = "policy"  # the patient cancelled: the clinic's policy decides the share
    CLINIC = "clinic"  # the clinic cancelled: everything back
    LATE_PAYMENT = "late_payment"  # paid after the hold ended and the time was gone
    MANUAL = "manual"  # a coordinator gave back more, with a reason
    STRIPE = "stripe"  # refunded outside the app (Stripe's dashboard), learnt from a webhook


class PaymentStatus(StrEnum):
    """A booking's payment status, derived from its ledger (never stored)."""

    UNPAID = "unpaid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


def _in(column: str, enum: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in enum)})"


class CheckoutAttempt(TimestampMixin, db.Model):
    __tablename__ = "checkout_attempt"
    __table_args__ = (
        UniqueConstraint("booking_id", "attempt", name="uq_checkout_attempt_number"),
        CheckConstraint(_in("state", CheckoutState), name="state_known"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        # At most one open session per booking: asking again returns it.
        Index("uq_checkout_attempt_open", "booking_id", unique=True,
              postgresql_where=text("state = 'open'"), sqlite_where=text("state = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    #: 1, 2, … per booking: part of the idempotency key `checkout:<booking>:<attempt>`.
    attempt: Mapped[int] = mapped_column(nullable=False)
    session_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    url: Mapped[str] = mapped_column(Text, nullable=False)
    state: Mapped[str] = mapped_column(String(10), nullable=False, default=CheckoutState.OPEN)
    #: What the patient is charged, in the currency they chose.
    amount_minor: Mapped[int] = mapped_column(nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    #: The deposit in the clinic's currency it was converted from, and the rate used.
    base_amount_minor: Mapped[int] = mapped_column(nullable=False)
    base_currency: Mapped[str] = mapped_column(String(3), nullable=False)
    rate: Mapped[str] = mapped_column(String(32), nullable=False, default="1")
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class LedgerEntry(db.Model):
    """One charge or refund: amount, currency, Stripe ids, who, when, why."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        CheckConstraint(_in("kind", EntryKind), name="kind_known"),
        CheckConstraint(_in("status", EntryStatus), name="status_known"),
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        # A payment intent's charge is recorded once, however many events announce it.
        Index("uq_ledger_charge_intent", "payment_intent_id", unique=True,
              postgresql_where=text("kind = 'charge'"), sqlite_where=text("kind = 'charge'")),
        Index("ix_ledger_entry_created", "created_at"),
        UniqueConstraint("booking_id", "request_key", name="uq_ledger_request_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    checkout_id: Mapped[int | None] = mapped_column(ForeignKey("checkout_attempt.id"))
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False)
    amount_minor: Mapped[int] = mapped_column(nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255))
    refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    #: For refunds: policy, clinic, late_payment, manual, stripe (RefundCause).
    cause: Mapped[str] = mapped_column(String(16), nullable=False, default="")
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: The request a refund answers (a form's nonce, an API Idempotency-Key, the cancellation):
    #: asked twice, it is one refund.
    request_key: Mapped[str | None] = mapped_column(String(100))
    #: Why Stripe refused a refund, shown to the coordinator.
    failure: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)

    checkout: Mapped[CheckoutAttempt | None] = relationship()
    booking: Mapped[Booking] = relationship()


class StripeEvent(db.Model):
    """A webhook event handled once: its id is stored in the same transaction as its effect."""

    __tablename__ = "stripe_event"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100), nullable=False)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id", ondelete="SET NULL"))
    #: What the handler did: applied, ignored (stale or unknown), …
    outcome: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)


class RefundWindow(db.Model):
    """One line of a clinic's cancellation policy: cancelled at least `min_hours` before the
    consultation, `percent` of the deposit comes back. A clinic without lines uses DEFAULT."""

    __tablename__ = "refund_window"
    __table_args__ = (
        UniqueConstraint("clinic_id", "min_hours", name="uq_refund_window_hours"),
        CheckConstraint("min_hours >= 0", name="hours_not_negative"),
        CheckConstraint("percent BETWEEN 0 AND 100", name="percent_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"),
                                           nullable=False, index=True)
    min_hours: Mapped[int] = mapped_column(nullable=False)
    percent: Mapped[int] = mapped_column(nullable=False)
