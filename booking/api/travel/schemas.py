"""Request and response schemas of the trip routes of /api/v1 (booking.api.travel).

Inputs are bounded and typed here; the rules (a flight number's shape, a passport's validity,
a partner hotel of the clinic …) are the travel services', which answer 422 naming the field.
Unknown fields in a JSON body are refused (422)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from booking.api.fields import Id, Instant, StrictBoolean, no_nul
from booking.api.schemas import _datetime
from booking.core.inputs import MAX_DAY, MIN_DAY
from booking.scheduling.models import STATES
from booking.travel.models import (
    AIRPORTS,
    DIRECTIONS,
    MAX_COMPANIONS,
    RELATIONSHIPS,
    VEHICLES,
    HotelChoice,
    HotelStatus,
    LetterState,
    PickupStatus,
    TripStatus,
)

#: What the caller may do to a trip now (the rules of booking.travel.services).
TRIP_ACTIONS = ("edit", "close", "reveal_passport", "request_letter")
#: A bound on free text before the services judge it (they allow 1,000 characters): anything
#: longer is refused by the schema without being copied around.
MAX_INPUT_TEXT = 5000


def _text(max_length: int, **kwargs: Any) -> fields.String:
    return fields.String(validate=[validate.Length(max=max_length), no_nul], **kwargs)


class Day(fields.Date):
    """A calendar day, YYYY-MM-DD, between MIN_DAY and MAX_DAY."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or len(value) > 10:
            raise self.make_error("invalid")
        day = super()._deserialize(value, attr, data, **kwargs)
        if not MIN_DAY <= day <= MAX_DAY:
            raise ValidationError(str(_l("Must lie between %(first)s and %(last)s.",
                                         first=MIN_DAY.isoformat(), last=MAX_DAY.isoformat())))
        return day


# Requests --------------------------------------------------------------------------------------

class TripCreateSchema(Schema):
    booking_id = Id(required=True, metadata={"description": "One of your bookings"})


class FlightInSchema(Schema):
    flight = _text(20, required=True, metadata={
        "description": "Airline code and number as on the ticket", "examples": ["TG 917"]})
    airport = fields.String(required=True, validate=validate.OneOf(list(AIRPORTS)))
    scheduled_at = Instant(required=True, metadata={
        "description": "Scheduled landing (arrival) or take-off (departure), with its offset",
        "examples": ["2027-03-01T07:30:00+07:00"]})


class PassportInSchema(Schema):
    nationality = _text(2, required=True, metadata={
        "description": "ISO 3166 alpha-2 code of the issuing country", "examples": ["US"]})
    number = _text(40, required=True, metadata={
        "description": "5 to 20 letters and digits, as printed on the photo page"})
    expiry = Day(required=True)


class CompanionInSchema(Schema):
    name = _text(MAX_INPUT_TEXT, required=True, metadata={
        "description": "As in the passport (up to 200 characters)"})
    relationship = fields.String(required=True, validate=validate.OneOf(RELATIONSHIPS))
    nationality = _text(2, required=True, metadata={"examples": ["US"]})
    passport_number = _text(40, required=True)
    passport_expiry = Day(required=True)


class HotelInSchema(Schema):
    choice = fields.String(required=True, validate=validate.OneOf([c.value for c in HotelChoice]))
    partner_hotel_id = Id(allow_none=True, load_default=None, metadata={
        "description": "With choice 'partner': one of the trip's partner_hotels"})
    own_hotel_name = _text(MAX_INPUT_TEXT, load_default="", metadata={
        "description": "With choice 'own' (up to 200 characters)"})
    own_hotel_address = _text(MAX_INPUT_TEXT, load_default="", metadata={
        "description": "With choice 'own', for the driver (up to 1,000 characters)"})


class PickupInSchema(Schema):
    wanted = StrictBoolean(required=True)
    vehicle = fields.String(load_default="sedan", validate=validate.OneOf(VEHICLES))
    wheelchair = StrictBoolean(load_default=False)
    luggage = fields.Integer(strict=True, load_default=1, validate=validate.Range(min=0, max=20),
                             metadata={"description": "Suitcases"})


class NeedsInSchema(Schema):
    interpreter_language = _text(10, allow_none=True, load_default=None, metadata={
        "description": "Language code of the interpreter wanted, or null for none",
        "examples": ["ar"]})
    mobility_needs = _text(MAX_INPUT_TEXT, load_default="", metadata={
        "description": "Up to 1,000 characters"})
    dietary_needs = _text(MAX_INPUT_TEXT, load_default="", metadata={
        "description": "Up to 1,000 characters"})
    treatment_id = Id(allow_none=True, load_default=None, metadata={
        "description": "A treatment of the clinic the patient plans to have (its recovery "
                       "time is checked against the flight home)"})


class PassportNumberQuerySchema(Schema):
    holder = fields.String(required=True, validate=validate.Regexp(
        r"^(patient|[1-9][0-9]{0,9})$", error=_l("'patient' or a companion's id.")),
        metadata={"description": "'patient', or a companion's id", "examples": ["patient"]})


# Answers ---------------------------------------------------------------------------------------

class TripClinicSchema(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)
    address = fields.String(required=True)
    phone = fields.String(required=True)


class TripPatientSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    timezone = fields.String(required=True)


class TripBookingSchema(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    start = _datetime(required=True, metadata={"description": "UTC"})
    end = _datetime(required=True)
    start_local = _datetime(required=True, metadata={"description": "In the patient's zone"})
    start_bangkok = _datetime(required=True)
    timezone = fields.String(required=True)


class FlightSchema(Schema):
    direction = fields.String(required=True, validate=validate.OneOf(DIRECTIONS))
    flight = fields.String(required=True, metadata={"examples": ["TG 917"]})
    airline = fields.String(required=True)
    number = fields.String(required=True)
    airport = fields.String(required=True, validate=validate.OneOf(list(AIRPORTS)))
    scheduled_at = _datetime(required=True, metadata={"description": "UTC"})
    scheduled_at_bangkok = _datetime(required=True)
    scheduled_at_local = _datetime(required=True, metadata={
        "description": "In the patient's zone"})


class PassportSchema(Schema):
    nationality = fields.String(required=True)
    number = fields.String(required=True, metadata={
        "description": "Masked (last three characters); GET …/passport-number for the whole"})
    expiry = fields.Date(required=True)


class CompanionSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    relationship = fields.String(required=True, validate=validate.OneOf(RELATIONSHIPS))
    nationality = fields.String(required=True)
    passport_number = fields.String(required=True, metadata={"description": "Masked"})
    passport_expiry = fields.Date(required=True)


class NightlyPriceSchema(Schema):
    min_minor = fields.Integer(required=True, metadata={"description": "Minor units"})
    max_minor = fields.Integer(required=True, metadata={"description": "Minor units"})
    currency = fields.String(required=True, metadata={"description": "ISO 4217 code"})


class PartnerHotelSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    address = fields.String(required=True)
    distance_note = fields.String(required=True)
    accessible = fields.Boolean(required=True, metadata={"description": "Wheelchair rooms"})
    nightly_price = fields.Nested(NightlyPriceSchema, required=True)


class OwnHotelSchema(Schema):
    name = fields.String(required=True)
    address = fields.String(required=True)


class HotelSchema(Schema):
    choice = fields.String(required=True, validate=validate.OneOf([c.value for c in HotelChoice]))
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in HotelStatus]),
                           metadata={"description": "A partner hotel's booking by the clinic"})
    partner_hotel = fields.Nested(PartnerHotelSchema, required=True, allow_none=True)
    own_hotel = fields.Nested(OwnHotelSchema, required=True, allow_none=True)


class PickupSchema(Schema):
    status = fields.String(required=True,
                           validate=validate.OneOf([s.value for s in PickupStatus]))
    vehicle = fields.String(required=True, validate=validate.OneOf(VEHICLES))
    wheelchair = fields.Boolean(required=True)
    luggage = fields.Integer(required=True)
    driver = fields.String(required=True, metadata={"description": "Set by the clinic"})
    driver_phone = fields.String(required=True)
    vehicle_plate = fields.String(required=True)


class TreatmentRefSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    recovery_days = fields.Integer(required=True)


class NeedsSchema(Schema):
    interpreter_language = fields.String(required=True, allow_none=True)
    mobility_needs = fields.String(required=True)
    dietary_needs = fields.String(required=True)
    treatment = fields.Nested(TreatmentRefSchema, required=True, allow_none=True)


class WarningSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)


class LetterSchema(Schema):
    state = fields.String(required=True, validate=validate.OneOf([s.value for s in LetterState]))
    number = fields.String(required=True)
    reason = fields.String(required=True, metadata={"description": "Why declined or revoked"})
    requested_at = _datetime(required=True)
    issued_at = _datetime(required=True, allow_none=True)


class TripSchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in TripStatus]))
    created_at = _datetime(required=True)
    clinic = fields.Nested(TripClinicSchema, required=True)
    patient = fields.Nested(TripPatientSchema, required=True)
    bookings = fields.List(fields.Nested(TripBookingSchema), required=True)
    flights = fields.List(fields.Nested(FlightSchema), required=True,
                          metadata={"description": "Arrival and departure, when given"})
    passport = fields.Nested(PassportSchema, required=True, allow_none=True)
    companions = fields.List(fields.Nested(CompanionSchema), required=True,
                             validate=validate.Length(max=MAX_COMPANIONS))
    hotel = fields.Nested(HotelSchema, required=True)
    partner_hotels = fields.List(fields.Nested(PartnerHotelSchema), required=True, metadata={
        "description": "The clinic's partner hotels to choose from"})
    pickup = fields.Nested(PickupSchema, required=True)
    needs = fields.Nested(NeedsSchema, required=True)
    warnings = fields.List(fields.Nested(WarningSchema), required=True, metadata={
        "description": "What may go wrong with the plan and what to do (never blocks)"})
    letter = fields.Nested(LetterSchema, required=True, allow_none=True, metadata={
        "description": "The visa support letter that counts now"})
    actions = fields.List(fields.String(validate=validate.OneOf(TRIP_ACTIONS)), required=True,
                          metadata={"description": "What the caller may do to this trip now"})


class TripSummarySchema(Schema):
    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in TripStatus]))
    created_at = _datetime(required=True)
    clinic = fields.Nested(TripClinicSchema, required=True)
    patient = fields.Nested(TripPatientSchema, required=True)
    flights = fields.List(fields.Nested(FlightSchema), required=True)


class TripListSchema(Schema):
    trips = fields.List(fields.Nested(TripSummarySchema), required=True)


class PassportNumberSchema(Schema):
    holder = fields.String(required=True, metadata={"description": "'patient' or a companion id"})
    number = fields.String(required=True, metadata={"description": "In full (audited)"})


class ItineraryEventSchema(Schema):
    key = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(
        ["landing", "pickup", "hotel", "consultation", "departure"]))
    starts_at = _datetime(required=True, metadata={"description": "UTC"})
    starts_at_bangkok = _datetime(required=True)
    starts_at_local = _datetime(required=True, metadata={"description": "In the patient's zone"})
    ends_at = _datetime(required=True, allow_none=True)
    title = fields.String(required=True)
    detail = fields.String(required=True)
    location = fields.String(required=True)
    booking_id = fields.Integer(required=True, allow_none=True)


class ItinerarySchema(Schema):
    trip = fields.Integer(required=True)
    sequence = fields.Integer(required=True, metadata={
        "description": "Raised whenever an event changes (the calendar file's SEQUENCE)"})
    timezone = fields.String(required=True, metadata={"description": "The patient's zone"})
    events = fields.List(fields.Nested(ItineraryEventSchema), required=True)

