"""Travel models: a patient's trip to Bangkok, its flights, companions, hotel, airport pickup
and visa support letters. Passport numbers are stored sealed (core.crypto), never in clear."""

from __future__ import annotations

from datetime import date, datetime
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
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from booking.core.models import TimestampMixin
from booking.core.types import UtcDateTime, utcnow
from booking.extensions import db

if TYPE_CHECKING:
    from booking.accounts.models import User
    from booking.catalogue.models import Clinic, Treatment
    from booking.scheduling.models import Booking


def _sql_in(column: str, values) -> str:  # type: ignore[no-untyped-def]
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class PartnerHotel(TimestampMixin, db.Model):
    """A hotel a clinic works with, with its usual nightly price range (THB minor units)."""

    __tablename__ = "partner_hotel"
    __table_args__ = (
        CheckConstraint("nightly_min_minor >= 0", name="nightly_min_not_negative"),
        CheckConstraint("nightly_max_minor >= nightly_min_minor", name="nightly_range_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    address: Mapped[str] = mapped_column(Text, nullable=False)
    #: How far from the clinic, in the clinic's words ("5 minutes on foot").
    distance_note: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    nightly_min_minor: Mapped[int] = mapped_column(nullable=False)
    nightly_max_minor: Mapped[int] = mapped_column(nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False, default="THB")
    #: Rooms suitable for a wheelchair.
    accessible: Mapped[bool] = mapped_column(nullable=False, default=False)
    active: Mapped[bool] = mapped_column(nullable=False, default=True)

    clinic: Mapped[Clinic] = relationship()


class TripStatus(StrEnum):
    OPEN = "open"
    #: Over, or given up by the patient; kept for the record.
    CLOSED = "closed"


class HotelChoice(StrEnum):
    UNDECIDED = "undecided"
    PARTNER = "partner"
    OWN = "own"


class HotelStatus(StrEnum):
    """Where a partner-hotel stay stands (the clinic books it); the patient's own hotel is
    theirs to book."""

    PENDING = "pending"
    REQUESTED = "requested"
    BOOKED = "booked"


class PickupStatus(StrEnum):
    NOT_WANTED = "not_wanted"
    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    #: Confirmed for a flight that has since changed: the clinic must confirm again.
    RECONFIRM = "reconfirm"


VEHICLES = ("sedan", "van", "minibus")
VEHICLE_LABELS = {"sedan": _l("Car (up to 3 people)"), "van": _l("Van (up to 6 people)"),
                  "minibus": _l("Minibus (up to 10 people)")}
AIRPORTS = {"BKK": _l("Suvarnabhumi (BKK)"), "DMK": _l("Don Mueang (DMK)")}
HOTEL_STATUS_LABELS = {HotelStatus.PENDING: _l("The clinic books it for you: not booked yet"),
                       HotelStatus.REQUESTED: _l("Requested from the hotel"),
                       HotelStatus.BOOKED: _l("Booked")}
PICKUP_LABELS = {PickupStatus.NOT_WANTED: _l("Not wanted"),
                 PickupStatus.REQUESTED: _l("Requested, not confirmed yet"),
                 PickupStatus.CONFIRMED: _l("Confirmed"),
                 PickupStatus.RECONFIRM: _l("Flight changed: to confirm again")}
MAX_COMPANIONS = 4


class Trip(TimestampMixin, db.Model):
    """One visit to Bangkok: the patient's bookings at one clinic between landing and leaving.

    A patient has at most one open trip (a second visit is a new trip)."""

    __tablename__ = "trip"
    __table_args__ = (
        CheckConstraint(_sql_in("status", TripStatus), name="status_known"),
        CheckConstraint(_sql_in("hotel_choice", HotelChoice), name="hotel_choice_known"),
        CheckConstraint(_sql_in("hotel_status", HotelStatus), name="hotel_status_known"),
        CheckConstraint(_sql_in("pickup_status", PickupStatus), name="pickup_status_known"),
        CheckConstraint("pickup_luggage BETWEEN 0 AND 20", name="luggage_sensible"),
        Index("uq_trip_one_open", "patient_id", unique=True,
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False,
                                            index=True)
    #: The clinic the visit is for; its coordinators look after the trip.
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(10), nullable=False, default=TripStatus.OPEN)
    #: The treatment the patient plans to have, if any: its advised recovery before flying.
    treatment_id: Mapped[int | None] = mapped_column(ForeignKey("treatment.id"))

    passport_nationality: Mapped[str | None] = mapped_column(String(2))
    #: Fernet token (core.crypto.seal); shown masked except to the patient and the clinic.
    passport_number_sealed: Mapped[str | None] = mapped_column(Text)
    passport_expiry: Mapped[date | None] = mapped_column()

    hotel_choice: Mapped[str] = mapped_column(String(10), nullable=False,
                                              default=HotelChoice.UNDECIDED)
    partner_hotel_id: Mapped[int | None] = mapped_column(ForeignKey("partner_hotel.id"))
    own_hotel_name: Mapped[str] = mapped_column(String(200), nullable=False, default="")
    own_hotel_address: Mapped[str] = mapped_column(Text, nullable=False, default="")
    hotel_status: Mapped[str] = mapped_column(String(10), nullable=False,
                                              default=HotelStatus.PENDING)

    pickup_status: Mapped[str] = mapped_column(String(12), nullable=False,
                                               default=PickupStatus.NOT_WANTED)
    pickup_vehicle: Mapped[str] = mapped_column(String(10), nullable=False, default="sedan")
    pickup_wheelchair: Mapped[bool] = mapped_column(nullable=False, default=False)
    pickup_luggage: Mapped[int] = mapped_column(nullable=False, default=1)
    #: Set by the clinic when it confirms the pickup.
    pickup_driver: Mapped[str] = mapped_column(String(120), nullable=False, default="")
    pickup_driver_phone: Mapped[str] = mapped_column(String(20), nullable=False, default="")
    pickup_vehicle_plate: Mapped[str] = mapped_column(String(40), nullable=False, default="")

    #: Locale code of the language an interpreter should speak; None: no interpreter.
    interpreter_language: Mapped[str | None] = mapped_column(String(10))
    mobility_needs: Mapped[str] = mapped_column(Text, nullable=False, default="")
    dietary_needs: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: The itinerary's calendar SEQUENCE: raised whenever an event in it changes.
    ics_sequence: Mapped[int] = mapped_column(nullable=False, default=0, server_default="0")

    patient: Mapped[User] = relationship()
    clinic: Mapped[Clinic] = relationship()
    treatment: Mapped[Treatment | None] = relationship()
    partner_hotel: Mapped[PartnerHotel | None] = relationship()
    flights: Mapped[list[Flight]] = relationship(
        back_populates="trip", cascade="all, delete-orphan", order_by="Flight.scheduled_at")
    companions: Mapped[list[Companion]] = relationship(
        back_populates="trip", cascade="all, delete-orphan", order_by="Companion.id")
    bookings: Mapped[list[Booking]] = relationship(
        secondary="trip_booking", order_by="Booking.starts_at", viewonly=True)
    letters: Mapped[list[VisaLetter]] = relationship(
        back_populates="trip", order_by="VisaLetter.id")

    def flight(self, direction: str) -> Flight | None:
        return next((f for f in self.flights if f.direction == direction), None)

    @property
    def arrival(self) -> Flight | None:
        return self.flight(ARRIVAL)

    @property
    def departure(self) -> Flight | None:
        return self.flight(DEPARTURE)

    @property
    def is_open(self) -> bool:
        return self.status == TripStatus.OPEN

    @property
    def current_letter(self) -> VisaLetter | None:
        """The letter that counts now: the newest one (a declined or revoked one stays in the
        list so the patient sees why)."""
        return self.letters[-1] if self.letters else None


class TripBooking(db.Model):
    """Which bookings belong to which trip (a booking is in one trip at most)."""

    __tablename__ = "trip_booking"

    booking_id: Mapped[int] = mapped_column(ForeignKey("booking.id", ondelete="CASCADE"),
                                            primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trip.id", ondelete="CASCADE"),
                                         nullable=False, index=True)


ARRIVAL = "arrival"
DEPARTURE = "departure"
DIRECTIONS = (ARRIVAL, DEPARTURE)


class Flight(db.Model):
    """The flight that brings the patient to Bangkok or takes them home."""

    __tablename__ = "trip_flight"
    __table_args__ = (
        UniqueConstraint("trip_id", "direction", name="uq_trip_flight_direction"),
        CheckConstraint("direction IN ('arrival', 'departure')", name="direction_known"),
        CheckConstraint("airport IN ('BKK', 'DMK')", name="airport_known"),
        Index("ix_trip_flight_scheduled", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trip.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    direction: Mapped[str] = mapped_column(String(10), nullable=False)
    #: IATA airline designator, e.g. "TG", "EK", "9W".
    airline: Mapped[str] = mapped_column(String(3), nullable=False)
    #: Digits (and an optional suffix letter), e.g. "917".
    number: Mapped[str] = mapped_column(String(5), nullable=False)
    airport: Mapped[str] = mapped_column(String(3), nullable=False)
    #: Scheduled landing (arrival) or take-off (departure); entered in Bangkok time.
    scheduled_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow,
                                                 nullable=False)

    trip: Mapped[Trip] = relationship(back_populates="flights")

    @property
    def code(self) -> str:
        return f"{self.airline} {self.number}"


RELATIONSHIPS = ("spouse", "partner", "parent", "child", "sibling", "relative", "friend",
                 "carer")
RELATIONSHIP_LABELS = {"spouse": _l("Spouse"), "partner": _l("Partner"),
                       "parent": _l("Parent"), "child": _l("Son or daughter"),
                       "sibling": _l("Brother or sister"), "relative": _l("Other relative"),
                       "friend": _l("Friend"), "carer": _l("Carer")}


class Companion(TimestampMixin, db.Model):
    """Someone travelling with the patient (up to MAX_COMPANIONS a trip)."""

    __tablename__ = "trip_companion"

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trip.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    relationship_to_patient: Mapped[str] = mapped_column(String(20), nullable=False)
    nationality: Mapped[str] = mapped_column(String(2), nullable=False)
    #: Fernet token (core.crypto.seal).
    passport_number_sealed: Mapped[str] = mapped_column(Text, nullable=False)
    passport_expiry: Mapped[date] = mapped_column(nullable=False)

    trip: Mapped[Trip] = relationship(back_populates="companions")


class LetterState(StrEnum):
    REQUESTED = "requested"
    ISSUED = "issued"
    DECLINED = "declined"
    REVOKED = "revoked"


LETTER_LABELS = {LetterState.REQUESTED: _l("Requested: the clinic is reviewing it"),
                 LetterState.ISSUED: _l("Issued"),
                 LetterState.DECLINED: _l("Declined"),
                 LetterState.REVOKED: _l("Revoked")}


class VisaLetter(TimestampMixin, db.Model):
    """A visa support letter for a trip: requested by the patient, issued or declined by the
    clinic, and an issued one may be revoked. An embassy checks it by its token."""

    __tablename__ = "visa_letter"
    __table_args__ = (
        CheckConstraint(_sql_in("state", LetterState), name="state_known"),
        # One letter in play per trip: a new request only after a decline or a revocation.
        Index("uq_visa_letter_live", "trip_id", unique=True,
              postgresql_where=text("state IN ('requested', 'issued')"),
              sqlite_where=text("state IN ('requested', 'issued')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    trip_id: Mapped[int] = mapped_column(ForeignKey("trip.id", ondelete="CASCADE"),
                                         nullable=False, index=True)
    state: Mapped[str] = mapped_column(String(10), nullable=False,
                                       default=LetterState.REQUESTED)
    #: Printed on the letter, e.g. "SBV-2026-7K3M9Q".
    number: Mapped[str] = mapped_column(String(24), unique=True, nullable=False)
    #: The unguessable part of the verification URL.
    token: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    issued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    declined_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    #: Why it was declined or revoked, in words the patient is shown.
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    #: What the issued letter says (people, passports, dates, clinic), sealed as JSON: the
    #: PDF and the verification page show the letter as issued, whatever changes later.
    content_sealed: Mapped[str | None] = mapped_column(Text)

    trip: Mapped[Trip] = relationship(back_populates="letters")
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
