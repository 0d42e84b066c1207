"""The payments ledger read: a booking's money (paid, refunded, what is left) and the
clinic's list of charges and refunds. The one source of a booking's payment status."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from booking.accounts.models import User
from booking.core.money import Money
from booking.extensions import db
from booking.payments.models import (
    EntryKind,
    EntryStatus,
    LedgerEntry,
    PaymentStatus,
    RefundCause,
)
from booking.scheduling.models import Booking


@dataclass
class Summary:
    """A booking's money, from its ledger: in the currency the deposit was paid in."""

    currency: str
    paid: int = 0
    refunded: int = 0
    pending: int = 0
    failed: int = 0
    charges: list[LedgerEntry] = field(default_factory=list)
    refunds: list[LedgerEntry] = field(default_factory=list)

    @property
    def status(self) -> PaymentStatus:
        if not self.paid:
            return PaymentStatus.UNPAID
        if self.refunded >= self.paid:
            return PaymentStatus.REFUNDED
        return PaymentStatus.PARTIALLY_REFUNDED if self.refunded else PaymentStatus.PAID

    @property
    def left(self) -> int:
        """What can still be refunded (refunds on their way count as given)."""
        return max(self.paid - self.refunded - self.pending, 0)

    @property
    def credited(self) -> int:
        """What stays with the clinic, credited toward treatment."""
        return self.paid - self.refunded

    def money(self, amount: int) -> Money:
        return Money(amount, self.currency)


def summarise(booking: Booking, entries: list[LedgerEntry] | None = None) -> Summary:
    """The booking's payment status and amounts (one query unless the entries are given)."""
    if entries is None:
        entries = list(db.session.scalars(select(LedgerEntry).where(
            LedgerEntry.booking_id == booking.id).order_by(LedgerEntry.id)))
    charges = [e for e in entries if e.kind == EntryKind.CHARGE]
    summary = Summary(currency=charges[0].currency if charges else booking.currency)
    summary.charges = charges
    summary.refunds = [e for e in entries if e.kind == EntryKind.REFUND]
    summary.paid = sum(e.amount_minor for e in charges if e.status == EntryStatus.SUCCEEDED)
    for refund in summary.refunds:
        if refund.status == EntryStatus.SUCCEEDED:
            summary.refunded += refund.amount_minor
        elif refund.status == EntryStatus.PENDING:
            summary.pending += refund.amount_minor
        else:
            summary.failed += refund.amount_minor
    return summary


def summaries(bookings: list[Booking]) -> dict[int, Summary]:
    """Summaries for a page of bookings in one query."""
    ids = [b.id for b in bookings]
    entries: dict[int, list[LedgerEntry]] = {i: [] for i in ids}
    if ids:
        for entry in db.session.scalars(select(LedgerEntry).where(
                LedgerEntry.booking_id.in_(ids)).order_by(LedgerEntry.id)):
            entries[entry.booking_id].append(entry)
    return {b.id: summarise(b, entries[b.id]) for b in bookings}


def ledger_query(actor: User, *, kind: str | None = None, status: str | None = None,
                 start: datetime | None = None, end: datetime | None = None):  # type: ignore[no-untyped-def]
    """The ledger rows this person may see (their clinic's; an admin all), newest first."""
    query = (select(LedgerEntry).join(Booking, Booking.id == LedgerEntry.booking_id)
             .options(joinedload(LedgerEntry.booking).joinedload(Booking.patient))
             .order_by(LedgerEntry.created_at.desc(), LedgerEntry.id.desc()))
    if not actor.is_admin:
        query = query.where(Booking.clinic_id == actor.clinic_id)
    if kind in tuple(EntryKind):
        query = query.where(LedgerEntry.kind == kind)
    if status in tuple(EntryStatus):
        query = query.where(LedgerEntry.status == status)
    if start is not None:
        query = query.where(LedgerEntry.created_at >= start)
    if end is not None:
        query = query.where(LedgerEntry.created_at < end)
    return query


def needing_a_person(actor: User, limit: int = 20) -> list[LedgerEntry]:
    """Failed refunds and money that came after its hold ended, for the dashboard."""
    query = ledger_query(actor).where(
        (LedgerEntry.status == EntryStatus.FAILED)
        | (LedgerEntry.cause == RefundCause.LATE_PAYMENT))
    return list(db.session.scalars(query.limit(limit)))
