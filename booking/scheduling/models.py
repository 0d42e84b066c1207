"""Scheduling models. Plans are in clinic time (Asia/Bangkok); instants are stored in UTC."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.core.models import TimestampMixin
from booking.core.types import UtcDateTime, utcnow
from booking.extensions import db

if TYPE_CHECKING:
    from booking.accounts.models import User
    from booking.catalogue.models import Clinic, ConsultationType, Doctor


class BookingState(StrEnum):
    """A booking's states: the one list the column's check constraint, the state machine's
    table (lifecycle.TRANSITIONS), the labels and the templates use."""

    HELD = "held"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    NO_SHOW = "no_show"
    EXPIRED = "expired"
    CANCELLED_BY_PATIENT = "cancelled_by_patient"
    CANCELLED_BY_CLINIC = "cancelled_by_clinic"


(HELD, CONFIRMED, COMPLETED, NO_SHOW, EXPIRED, CANCELLED_BY_PATIENT,
 CANCELLED_BY_CLINIC) = BookingState
STATES = tuple(BookingState)
#: What each state is called on pages and in emails.
STATE_LABELS = {
    BookingState.HELD: _l("Held — awaiting deposit"),
    BookingState.CONFIRMED: _l("Confirmed"),
    BookingState.COMPLETED: _l("Completed"),
    BookingState.NO_SHOW: _l("No-show"),
    BookingState.EXPIRED: _l("Hold expired"),
    BookingState.CANCELLED_BY_PATIENT: _l("Cancelled by the patient"),
    BookingState.CANCELLED_BY_CLINIC: _l("Cancelled by the clinic"),
}

#: States that occupy the doctor's time; two of these may never overlap.
ACTIVE_STATES = (HELD, CONFIRMED)


def _sql_in(column: str, values) -> str:  # type: ignore[no-untyped-def]
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


_ACTIVE_SQL = _sql_in("state", ACTIVE_STATES)

EXCEPTION_KINDS = ("leave", "extra", "block")


class WorkingInterval(db.Model):
    """One interval of a doctor's weekly plan, in clinic time (several per day allowed)."""

    __tablename__ = "working_interval"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_valid"),
        CheckConstraint("end_time > start_time", name="interval_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctor.id", ondelete="CASCADE"),
                                           nullable=False, index=True)
    #: Monday = 0 … Sunday = 6.
    weekday: Mapped[int] = mapped_column(nullable=False)
    start_time: Mapped[time] = mapped_column(nullable=False)
    end_time: Mapped[time] = mapped_column(nullable=False)


class ScheduleException(TimestampMixin, db.Model):
    """A dated change to the plan: a doctor's leave or extra hours, or a blocked period.

    With no doctor it applies to the whole clinic (a closure)."""

    __tablename__ = "schedule_exception"
    __table_args__ = (
        CheckConstraint("kind IN ('leave', 'extra', 'block')", name="kind_known"),
        CheckConstraint("ends_at > starts_at", name="range_ordered"),
        Index("ix_schedule_exception_clinic_range", "clinic_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), nullable=False)
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("doctor.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    note: Mapped[str] = mapped_column(String(300), nullable=False, default="")


class Holiday(db.Model):
    """A public holiday: the clinics are closed (editable per year; seeded for Thailand)."""

    __tablename__ = "holiday"
    __table_args__ = (UniqueConstraint("day", name="uq_holiday_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)


class Booking(TimestampMixin, db.Model):
    """A consultation booking. `blocked_*` include the buffers and are what may not overlap."""

    __tablename__ = "booking"
    __table_args__ = (
        CheckConstraint(_sql_in("state", BookingState), name="state_known"),
        CheckConstraint("ends_at > starts_at", name="range_ordered"),
        CheckConstraint("blocked_from <= starts_at AND blocked_until >= ends_at",
                        name="blocked_covers_consultation"),
        Index("ix_booking_doctor_blocked", "doctor_id", "blocked_from"),
        # The clinic's calendar, dashboard and digests read a clinic's bookings by time.
        Index("ix_booking_clinic_start", "clinic_id", "starts_at"),
        Index("ix_booking_held_expiry", "hold_expires_at",
              postgresql_where=text("state = 'held'"), sqlite_where=text("state = 'held'")),
        # PostgreSQL: the database itself refuses two active bookings that overlap for one
        # doctor (sqlstate 23P01). SQLite has no such constraint: services serialise writes.
        ExcludeConstraint(
            ("doctor_id", "="),
            (func.tstzrange(text("blocked_from"), text("blocked_until"), "[)"), "&&"),
            name="booking_no_overlap",
            using="gist",
            where=text(_ACTIVE_SQL),
        ),
        # And a patient's own active bookings never overlap (two clinics, one evening).
        ExcludeConstraint(
            ("patient_id", "="),
            (func.tstzrange(text("starts_at"), text("ends_at"), "[)"), "&&"),
            name="booking_patient_no_overlap",
            using="gist",
            where=text(_ACTIVE_SQL),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Short, human-friendly, unique: what patients quote on the phone.
    reference: Mapped[str] = mapped_column(String(12), unique=True, nullable=False)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False,
                                            index=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), nullable=False, index=True)
    doctor_id: Mapped[int] = mapped_column(ForeignKey("doctor.id"), nullable=False)
    consultation_type_id: Mapped[int] = mapped_column(ForeignKey("consultation_type.id"),
                                                      nullable=False)
    state: Mapped[str] = mapped_column(String(24), nullable=False, default=HELD, index=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    blocked_from: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    blocked_until: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    hold_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: The patient's zone when booking, so messages show their local time.
    patient_timezone: Mapped[str] = mapped_column(String(64), nullable=False)
    #: Deposit owed, copied from the consultation type when the hold is placed.
    deposit_minor: Mapped[int] = mapped_column(nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    #: Who placed it: the patient, or a coordinator booking on their behalf.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    cancel_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: The pre-screening the patient passed before choosing this time (None when staff booked).
    screening_id: Mapped[int | None] = mapped_column(ForeignKey("screening.id"))
    #: Where a video consultation takes place (set by the clinic; https only).
    video_url: Mapped[str | None] = mapped_column(String(500))
    #: The calendar file's SEQUENCE: raised when the time, the place or the status changes,
    #: so calendars replace their copy of the event.
    ics_sequence: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")

    patient: Mapped[User] = relationship(foreign_keys=[patient_id])
    clinic: Mapped[Clinic] = relationship()
    doctor: Mapped[Doctor] = relationship()
    consultation_type: Mapped[ConsultationType] = relationship()
    events: Mapped[list[BookingEvent]] = relationship(
        back_populates="booking", order_by="BookingEvent.id", cascade="all, delete-orphan")
    consents: Mapped[list[BookingConsent]] = relationship(
        order_by="BookingConsent.id", cascade="all, delete-orphan")

    def consent(self, kind: str) -> BookingConsent | None:
        return next((c for c in self.consents if c.kind == kind), None)

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def movable(self) -> bool:
        """The one rule for "may this booking be moved to another time?": only a confirmed
        one (asked by the state machine, the services, the pages and the API alike)."""
        return self.state == CONFIRMED

    @property
    def joinable_video_url(self) -> str | None:
        """The video link as the patient may use it: only for a confirmed booking (the one
        rule every page, email, calendar file and API answer asks)."""
        return self.video_url if self.state == CONFIRMED else None


class BookingEvent(db.Model):
    """The history of one booking: every state change and every move, oldest first."""

    __tablename__ = "booking_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24), nullable=False)
    #: For reschedules: the old and new start, ISO 8601 UTC.
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")

    booking: Mapped[Booking] = relationship(back_populates="events")


class BookingConsent(db.Model):
    """A consent a patient gave for a booking: which text, which version, when."""

    __tablename__ = "booking_consent"
    __table_args__ = (UniqueConstraint("booking_id", "kind", name="uq_booking_consent_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"),
                                            nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)
    version: Mapped[str] = mapped_column(String(20), nullable=False)
    accepted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
