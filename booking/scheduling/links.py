"""Manage links in emails: a signed, expiring link to one booking that works without signing
in. It opens pages; every change still asks for a confirmation (a POST), so a mail scanner
that follows links can never cancel a booking."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from booking.core.errors import NotFound
from booking.extensions import db
from booking.scheduling.models import Booking

SALT = "manage-booking"
#: Long enough for a reminder a week ahead of a booking made weeks ago; a new email brings a
#: new link.
MAX_AGE_DAYS = 45


class LinkExpired(NotFound):
    code = "link_expired"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def manage_token(booking: Booking) -> str:
    return _serializer().dumps({"b": booking.id, "p": booking.patient_id})


def manage_url(booking: Booking) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + f"/manage/{manage_token(booking)}"


def booking_for(token: str) -> Booking:
    """The booking a manage link names (still its patient's), or NotFound / LinkExpired."""
    if len(token) > 300:
        raise NotFound(_l("This link is not valid."))
    try:
        data = _serializer().loads(token, max_age=MAX_AGE_DAYS * 86400)
    except SignatureExpired:
        raise LinkExpired(_l("This link has expired. Sign in to see and change your booking; "
                             "every new email from us carries a fresh link.")) from None
    except BadData:
        raise NotFound(_l("This link is not valid.")) from None
    booking = db.session.get(Booking, data.get("b")) if isinstance(data, dict) else None
    if booking is None or booking.patient_id != data.get("p"):
        raise NotFound(_l("This link is not valid."))
    return booking
