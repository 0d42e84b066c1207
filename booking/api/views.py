"""/api/v1: clinics, consultation types, availability and bookings."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, g, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from booking.accounts.models import User
from booking.api import serializers
from booking.api.openapi import document
from booking.catalogue import services as catalogue
from booking.catalogue.models import ConsultationType
from booking.core.errors import BadRequest, DomainError, Unauthorized, Unprocessable
from booking.core.ids import MAX_ID
from booking.core.types import utcnow
from booking.core.zones import is_valid_zone
from booking.extensions import csrf, db
from booking.scheduling import cache as availability_cache
from booking.scheduling import services
from booking.scheduling.availability import find_slots

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.before_request
def _protect_session_writes() -> None:
    # Bearer tokens cannot be sent by another site; cookie sessions can, so they need the
    # CSRF header (X-CSRFToken) on every write.
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    # Loading the user first tells us whether a bearer token (rather than a cookie) was used.
    if current_user.is_authenticated and not g.get("api_token_auth"):
        csrf.protect()


def _require_user():  # type: ignore[no-untyped-def]
    if not current_user.is_authenticated:
        raise Unauthorized("Sign in or send a bearer token (Authorization: Bearer …).")
    return current_user._get_current_object()


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("Send a JSON object with Content-Type: application/json.")
    return body


def _int(value: object, name: str) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise Unprocessable(f"'{name}' must be a whole number.") from None
    if not 0 < number <= MAX_ID:
        raise Unprocessable(f"'{name}' must be a positive id.")
    return number


def _instant(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise Unprocessable(f"'{name}' must be an ISO 8601 date-time with an offset.")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise Unprocessable(f"'{name}' is not an ISO 8601 date-time.") from None
    if parsed.tzinfo is None:
        raise Unprocessable(f"'{name}' needs a UTC offset, e.g. 2027-03-01T02:00:00Z.")
    return parsed.astimezone(UTC)


def _day_or_instant(value: str | None, name: str, zone: ZoneInfo, default: datetime) -> datetime:
    if not value:
        return default
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return _instant(value, name)
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


@bp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    return jsonify(error={"code": error.code, "message": str(error.message)}), error.status


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(document())


@bp.get("/clinics")
def clinics():
    """Clinics with their doctors."""
    return jsonify(clinics=[serializers.clinic(c) for c in catalogue.list_clinics()])


@bp.get("/consultation-types")
def consultation_types():
    """Bookable consultation types, optionally for one clinic."""
    query = select(ConsultationType).where(ConsultationType.active).order_by(ConsultationType.id)
    if request.args.get("clinic"):
        query = query.where(ConsultationType.clinic_id == _int(request.args["clinic"], "clinic"))
    return jsonify(consultation_types=[serializers.consultation_type(t)
                                       for t in db.session.scalars(query)])


@bp.get("/availability")
def availability():
    """Free slots for a consultation type, in the asked zone with Bangkok time beside."""
    if not request.args.get("consultation_type"):
        raise Unprocessable("'consultation_type' is required.")
    ctype_id = _int(request.args["consultation_type"], "consultation_type")
    zone_name = request.args.get("tz") or (
        current_user.timezone if current_user.is_authenticated else "UTC")
    if not is_valid_zone(zone_name):
        raise Unprocessable(f"Unknown time zone '{zone_name}'.")
    zone = ZoneInfo(zone_name)
    now = utcnow()
    start = _day_or_instant(request.args.get("from"), "from", zone,
                            now.replace(second=0, microsecond=0))
    end = _day_or_instant(request.args.get("to"), "to", zone, start + timedelta(days=14))
    if request.args.get("to") and len(request.args["to"]) == 10:
        end += timedelta(days=1)  # a date means "through the end of that day"
    if end <= start:
        raise Unprocessable("'to' must be after 'from'.")
    if end - start > timedelta(days=current_app.config["AVAILABILITY_MAX_DAYS"]):
        raise Unprocessable("Ask for at most 62 days at a time.")
    doctors = [_int(request.args["doctor"], "doctor")] if request.args.get("doctor") else None
    # The minimum notice moves with the clock: cache per minute so a cached answer never
    # offers a slot that became too soon more than a minute ago.
    key = (f"{ctype_id}:{doctors}:{start.isoformat()}:{end.isoformat()}:{zone_name}:"
           f"{now.replace(second=0, microsecond=0).isoformat()}")

    def compute() -> dict:
        ctype = db.session.get(ConsultationType, ctype_id)
        if ctype is None or not ctype.active:
            abort(404)  # nothing is cached for a type that does not exist
        slots = find_slots(ctype, start=start, end=end, now=now, doctor_ids=doctors)
        return {"slots": [serializers.slot(s, zone_name) for s in slots], "timezone": zone_name}

    body = availability_cache.cached_json(key, compute)
    return current_app.response_class(body, mimetype="application/json")


@bp.post("/bookings")
def create_booking():
    """Hold a slot (201), or 409 when it has been taken."""
    user = _require_user()
    body = _json_body()
    # Check every field before looking anything up, so one answer names what is wrong.
    ctype_id = _int(body.get("consultation_type"), "consultation_type")
    doctor_id = _int(body.get("doctor"), "doctor")
    start = _instant(body.get("start"), "start")
    ctype = db.session.get(ConsultationType, ctype_id)
    if ctype is None:
        abort(404)
    patient = user
    if body.get("patient") is not None and not user.is_patient:
        patient = db.session.get(User, _int(body["patient"], "patient"))
        if patient is None:
            abort(404)
    zone = body.get("timezone")
    if zone is not None and not is_valid_zone(zone):
        raise Unprocessable(f"Unknown time zone '{zone}'.")
    booking = services.place_hold(user, patient=patient, ctype=ctype,
                                  doctor_id=doctor_id, start=start,
                                  patient_timezone=zone)
    db.session.commit()
    return jsonify(serializers.booking(booking)), 201


@bp.get("/bookings/<int:booking_id>")
def get_booking(booking_id: int):
    """One booking (404 when it is not yours to see)."""
    booking = services.get_booking(_require_user(), booking_id)
    return jsonify(serializers.booking(booking))


@bp.post("/bookings/<int:booking_id>/cancel")
def cancel_booking(booking_id: int):
    """Cancel a held or confirmed booking."""
    user = _require_user()
    booking = services.get_booking(user, booking_id)
    body = request.get_json(silent=True) or {}
    reason = body.get("reason", "") if isinstance(body, dict) else ""
    services.cancel(user, booking, reason=str(reason))
    db.session.commit()
    return jsonify(serializers.booking(booking))


@bp.post("/bookings/<int:booking_id>/reschedule")
def reschedule_booking(booking_id: int):
    """Move a confirmed booking to another free slot."""
    user = _require_user()
    booking = services.get_booking(user, booking_id)
    body = _json_body()
    doctor = _int(body["doctor"], "doctor") if body.get("doctor") is not None else None
    services.reschedule(user, booking, start=_instant(body.get("start"), "start"),
                        doctor_id=doctor)
    db.session.commit()
    return jsonify(serializers.booking(booking))
