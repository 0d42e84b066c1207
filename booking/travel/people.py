"""The people on a trip: the patient's passport and up to four companions with theirs.
Numbers are sealed at rest (core.crypto), shown masked, and in full only to the patient and the
clinic's coordinators, each such view audited."""

from __future__ import annotations

import re
from datetime import date, datetime

from babel import Locale
from flask_babel import lazy_gettext as _l

from booking.accounts.models import User
from booking.core import audit, crypto
from booking.core.errors import Conflict, FieldInvalid, NotAllowed, NotFound
from booking.core.types import utcnow
from booking.extensions import db
from booking.travel.models import MAX_COMPANIONS, RELATIONSHIPS, Companion, Trip
from booking.travel.services import (
    MAX_NAME,
    _editable,
    can_edit_trip,
    can_see_trip,
    itinerary_changed,
)

PASSPORT_RE = re.compile(r"^[A-Z0-9]{5,20}$")


# Passports ---------------------------------------------------------------------------------

def countries(locale: str = "en") -> dict[str, str]:
    """ISO 3166 alpha-2 code -> the country's name in `locale`, sorted by name."""
    names = Locale.parse(locale).territories
    pairs = [(code, name) for code, name in names.items() if len(code) == 2 and code.isalpha()
             and code not in ("ZZ", "EU", "EZ", "UN", "QO", "XA", "XB")]
    return dict(sorted(pairs, key=lambda p: p[1]))


def country_name(code: str | None, locale: str = "en") -> str:
    return countries(locale).get(code or "", code or "")


def _passport(nationality: str | None, number: str | None, expiry: date | None,
              now: datetime, prefix: str = "") -> tuple[str, str, date]:
    nationality = (nationality or "").strip().upper()
    if nationality not in countries():
        raise FieldInvalid(f"{prefix}nationality", _l("Choose the country that issued the "
                                                      "passport."), code="invalid_country")
    number = re.sub(r"[\s-]", "", (number or "")[:40]).upper()
    if not PASSPORT_RE.match(number):
        raise FieldInvalid(f"{prefix}passport_number", _l(
            "A passport number has 5 to 20 letters and digits, as printed on the photo page."),
            code="invalid_passport")
    if expiry is None:
        raise FieldInvalid(f"{prefix}passport_expiry", _l("Give the passport's expiry date."),
                           code="missing_expiry")
    if expiry <= now.date():
        raise FieldInvalid(f"{prefix}passport_expiry", _l(
            "This passport has expired. Renew it before you travel and enter the new one."),
            code="passport_expired")
    return nationality, number, expiry


def save_passport(actor: User, trip: Trip, *, nationality: str | None, number: str | None,
                  expiry: date | None, now: datetime | None = None) -> Trip:
    """The patient's passport; the number is sealed, the audit trail says only that it
    changed."""
    nationality, number, expiry = _passport(nationality, number, expiry, now or utcnow())
    _editable(actor, trip)
    had = trip.passport_number_sealed is not None
    trip.passport_nationality = nationality
    trip.passport_number_sealed = crypto.seal(number)
    trip.passport_expiry = expiry
    db.session.flush()
    audit.record(actor, "trip.passport_saved", trip,
                 after={"nationality": nationality, "expiry": expiry.isoformat(),
                        "number": "changed" if had else "added"})
    return trip


def mask(number: str) -> str:
    """"AB1234567" -> "••••••567": enough to recognise, not enough to use."""
    return "•" * max(len(number) - 3, 2) + number[-3:]


def passport_number(actor: User, holder: Trip | Companion, *, reveal: bool) -> str | None:
    """The holder's passport number: masked for anyone, in full (and audited) only for the
    patient and the clinic's coordinators when asked for."""
    sealed = holder.passport_number_sealed
    if sealed is None:
        return None
    trip = holder if isinstance(holder, Trip) else holder.trip
    if not can_see_trip(actor, trip):
        raise NotFound(_l("No such trip."))
    number = crypto.unseal(sealed)
    if not reveal:
        return mask(number)
    if not may_reveal(actor, trip):
        raise NotAllowed(_l("Only the patient and the clinic's coordinators see passport "
                            "numbers in full."))
    audit.record(actor, "passport.viewed", trip,
                 after={"whose": "patient" if isinstance(holder, Trip)
                        else f"companion {holder.id}"})
    return number


def may_reveal(actor: User, trip: Trip) -> bool:
    return can_edit_trip(actor, trip)


# Companions --------------------------------------------------------------------------------

def _companion_fields(name: str | None, relationship: str | None) -> tuple[str, str]:
    name = " ".join((name or "")[:MAX_NAME + 1].split())
    if not name:
        raise FieldInvalid("name", _l("Give the name as it is in the passport."),
                           code="missing_name")
    if len(name) > MAX_NAME:
        raise FieldInvalid("name", _l("A name may have up to 200 characters."),
                           code="name_too_long")
    if relationship not in RELATIONSHIPS:
        raise FieldInvalid("relationship", _l("Choose how they are related to you."),
                           code="invalid_relationship")
    return name, relationship


def add_companion(actor: User, trip: Trip, *, name: str | None, relationship: str | None,
                  nationality: str | None, passport_number: str | None,
                  passport_expiry: date | None, now: datetime | None = None) -> Companion:
    """Someone travelling with the patient (up to four)."""
    name, relationship = _companion_fields(name, relationship)
    nationality, number, expiry = _passport(nationality, passport_number, passport_expiry,
                                            now or utcnow())
    _editable(actor, trip)
    if len(trip.companions) >= MAX_COMPANIONS:
        raise Conflict(_l("A trip can have up to %(n)s companions. Remove one to add another.",
                          n=MAX_COMPANIONS), code="too_many_companions")
    companion = Companion(trip=trip, name=name, relationship_to_patient=relationship,
                          nationality=nationality, passport_number_sealed=crypto.seal(number),
                          passport_expiry=expiry)
    db.session.add(companion)
    trip.ics_sequence += 1
    db.session.flush()
    audit.record(actor, "trip.companion_added", trip,
                 after={"companion": companion.id, "name": name, "relationship": relationship,
                        "nationality": nationality})
    itinerary_changed.send(trip, actor=actor, what="companions")
    return companion


def remove_companion(actor: User, trip: Trip, companion_id: int) -> None:
    _editable(actor, trip)
    companion = next((c for c in trip.companions if c.id == companion_id), None)
    if companion is None:
        raise NotFound(_l("No such companion."))
    audit.record(actor, "trip.companion_removed", trip,
                 before={"companion": companion.id, "name": companion.name})
    trip.companions.remove(companion)
    trip.ics_sequence += 1
    db.session.flush()
    itinerary_changed.send(trip, actor=actor, what="companions")
