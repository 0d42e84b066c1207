"""/api/v1: clinics, consultation types, availability, screenings and bookings.

Each route declares its query string, body and answers with the schemas of booking.api.schemas;
the OpenAPI document (/api/v1/openapi.json) is generated from those declarations."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, current_app, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from booking.accounts.models import User
from booking.api import schemas, serializers
from booking.api.common import answers_for, protect_session_writes, signed_in
from booking.api.errors import Blueprint, invalid
from booking.catalogue import services as catalogue
from booking.catalogue.models import Clinic, Condition, ConsultationType
from booking.core.actions import transaction
from booking.core.errors import Conflict, NotAllowed, NotFound, Unauthorized
from booking.core.types import utcnow
from booking.core.zones import days_in_utc
from booking.extensions import compress, csrf, db
from booking.payments import services as payments
from booking.scheduling import cache as availability_cache
from booking.scheduling import services
from booking.scheduling.availability import answer_lasts_until, find_slots
from booking.scheduling.consent import CONSENTS
from booking.screening import services as screening_services
from booking.screening.questions import ODI_SECTIONS

bp = Blueprint("api", __name__, url_prefix="/api/v1",
               description="Clinics, availability, screenings and bookings")
csrf.exempt(bp)
PUBLIC: list[dict] = []  # an operation's `security` when no sign-in is needed


bp.before_request(protect_session_writes)
answers = answers_for(bp)


def patient_only(func: Callable) -> Callable:
    """Signed in as a patient, else 401/403 before the body is read."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            raise Unauthorized(_l("Sign in or send a bearer token (Authorization: Bearer …)."))
        if not current_user.is_patient:
            raise NotAllowed(_l("Only patients use this."))
        return func(*args, **kwargs)

    return wrapper


def staff_only(func: Callable) -> Callable:
    """Signed in as a coordinator or an admin, else 401/403 before the body is read."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            raise Unauthorized(_l("Sign in or send a bearer token (Authorization: Bearer …)."))
        if current_user.is_patient:
            raise NotAllowed(_l("Only the clinic's coordinators can issue a refund."))
        return func(*args, **kwargs)

    return wrapper


def _user() -> User:
    return current_user._get_current_object()


# Catalogue -------------------------------------------------------------------------------------

@bp.route("/clinics", methods=["GET"])
@bp.doc(security=PUBLIC)
@bp.response(200, schemas.ClinicListSchema)
def clinics() -> dict:
    """Clinics with their doctors."""
    return {"clinics": [serializers.clinic(c) for c in catalogue.list_clinics()]}


@bp.route("/consultation-types", methods=["GET"])
@bp.doc(security=PUBLIC)
@bp.arguments(schemas.ConsultationTypeQuerySchema(), location="query")
@bp.response(200, schemas.ConsultationTypeListSchema)
def consultation_types(args: dict) -> dict:
    """Bookable consultation types (of listed clinics), optionally for one clinic."""
    query = (select(ConsultationType).join(Clinic)
             .where(ConsultationType.active, Clinic.active).order_by(ConsultationType.id))
    if args.get("clinic") is not None:
        query = query.where(ConsultationType.clinic_id == args["clinic"])
    return {"consultation_types": [serializers.consultation_type(t)
                                   for t in db.session.scalars(query)]}


def _start_of(value: date | datetime, zone: ZoneInfo, *, end: bool = False) -> datetime:
    """An instant as is; a day at its start in `zone` (or, for `end`, at its end)."""
    if isinstance(value, datetime):
        return value
    start, day_end = days_in_utc(value, zone=zone)
    return day_end if end else start


@bp.route("/availability", methods=["GET"])
@bp.doc(security=PUBLIC)
@bp.arguments(schemas.AvailabilityQuerySchema(), location="query")
@bp.response(200, schemas.AvailabilitySchema)
@answers(404, 422)
@compress.compressed()
def availability(args: dict):  # type: ignore[no-untyped-def]
    """Free slots for a consultation type, in the asked zone with Bangkok time beside."""
    ctype_id = args["consultation_type"]
    zone_name = args.get("tz") or (
        current_user.timezone if current_user.is_authenticated else "UTC")
    zone = ZoneInfo(zone_name)
    now = utcnow()
    start = (_start_of(args["from_"], zone) if args.get("from_") is not None
             else now.replace(second=0, microsecond=0))
    end = (_start_of(args["to"], zone, end=True) if args.get("to") is not None
           else start + timedelta(days=14))
    if end <= start:
        raise invalid("to", _("Must be after 'from'."))
    max_days = current_app.config["AVAILABILITY_MAX_DAYS"]
    if end - start > timedelta(days=max_days):
        raise invalid("to", _("Ask for at most %(days)s days at a time.", days=max_days))
    doctors = [args["doctor"]] if args.get("doctor") is not None else None
    # The minimum notice and the horizon move with the clock: an answer is kept only until
    # the clock could change it (answer_lasts_until), or a schedule change.
    key = f"{ctype_id}:{doctors}:{start.isoformat()}:{end.isoformat()}:{zone_name}"

    def compute() -> tuple[dict, datetime | None]:
        ctype = db.session.get(ConsultationType, ctype_id)
        if not services.bookable_type(ctype):
            abort(404)  # nothing is cached for a type that is not offered
        slots = find_slots(ctype, start=start, end=end, now=now, doctor_ids=doctors)
        return schemas.AvailabilitySchema().dump({
            "slots": [serializers.slot(s, zone_name) for s in slots], "timezone": zone_name}), \
            answer_lasts_until(ctype, slots, end=end, now=now)

    body = availability_cache.cached_json(key, compute, now)
    return current_app.response_class(body, mimetype="application/json")


# Bookings --------------------------------------------------------------------------------------

def _patient_for_hold(actor: User, ctype: ConsultationType, args: dict) -> User:
    """The patient a hold is for: the actor, or for staff the patient they named, reached only
    as find_patient_for_clinic allows (never any patient by id)."""
    named = "patient" in args or "patient_email" in args
    if actor.is_patient:
        if named:
            raise invalid("patient", _("Only clinic staff book for another patient."))
        return actor
    if not named:
        raise invalid("patient", _("Name the patient: send 'patient' (an id) or "
                                   "'patient_email'."))
    return services.find_patient_for_clinic(actor, ctype.clinic_id,
                                            patient_id=args.get("patient"),
                                            email=args.get("patient_email"))


@bp.route("/bookings", methods=["POST"])
@signed_in
@bp.arguments(schemas.HoldSchema())
@bp.response(201, schemas.BookingSchema, description="Held")
@answers(400, 401, 403, 404, 409, 413, 422)
def create_booking(args: dict) -> dict:
    """Hold a slot (201).

    A patient's hold needs a passed screening (422 `screening_required`, or
    `screening_referred` when it found warning signs). 409: `slot_taken`, `hold_limit` (too
    many holds waiting for a deposit), `patient_overlap` (the patient has a booking then).
    Staff name the patient with `patient` (one who booked with the clinic) or `patient_email`.
    """
    actor = _user()
    ctype = db.session.get(ConsultationType, args["consultation_type"])
    if not services.bookable_type(ctype):
        raise NotFound(_l("This consultation type is not offered."))
    patient = _patient_for_hold(actor, ctype, args)
    with transaction():
        booking = services.place_hold(actor, patient=patient, ctype=ctype,
                                      doctor_id=args["doctor"], start=args["start"],
                                      patient_timezone=args.get("timezone"))
    return serializers.booking(booking, _user())


@bp.route("/bookings/<int:booking_id>", methods=["GET"])
@signed_in
@bp.response(200, schemas.BookingSchema)
@answers(401, 404)
def get_booking(booking_id: int) -> dict:
    """One booking (404 when it is not yours to see), with what it still needs."""
    user = _user()
    return serializers.booking(services.get_booking(user, booking_id), user)


@bp.route("/bookings/<int:booking_id>/cancel", methods=["POST"])
@signed_in
@bp.arguments(schemas.CancelSchema(), required=False)
@bp.response(200, schemas.BookingSchema)
@answers(400, 401, 403, 404, 409, 413, 422)
def cancel_booking(args: dict, booking_id: int) -> dict:
    """Cancel a held or confirmed booking."""
    user = _user()
    booking = services.get_booking(user, booking_id)
    with transaction():
        services.cancel(user, booking, reason=args.get("reason", ""))
    return serializers.booking(booking, _user())


@bp.route("/bookings/<int:booking_id>/reschedule", methods=["POST"])
@signed_in
@bp.arguments(schemas.RescheduleSchema())
@bp.response(200, schemas.BookingSchema)
@answers(400, 401, 403, 404, 409, 413, 422)
def reschedule_booking(args: dict, booking_id: int) -> dict:
    """Move a confirmed booking to another free slot."""
    user = _user()
    booking = services.get_booking(user, booking_id)
    with transaction():
        services.reschedule(user, booking, start=args["start"], doctor_id=args.get("doctor"))
    return serializers.booking(booking, _user())


@bp.route("/bookings/<int:booking_id>/consents", methods=["POST"])
@patient_only
@bp.arguments(schemas.ConsentsSchema())
@bp.response(200, schemas.BookingSchema)
@answers(400, 401, 403, 404, 409, 413, 422)
def give_consents(args: dict, booking_id: int) -> dict:
    """Give the booking's consents: every one of `required_consents`, each with its current
    version (409 `consent_outdated` when the text shown was an older version)."""
    user = _user()
    booking = services.get_booking(user, booking_id)
    given = {c["kind"]: c["version"] for c in args["consents"]}
    missing = [kind for kind in CONSENTS if kind not in given]
    if missing:
        raise invalid("consents", _("Give every consent: %(kinds)s is missing.",
                                    kinds=", ".join(missing)))
    for kind, text in CONSENTS.items():
        if given[kind] != text.version:
            raise Conflict(_("“%(title)s” has changed (now version %(version)s): show the "
                             "current text again and send its version.",
                             title=text.title, version=text.version), code="consent_outdated")
    with transaction():
        services.give_consent(user, booking, list(given))
    return serializers.booking(booking, _user())


# Deposits --------------------------------------------------------------------------------------

@bp.route("/bookings/<int:booking_id>/checkout", methods=["POST"])
@patient_only
@bp.arguments(schemas.CheckoutRequestSchema(), required=False)
@bp.response(200, schemas.CheckoutSchema)
@answers(400, 401, 403, 404, 409, 413, 422, 503)
def checkout(args: dict, booking_id: int) -> dict:
    """A Stripe Checkout Session for a held booking's deposit; the same session again while
    it is open. 422 `checkout_incomplete` names what is missing (screening, consents); 409
    when the booking is not held any more; 503 when Stripe does not answer (the hold stays)."""
    user = _user()
    booking = services.get_booking(user, booking_id)
    with transaction():
        attempt = payments.start_checkout(user, booking, args.get("currency", "THB").upper())
    if attempt.state != "open":  # paid in the meantime (now recorded)
        raise Conflict(_("This deposit has already been paid, or is being processed: there is "
                         "nothing more to pay."), code="already_paid")
    return {"checkout_url": attempt.url, "session_id": attempt.session_id,
            "amount": attempt.amount_minor, "currency": attempt.currency,
            "expires_at": attempt.expires_at}


@bp.route("/bookings/<int:booking_id>/refunds", methods=["POST"])
@staff_only
@bp.arguments(schemas.RefundRequestSchema())
@bp.response(201, schemas.BookingSchema, description="Refund made (or failed at Stripe: "
                                                      "see its status)")
@answers(400, 401, 403, 404, 409, 413, 422)
def create_refund(args: dict, booking_id: int) -> dict:
    """The clinic refunds part or all of what is left, with a reason the patient reads. 409
    `refund_too_large` past what is left, `nothing_to_refund` when nothing was paid. An
    `Idempotency-Key` header makes a retried request the same refund."""
    user = _user()
    booking = services.get_booking(user, booking_id)
    key = (request.headers.get("Idempotency-Key") or "")[:60] or secrets.token_urlsafe(16)
    with transaction():
        payments.refund_by_clinic(user, booking, args["amount"], args["reason"], f"api:{key}")
    return serializers.booking(booking, user)


# Screening -------------------------------------------------------------------------------------

@bp.route("/screenings", methods=["POST"])
@patient_only
@bp.arguments(schemas.ScreeningInSchema())
@bp.response(201, schemas.ScreeningSchema, description="Recorded")
@answers(400, 401, 403, 413, 422)
def record_screening(args: dict) -> dict:
    """Answer the health questions (as on the booking pages); a red flag means "refer"."""
    condition_id = args.get("condition_id")
    if condition_id is not None and db.session.get(Condition, condition_id) is None:
        raise invalid("condition_id", _("No such condition."))
    odi = args["odi_answers"]
    with transaction():
        screening = screening_services.record_screening(_user(), {
            "condition_id": condition_id,
            "pain_months": args["pain_months"],
            "prior_treatments": sorted(set(args.get("prior_treatments", []))),
            "prior_surgery": args["prior_surgery"],
            "nrs": args["nrs"],
            "odi_answers": {key: odi.get(key) for key, _label, _options in ODI_SECTIONS},
            "imaging_available": args["imaging_available"],
            "red_flags": sorted(set(args.get("red_flags", []))),
        })
    return serializers.screening(screening)


@bp.route("/screenings/latest", methods=["GET"])
@patient_only
@bp.response(200, schemas.ScreeningSchema)
@answers(401, 403, 404)
def latest_screening() -> dict:
    """Your latest screening still valid for booking (404 when there is none)."""
    screening = screening_services.latest_screening(_user())
    if screening is None:
        raise NotFound(_l("No recent screening: answer the health questions first."),
                       code="no_screening")
    return serializers.screening(screening)
