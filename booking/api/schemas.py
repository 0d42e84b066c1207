"""Request and response schemas of /api/v1. The OpenAPI document is generated from these, and
every answer is dumped through them, so the document and the code cannot drift apart.

Unknown fields in a JSON body are refused (422 naming them); unknown query parameters are
ignored."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from booking.api.fields import (
    DayOrInstant,
    Id,
    Instant,
    QueryId,
    StrictBoolean,
    Zone,
    no_nul,
)
from booking.scheduling.consent import CONSENTS
from booking.scheduling.models import STATES
from booking.scheduling.permissions import BOOKING_ACTIONS
from booking.scheduling.services import MAX_REASON, MISSING_LABELS
from booking.screening.models import ELIGIBLE, REFER
from booking.screening.questions import ODI_SECTIONS, PRIOR_TREATMENTS, RED_FLAGS

DATE_TIME = {"format": "date-time"}
#: The ODI sections a patient may leave out (the form marks "sex" as optional).
OPTIONAL_ODI = ("sex",)


def _datetime(*, metadata: dict | None = None, **kwargs: object) -> fields.String:
    """An instant already written as ISO 8601 by the serializers."""
    return fields.String(metadata={**DATE_TIME, **(metadata or {})},
                         **kwargs)  # type: ignore[arg-type]


# Errors ----------------------------------------------------------------------------------------

class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "Machine-readable code"})
    message = fields.String(required=True, metadata={"description": "Safe to show a person"})
    fields_ = fields.Dict(
        data_key="fields", keys=fields.String(), values=fields.List(fields.String()),
        metadata={"description": "For validation failures: field (dotted path) -> messages"})


class ErrorSchema(Schema):
    """Every 4xx and 5xx answer: {"error": {"code", "message", "fields"?}}."""

    error = fields.Nested(ErrorDetailSchema, required=True)


# Catalogue -------------------------------------------------------------------------------------

class DoctorSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    specialty = fields.String(required=True)
    languages = fields.List(fields.String(), required=True)


class ClinicSchema(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)
    address = fields.String(required=True)
    accreditation = fields.String(required=True)
    languages = fields.List(fields.String(), required=True)
    timezone = fields.String(required=True)
    doctors = fields.List(fields.Nested(DoctorSchema), required=True)


class ClinicListSchema(Schema):
    clinics = fields.List(fields.Nested(ClinicSchema), required=True)


class MoneySchema(Schema):
    amount_minor = fields.Integer(required=True, metadata={"description": "Minor units"})
    currency = fields.String(required=True, metadata={"description": "ISO 4217 code"})


class ConsultationTypeSchema(Schema):
    id = fields.Integer(required=True)
    clinic = fields.Integer(required=True)
    name = fields.String(required=True)
    mode = fields.String(required=True)
    duration_minutes = fields.Integer(required=True)
    deposit = fields.Nested(MoneySchema, required=True)
    min_notice_minutes = fields.Integer(required=True)
    horizon_days = fields.Integer(required=True)


class ConsultationTypeListSchema(Schema):
    consultation_types = fields.List(fields.Nested(ConsultationTypeSchema), required=True)


class ConsultationTypeQuerySchema(Schema):
    clinic = QueryId(metadata={"description": "Only this clinic's types"})


# Availability ----------------------------------------------------------------------------------

_DAY_OR_INSTANT = {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]}


class AvailabilityQuerySchema(Schema):
    #: Its result depends on the query's text alone (see errors.JsonObjectParser).
    QUERY_TEXT_ONLY = True

    consultation_type = QueryId(required=True)
    doctor = QueryId(metadata={"description": "Only this doctor's slots"})
    from_ = DayOrInstant(data_key="from", metadata={
        **_DAY_OR_INSTANT, "description": "A day (in tz) or an instant; default now"})
    to = DayOrInstant(metadata={
        **_DAY_OR_INSTANT,
        "description": "A day (through its end, in tz) or an instant; default from + 14 days"})
    tz = Zone()


class SlotSchema(Schema):
    doctor = fields.Integer(required=True)
    start = _datetime(required=True)
    end = _datetime(required=True)
    start_local = _datetime(required=True, metadata={"description": "In the asked zone"})
    start_bangkok = _datetime(required=True)


class AvailabilitySchema(Schema):
    slots = fields.List(fields.Nested(SlotSchema), required=True)
    timezone = fields.String(required=True)


# Bookings --------------------------------------------------------------------------------------

class HoldSchema(Schema):
    consultation_type = Id(required=True)
    doctor = Id(required=True)
    start = Instant(required=True)
    timezone = Zone(metadata={"description": "The patient's zone for start_local; default "
                                             "the account's"})
    patient = Id(metadata={"description": "Staff only: a patient of this clinic, by id"})
    patient_email = fields.Email(validate=[validate.Length(max=320), no_nul], metadata={
        "description": "Staff only: the patient's exact account email"})

    @validates_schema
    def _one_patient(self, data: dict, **kwargs: object) -> None:
        if "patient" in data and "patient_email" in data:
            raise ValidationError(str(_l("Send either 'patient' or 'patient_email', not both.")),
                                  "patient_email")


class CancelSchema(Schema):
    reason = fields.String(validate=[validate.Length(max=MAX_REASON), no_nul])


class RescheduleSchema(Schema):
    start = Instant(required=True)
    doctor = Id(allow_none=True, metadata={"description": "Another doctor of the clinic"})


class BookingEventSchema(Schema):
    at = _datetime(required=True)
    from_state = fields.String(data_key="from", attribute="from", required=True,
                               allow_none=True)
    to = fields.String(required=True)
    detail = fields.String(required=True)


class RequiredConsentSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(CONSENTS)))
    version = fields.String(required=True, metadata={"description": "The current version"})
    title = fields.String(required=True)
    given_at = _datetime(required=True, allow_none=True)


class BookingSchema(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    state = fields.String(required=True, validate=validate.OneOf(STATES))
    clinic = fields.Integer(required=True)
    doctor = fields.Integer(required=True)
    consultation_type = fields.Integer(required=True)
    start = _datetime(required=True)
    end = _datetime(required=True)
    start_local = _datetime(required=True)
    start_bangkok = _datetime(required=True)
    timezone = fields.String(required=True)
    hold_expires_at = _datetime(required=True, allow_none=True)
    deposit = fields.Nested(MoneySchema, required=True)
    video_url = fields.String(required=True, allow_none=True, metadata={"format": "uri"})
    history = fields.List(fields.Nested(BookingEventSchema), required=True)
    required_consents = fields.List(fields.Nested(RequiredConsentSchema), required=True)
    missing = fields.List(fields.String(validate=validate.OneOf(list(MISSING_LABELS))),
                          required=True, metadata={
                              "description": "What the patient still has to give before the "
                                             "booking can be confirmed"})
    actions = fields.List(fields.String(validate=validate.OneOf(
        [a.value for a in BOOKING_ACTIONS])), required=True, metadata={
            "description": "What the caller may do to this booking now (the same rule that "
                           "shows the booking page's buttons)"})
    payment_status = fields.String(required=True, validate=validate.OneOf(
        ["unpaid", "paid", "partially_refunded", "refunded"]), metadata={
            "description": "From the payments ledger"})
    amount_paid = fields.Nested(MoneySchema, required=True)
    amount_refunded = fields.Nested(MoneySchema, required=True)
    refunds = fields.List(fields.Nested(lambda: RefundSchema()), required=True)


class RefundSchema(Schema):
    id = fields.Integer(required=True)
    amount_minor = fields.Integer(required=True)
    currency = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(
        ["pending", "succeeded", "failed"]))
    cause = fields.String(required=True, metadata={
        "description": "policy, clinic, late_payment, manual or stripe"})
    reason = fields.String(required=True)
    created_at = _datetime(required=True)


class CheckoutRequestSchema(Schema):
    currency = fields.String(load_default="THB", validate=[validate.Length(equal=3), no_nul],
                             metadata={"description": "THB, or a currency with an exchange "
                                                      "rate (USD, EUR, GBP, AUD, SGD, JPY, CNY)"})


class CheckoutSchema(Schema):
    checkout_url = fields.String(required=True, metadata={"format": "uri"})
    session_id = fields.String(required=True)
    amount = fields.Integer(required=True, metadata={"description": "Minor units"})
    currency = fields.String(required=True)
    expires_at = _datetime(required=True)


class RefundRequestSchema(Schema):
    amount = fields.Integer(required=True, strict=True, validate=validate.Range(
        min=1, max=10**10), metadata={"description": "Minor units of the paid currency"})
    reason = fields.String(required=True, validate=[validate.Length(min=1, max=500), no_nul])


class ConsentGivenSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(CONSENTS)))
    version = fields.String(required=True, validate=[validate.Length(max=20), no_nul])


class ConsentsSchema(Schema):
    consents = fields.List(fields.Nested(ConsentGivenSchema), required=True,
                           validate=validate.Length(min=1, max=len(CONSENTS)))


# Screening -------------------------------------------------------------------------------------

OdiAnswersSchema = Schema.from_dict({
    key: fields.Integer(strict=True, validate=validate.Range(min=0, max=len(options) - 1),
                        required=key not in OPTIONAL_ODI, allow_none=key in OPTIONAL_ODI,
                        metadata={"description": str(label)})
    for key, label, options in ODI_SECTIONS
}, name="OdiAnswersSchema")


class ScreeningInSchema(Schema):
    condition_id = Id(allow_none=True, metadata={"description": "A condition of the catalogue"})
    pain_months = fields.Integer(strict=True, required=True,
                                 validate=validate.Range(min=0, max=600))
    prior_treatments = fields.List(
        fields.String(validate=validate.OneOf([key for key, _text in PRIOR_TREATMENTS])),
        validate=validate.Length(max=len(PRIOR_TREATMENTS)))
    prior_surgery = StrictBoolean(required=True)
    nrs = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=10),
                         metadata={"description": "Pain now, 0 (none) to 10 (worst)"})
    odi_answers = fields.Nested(OdiAnswersSchema, required=True, metadata={
        "description": "Oswestry Disability Index: section -> answer 0-5 (sex may be left out)"})
    imaging_available = StrictBoolean(required=True)
    red_flags = fields.List(
        fields.String(validate=validate.OneOf([key for key, _text in RED_FLAGS])),
        validate=validate.Length(max=len(RED_FLAGS)))


class RedFlagSchema(Schema):
    key = fields.String(required=True)
    label = fields.String(required=True)


class ScreeningSchema(Schema):
    id = fields.Integer(required=True)
    created_at = _datetime(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf([ELIGIBLE, REFER]))
    odi_score = fields.Integer(required=True, allow_none=True)
    red_flags = fields.List(fields.Nested(RedFlagSchema), required=True)
    advice = fields.String(required=True, allow_none=True,
                           metadata={"description": "For 'refer': what to do instead"})
