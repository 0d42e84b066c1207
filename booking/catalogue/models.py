"""Catalogue models. Prices are integer minor units of THB; rates convert them for display."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.core.models import TimestampMixin
from booking.core.types import UtcDateTime, utcnow
from booking.core.zones import CLINIC_ZONE_NAME
from booking.extensions import db

REGULATORY_STATUSES = ("standard_care", "approved_research_protocol", "investigational")
CONSULTATION_MODES = ("video", "in_person")

treatment_condition = Table(
    "treatment_condition",
    db.metadata,
    Column("treatment_id", ForeignKey("treatment.id", ondelete="CASCADE"), primary_key=True),
    Column("condition_id", ForeignKey("condition.id", ondelete="CASCADE"), primary_key=True),
)

clinic_treatment = Table(
    "clinic_treatment",
    db.metadata,
    Column("clinic_id", ForeignKey("clinic.id", ondelete="CASCADE"), primary_key=True),
    Column("treatment_id", ForeignKey("treatment.id", ondelete="CASCADE"), primary_key=True),
)


class Clinic(TimestampMixin, db.Model):
    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    address: Mapped[str] = mapped_column(Text, nullable=False)
    accreditation: Mapped[str] = mapped_column(String(300), nullable=False, default="")
    #: The licence the Thai Ministry of Public Health issued, printed on visa support letters.
    licence: Mapped[str] = mapped_column(String(120), nullable=False, default="",
                                         server_default="")
    #: Locale codes of the languages the staff speak, e.g. ["en", "th", "ar"].
    languages: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    phone: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    email: Mapped[str] = mapped_column(String(320), nullable=False, default="")
    cancellation_policy: Mapped[str] = mapped_column(Text, nullable=False, default="")
    active: Mapped[bool] = mapped_column(default=True, nullable=False)

    doctors: Mapped[list[Doctor]] = relationship(
        back_populates="clinic", order_by="Doctor.name"
    )
    consultation_types: Mapped[list[ConsultationType]] = relationship(
        back_populates="clinic", order_by="ConsultationType.id"
    )
    treatments: Mapped[list[Treatment]] = relationship(
        secondary=clinic_treatment, back_populates="clinics", order_by="Treatment.name"
    )

    @property
    def timezone(self) -> str:
        """Clinic time (the API names it): Bangkok, core.zones.CLINIC_ZONE_NAME."""
        return CLINIC_ZONE_NAME


class Doctor(TimestampMixin, db.Model):
    __tablename__ = "doctor"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    specialty: Mapped[str] = mapped_column(String(200), nullable=False)
    languages: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    bio: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: File name under static/img/doctors/; optional.
    photo: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True, nullable=False)

    clinic: Mapped[Clinic] = relationship(back_populates="doctors")


class Condition(db.Model):
    __tablename__ = "condition"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")

    treatments: Mapped[list[Treatment]] = relationship(
        secondary=treatment_condition, back_populates="conditions", order_by="Treatment.name"
    )


class Treatment(TimestampMixin, db.Model):
    __tablename__ = "treatment"
    __table_args__ = (
        CheckConstraint("price_min_minor >= 0", name="price_min_not_negative"),
        CheckConstraint("price_max_minor >= price_min_minor", name="price_range_ordered"),
        CheckConstraint(
            "regulatory_status IN ('standard_care', 'approved_research_protocol', "
            "'investigational')",
            name="regulatory_status_known",
        ),
        CheckConstraint("recovery_days BETWEEN 0 AND 60", name="recovery_days_sensible"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False, default="")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: Typical price range in minor units of `currency` (THB satang).
    price_min_minor: Mapped[int] = mapped_column(nullable=False)
    price_max_minor: Mapped[int] = mapped_column(nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="THB")
    #: Plain-language summary of what the evidence does and does not show.
    evidence_summary: Mapped[str] = mapped_column(Text, nullable=False)
    regulatory_status: Mapped[str] = mapped_column(String(40), nullable=False)
    #: Free text: the approval, protocol or registry behind the status.
    regulatory_note: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: Who should not have this treatment.
    not_candidates: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: Days the clinic advises staying in Bangkok after the procedure before flying home.
    recovery_days: Mapped[int] = mapped_column(nullable=False, default=3, server_default="3")
    active: Mapped[bool] = mapped_column(default=True, nullable=False)

    conditions: Mapped[list[Condition]] = relationship(
        secondary=treatment_condition, back_populates="treatments", order_by="Condition.name"
    )
    clinics: Mapped[list[Clinic]] = relationship(
        secondary=clinic_treatment, back_populates="treatments", order_by="Clinic.name"
    )


class ConsultationType(TimestampMixin, db.Model):
    __tablename__ = "consultation_type"
    __table_args__ = (
        CheckConstraint("mode IN ('video', 'in_person')", name="mode_known"),
        CheckConstraint("duration_minutes > 0", name="duration_positive"),
        CheckConstraint("deposit_minor >= 0", name="deposit_not_negative"),
        CheckConstraint("buffer_before_minutes >= 0 AND buffer_after_minutes >= 0",
                        name="buffers_not_negative"),
        CheckConstraint("min_notice_minutes >= 0 AND horizon_days > 0", name="window_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    mode: Mapped[str] = mapped_column(String(20), nullable=False)
    duration_minutes: Mapped[int] = mapped_column(nullable=False)
    deposit_minor: Mapped[int] = mapped_column(nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="THB")
    #: Time kept free before and after each consultation (preparation, notes).
    buffer_before_minutes: Mapped[int] = mapped_column(nullable=False, default=0,
                                                       server_default="0")
    buffer_after_minutes: Mapped[int] = mapped_column(nullable=False, default=0,
                                                      server_default="0")
    #: How long ahead a patient must book at the latest (default 24 h).
    min_notice_minutes: Mapped[int] = mapped_column(nullable=False, default=1440,
                                                    server_default="1440")
    #: How far ahead a patient may book (default 120 days).
    horizon_days: Mapped[int] = mapped_column(nullable=False, default=120, server_default="120")
    active: Mapped[bool] = mapped_column(default=True, nullable=False)

    clinic: Mapped[Clinic] = relationship(back_populates="consultation_types")


class ExchangeRate(db.Model):
    """Admin-maintained display rates: `rate` units of `currency` for one THB."""

    __tablename__ = "exchange_rate"
    __table_args__ = (CheckConstraint("rate > 0", name="rate_positive"),)

    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    rate: Mapped[Decimal] = mapped_column(Numeric(18, 8), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )

    @property
    def id(self) -> str:  # the audit trail names objects by id
        return self.currency
