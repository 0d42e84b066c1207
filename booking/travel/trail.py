"""How travel's objects and actions read in the audit trail's sentences
("Kanya Suwan confirmed the airport pickup of the trip of Jane Miller")."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from booking.accounts.models import User
from booking.core.audit import Named, register_labeller, register_verbs
from booking.core.labels import by_column, int_ids
from booking.extensions import db
from booking.travel.models import PartnerHotel, Trip, VisaLetter

VERBS = {
    "trip.created": _l("started"),
    "trip.booking_added": _l("added a consultation to"),
    "trip.closed": _l("closed"),
    "trip.arrival_flight_saved": _l("set the flight to Bangkok of"),
    "trip.departure_flight_saved": _l("set the flight home of"),
    "trip.arrival_flight_removed": _l("removed the flight to Bangkok of"),
    "trip.departure_flight_removed": _l("removed the flight home of"),
    "trip.passport_saved": _l("saved the passport details of"),
    "trip.companion_added": _l("added a companion to"),
    "trip.companion_removed": _l("removed a companion from"),
    "trip.hotel_saved": _l("chose the hotel of"),
    "trip.hotel_status_set": _l("set the hotel booking status of"),
    "trip.pickup_saved": _l("asked for the airport pickup of"),
    "trip.pickup_confirmed": _l("confirmed the airport pickup of"),
    "trip.needs_saved": _l("changed the needs of"),
    "passport.viewed": _l("viewed a passport number in"),
    "letter.requested": _l("requested"),
    "letter.issued": _l("issued"),
    "letter.declined": _l("declined"),
    "letter.revoked": _l("revoked"),
    "letter.downloaded": _l("downloaded"),
    "letter.verified": _l("showed the verification page of"),
    "partner_hotel.added": _l("added the partner hotel"),
    "partner_hotel.saved": _l("changed the partner hotel"),
}


def trip_labels(ids: list[str]) -> dict[str, Named]:
    rows = db.session.execute(select(Trip.id, User.name, User.id)
                              .join(User, Trip.patient_id == User.id)
                              .where(Trip.id.in_(int_ids(ids))))
    return {str(ident): Named(_("the trip of %(patient)s", patient=name), _("their trip"), owner)
            for ident, name, owner in rows}


def letter_labels(ids: list[str]) -> dict[str, Named]:
    rows = db.session.execute(select(VisaLetter.id, VisaLetter.number, User.name, User.id)
                              .join(Trip, VisaLetter.trip_id == Trip.id)
                              .join(User, Trip.patient_id == User.id)
                              .where(VisaLetter.id.in_(int_ids(ids))))
    return {str(ident): Named(_("visa letter %(number)s for %(patient)s", number=number,
                                patient=name),
                              _("visa letter %(number)s", number=number), owner)
            for ident, number, name, owner in rows}


def register() -> None:
    register_verbs(VERBS)
    register_labeller("Trip", trip_labels)
    register_labeller("VisaLetter", letter_labels)
    register_labeller("PartnerHotel", by_column(PartnerHotel))
