"""The outbox: every message is a row first, written in the same transaction as its cause."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Text,
    and_,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.core.types import UtcDateTime, utcnow
from booking.extensions import db


class MessageStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


PENDING, SENDING, SENT, FAILED, CANCELLED = MessageStatus

#: status -> the statuses a message may move to. A claim lapsed with its worker is claimed
#: again (sending -> sending); a refused delivery waits for its retry (sending -> pending); a
#: failed message goes again only when staff ask (failed -> pending). Sent and cancelled are
#: final.
MOVES: dict[MessageStatus, frozenset[MessageStatus]] = {
    PENDING: frozenset({SENDING, CANCELLED}),
    SENDING: frozenset({SENDING, SENT, PENDING, FAILED, CANCELLED}),
    FAILED: frozenset({PENDING}),
    SENT: frozenset(),
    CANCELLED: frozenset(),
}


def may_move(current: str, new: str) -> bool:
    return MessageStatus(new) in MOVES[MessageStatus(current)]


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(str(s)) for s in MessageStatus)})",
                        name="status_known"),
        # The claim query reads only due pending rows; sent history does not slow it down.
        Index("ix_outbox_due_pending", "due_at", postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
        Index("ix_outbox_claimed_sending", "claimed_at",
              postgresql_where=text("status = 'sending'"), sqlite_where=text("status = 'sending'")),
        Index("ix_outbox_subject", "subject_type", "subject_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: What the message is about, as a registered subject type and its id (a booking, a
    #: trip, a payment …); both empty for messages about no object (account emails, digests).
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[int | None] = mapped_column()
    recipient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    channel: Mapped[str] = mapped_column(String(10), nullable=False, default="email")
    language: Mapped[str] = mapped_column(String(10), nullable=False)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=PENDING)
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    last_error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: The Message-ID we sent with (stable per row, so a duplicate is recognisable).
    provider_message_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    #: When a worker took it for sending; a claim older than the lease is taken again.
    claimed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: What the kind's context builder needs beyond its subject, fixed when it was queued
    #: (the time a reminder was made for, the day of a digest, the kind that failed).
    payload: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    recipient = relationship("User")

    @classmethod
    def about(cls, subject_type: str, subject_id: int | ColumnElement) -> ColumnElement[bool]:
        """The WHERE clause for messages about one object (or, given a column, a join)."""
        return and_(cls.subject_type == subject_type, cls.subject_id == subject_id)
