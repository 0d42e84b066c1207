"""A patient's pre-screening answers: kept as their baseline, and the reason when we refer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from booking.core.types import UtcDateTime, utcnow
from booking.extensions import db

ELIGIBLE = "eligible"
REFER = "refer"


class Screening(db.Model):
    __tablename__ = "screening"
    __table_args__ = (
        CheckConstraint("nrs BETWEEN 0 AND 10", name="nrs_range"),
        CheckConstraint("odi_score IS NULL OR odi_score BETWEEN 0 AND 100", name="odi_range"),
        CheckConstraint("outcome IN ('eligible', 'refer')", name="outcome_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False,
                                            index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    condition_id: Mapped[int | None] = mapped_column(ForeignKey("condition.id"))
    #: How long the pain has lasted, in months.
    pain_months: Mapped[int] = mapped_column(nullable=False)
    prior_treatments: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    prior_surgery: Mapped[bool] = mapped_column(nullable=False, default=False)
    #: Numeric rating scale of current pain, 0 (none) to 10 (worst imaginable).
    nrs: Mapped[int] = mapped_column(nullable=False)
    #: ODI section key -> answer 0-5 (None when skipped).
    odi_answers: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    odi_score: Mapped[int | None] = mapped_column()
    imaging_available: Mapped[bool] = mapped_column(nullable=False, default=False)
    red_flags: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    outcome: Mapped[str] = mapped_column(String(10), nullable=False)
    notes: Mapped[str] = mapped_column(Text, nullable=False, default="")
