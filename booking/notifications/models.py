"""The outbox: every message is a row first, written in the same transaction as its cause."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.core.types import UtcDateTime, utcnow
from booking.extensions import db

PENDING, SENDING, SENT, FAILED, CANCELLED = "pending", "sending", "sent", "failed", "cancelled"


class OutboxMessage(db.Model):
    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed', 'cancelled')",
                        name="status_known"),
        # The claim query reads only due pending rows; sent history does not slow it down.
        Index("ix_outbox_due_pending", "due_at", postgresql_where=text("status = 'pending'"),
              sqlite_where=text("status = 'pending'")),
        Index("ix_outbox_claimed_sending", "claimed_at",
              postgresql_where=text("status = 'sending'"), sqlite_where=text("status = 'sending'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"),
                                                   index=True)
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
    #: For messages without a booking (account emails): what the template needs.
    payload: Mapped[dict] = mapped_column(JSON, nullable=False, default=dict)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    recipient = relationship("User")
