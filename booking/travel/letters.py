"""Visa support letters: the patient requests one for a trip, the clinic's coordinators issue or
decline it, and an issued letter may be revoked. Services flush, never commit.

One state machine (`TRANSITIONS`), one function that applies a move (`_move`: under the trip's
row lock, re-checking the state inside it, with the audit record), and one signal,
`letter_changed(letter, actor=, from_state=)`, sent inside the transaction; the letter's
messages (letter_messages.py) subscribe to it.

What an issued letter says is sealed into the row when it is issued (`content_sealed`), so the
PDF and the verification page show the letter as issued, whatever the trip says later."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from blinker import Namespace
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking.accounts.models import User
from booking.core import audit, crypto
from booking.core.errors import Conflict, FieldInvalid, NotAllowed, NotFound, Unprocessable
from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.payments.ledger import summaries
from booking.travel import pdf, services
from booking.travel import people as trip_people
from booking.travel.models import (
    LETTER_LABELS,
    RELATIONSHIP_LABELS,
    LetterState,
    Trip,
    VisaLetter,
)

signals = Namespace()
#: (letter, actor=, from_state=None for a new request): sent inside the transaction after every
#: move; `letter.state` is the new state.
letter_changed = signals.signal("letter-changed")

REQUESTED, ISSUED, DECLINED, REVOKED = (LetterState.REQUESTED, LetterState.ISSUED,
                                        LetterState.DECLINED, LetterState.REVOKED)
#: The allowed moves; None is "no letter yet".
TRANSITIONS: dict[str | None, frozenset[str]] = {
    None: frozenset({REQUESTED}),
    REQUESTED: frozenset({ISSUED, DECLINED}),
    ISSUED: frozenset({REVOKED}),
    DECLINED: frozenset(),
    REVOKED: frozenset(),
}
#: The states the database allows one of per trip (index uq_visa_letter_live).
LIVE = (REQUESTED, ISSUED)
#: Letters are numbered SBV-<year>-<6 of these>: no 0/O, 1/I/L, 2/Z, 5/S, 8/B to misread.
ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
NUMBER_LENGTH = 6
MAX_REASON = 500
SIGNATORY_TITLE = "Patient Coordinator"


def may_move(from_state: str | None, to_state: str) -> bool:
    return to_state in TRANSITIONS.get(from_state, frozenset())


# Who may do what ---------------------------------------------------------------------------

def may_request(actor: User, trip: Trip) -> bool:
    return actor.is_patient and trip.patient_id == actor.id


def may_decide(actor: User, trip: Trip) -> bool:
    """Issue or decline: the trip's clinic's coordinators (who sign it)."""
    return actor.is_coordinator and actor.clinic_id == trip.clinic_id


def may_revoke(actor: User, trip: Trip) -> bool:
    """The clinic's coordinators, and admins (a letter found to be misused)."""
    return may_decide(actor, trip) or actor.is_admin


def get_letter(actor: User, letter_id: int) -> VisaLetter:
    """A letter the actor may see (the patient, the clinic's coordinators, admins); any other
    does not exist for them."""
    letter = db.session.get(VisaLetter, letter_id)
    if letter is None or not services.can_see_trip(actor, letter.trip):
        raise NotFound(_l("No such letter."))
    return letter


# What a request needs ----------------------------------------------------------------------

def deposit_paid(trip: Trip) -> bool:
    """At least one booking of the trip that still takes place has its deposit paid."""
    return any(s.paid for s in summaries(services.active_bookings(trip)).values())


def missing_for_letter(trip: Trip) -> list[str]:
    """What the trip lacks before a letter can be requested (or issued), as phrases the
    patient reads ("your flight home"); empty when nothing does."""
    missing = []
    if not deposit_paid(trip):
        missing.append(_("the deposit paid for one of your consultations"))
    if trip.passport_number_sealed is None:
        missing.append(_("your passport details"))
    if trip.arrival is None:
        missing.append(_("your flight to Bangkok"))
    if trip.departure is None:
        missing.append(_("your flight home"))
    return missing


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else _("%(some)s and %(last)s",
                                               some=", ".join(items[:-1]), last=items[-1])


def live_letter(trip: Trip) -> VisaLetter | None:
    """The trip's requested or issued letter, read from the database (not the loaded list)."""
    return db.session.scalar(select(VisaLetter).where(VisaLetter.trip_id == trip.id,
                                                      VisaLetter.state.in_(LIVE)))


def _already(letter: VisaLetter) -> Conflict:
    if letter.state == ISSUED:
        return Conflict(_l("A visa letter has already been issued for this trip (%(number)s). "
                           "Download it from the trip page.", number=letter.number),
                        code="already_requested")
    return Conflict(_l("You have already requested a visa letter for this trip; the clinic is "
                       "reviewing it and you will get an email."), code="already_requested")


# Numbers and tokens ------------------------------------------------------------------------

def new_number(now: datetime | None = None) -> str:
    """"SBV-2026-7K3M9Q": the year in Bangkok and six characters nobody misreads."""
    year = (now or utcnow()).astimezone(CLINIC_ZONE).year
    return f"SBV-{year}-" + "".join(secrets.choice(ALPHABET) for _i in range(NUMBER_LENGTH))


def _unused_number(now: datetime) -> str:
    for _attempt in range(10):
        number = new_number(now)
        if db.session.scalar(select(VisaLetter.id).where(VisaLetter.number == number)) is None:
            return number
    raise RuntimeError("could not find an unused letter number in 10 tries")


# Moves -------------------------------------------------------------------------------------

def request_letter(actor: User, trip: Trip, *, now: datetime | None = None) -> VisaLetter:
    """The patient asks the clinic for a visa support letter for the trip."""
    now = now or utcnow()
    if not services.can_see_trip(actor, trip):
        raise NotFound(_l("No such trip."))
    if not may_request(actor, trip):
        raise NotAllowed(_l("Only the patient can request a visa letter for their trip."))
    services.lock_trip(trip)
    if not trip.is_open:
        raise Conflict(_l("This trip is closed, so no letter can be requested for it."),
                       code="trip_closed")
    existing = live_letter(trip)
    if existing is not None:
        raise _already(existing)
    missing = missing_for_letter(trip)
    if missing:
        raise Unprocessable(_l("Before you can request a visa letter, add %(missing)s.",
                               missing=_join(missing)), code="letter_incomplete")
    letter = VisaLetter(trip_id=trip.id, state=REQUESTED, number=_unused_number(now),
                        token=secrets.token_urlsafe(32), requested_by_id=actor.id)
    try:
        # A savepoint: a unique violation (another request that slipped past the check above)
        # must leave the transaction usable for the answer.
        with db.session.begin_nested():
            db.session.add(letter)
            db.session.flush()
    except IntegrityError:
        existing = live_letter(trip)
        if existing is not None:
            raise _already(existing) from None
        raise
    db.session.expire(trip, ["letters"])
    audit.record(actor, "letter.requested", letter,
                 after={"state": REQUESTED, "number": letter.number, "trip": trip.id})
    letter_changed.send(letter, actor=actor, from_state=None)
    return letter


def _reason(reason: str | None) -> str:
    text = (reason or "")[:MAX_REASON + 1].strip()
    if not text:
        raise FieldInvalid("reason", _l("Write the reason: the patient reads it and needs to "
                                        "know what to do."), code="missing_reason")
    if len(text) > MAX_REASON:
        raise FieldInvalid("reason", _l("The reason may have up to %(max)s characters. Shorten "
                                        "it and send it again.", max=MAX_REASON),
                           code="reason_too_long")
    return text


def _done(letter: VisaLetter) -> str:
    """Why a move no longer applies: what happened to the letter (a second click, or a
    colleague who acted first)."""
    if letter.state == ISSUED:
        return _("This letter has already been issued (%(number)s).", number=letter.number)
    if letter.state == DECLINED:
        return _("This letter has already been declined.")
    if letter.state == REVOKED:
        return _("This letter has already been revoked.")
    return _("This letter has not been issued yet, so there is nothing to revoke.")


def _move(actor: User, letter: VisaLetter, to_state: str, allowed: Callable[[User, Trip], bool],
          refused: str, change: Callable[[VisaLetter], dict]) -> VisaLetter:
    """Apply one move: authority, then the trip's row lock, the state re-read and re-checked
    inside it (two clicks apply once: the second is told what happened), the change, the
    audit record and the signal."""
    trip = letter.trip
    if not services.can_see_trip(actor, trip):
        raise NotFound(_l("No such letter."))
    if not allowed(actor, trip):
        raise NotAllowed(refused)
    services.lock_trip(trip)
    db.session.refresh(letter)
    from_state = letter.state
    if not may_move(from_state, to_state):
        raise Conflict(_done(letter), code=f"letter_{from_state}")
    after = change(letter)
    letter.state = to_state
    if from_state == REQUESTED:  # who issued or declined it (a revocation keeps the issuer)
        letter.decided_by_id = actor.id
    db.session.flush()
    audit.record(actor, f"letter.{to_state}", letter, before={"state": from_state},
                 after={"state": to_state, **after})
    letter_changed.send(letter, actor=actor, from_state=from_state)
    return letter


def issue_letter(actor: User, letter: VisaLetter, *, now: datetime | None = None) -> VisaLetter:
    """The clinic issues the requested letter: its content is fixed (sealed) now."""
    now = now or utcnow()

    def change(letter: VisaLetter) -> dict:
        trip = letter.trip
        missing = missing_for_letter(trip)
        if missing:
            raise Conflict(_l("The trip no longer has %(missing)s. Ask the patient to add it, "
                              "or decline the letter saying so.", missing=_join(missing)),
                           code="letter_incomplete")
        content = snapshot(trip, letter, signatory=actor, now=now)
        try:
            render_content(content, letter)  # a name no font can print fails now, not later
        except pdf.MissingFont as exc:
            raise Conflict(_l("The letter cannot be printed: a name uses characters we have no "
                              "font for (%(detail)s). Ask the patient to write the names as in "
                              "the passport's Latin line.", detail=str(exc)),
                           code="letter_unprintable") from None
        letter.content_sealed = crypto.seal(json.dumps(content, ensure_ascii=False))
        letter.issued_at = now
        return {"number": letter.number}

    return _move(actor, letter, ISSUED, may_decide,
                 _l("Only the clinic's coordinators can issue a visa letter."), change)


def decline_letter(actor: User, letter: VisaLetter, reason: str | None,
                   *, now: datetime | None = None) -> VisaLetter:
    """The clinic declines the request, saying why (the patient may ask again)."""
    text = _reason(reason)
    now = now or utcnow()

    def change(letter: VisaLetter) -> dict:
        letter.reason, letter.declined_at = text, now
        return {"reason": text}

    return _move(actor, letter, DECLINED, may_decide,
                 _l("Only the clinic's coordinators can decline a visa letter."), change)


def revoke_letter(actor: User, letter: VisaLetter, reason: str | None,
                  *, now: datetime | None = None) -> VisaLetter:
    """An issued letter stops being valid: the verification page says REVOKED from now on."""
    text = _reason(reason)
    now = now or utcnow()

    def change(letter: VisaLetter) -> dict:
        letter.reason, letter.revoked_at = text, now
        return {"reason": text}

    return _move(actor, letter, REVOKED, may_revoke,
                 _l("Only the clinic's coordinators and administrators can revoke a visa "
                    "letter."), change)


# The letter's content ----------------------------------------------------------------------

def _bangkok_day(value: datetime | None) -> str | None:
    if value is None:
        return None
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(CLINIC_ZONE).date().isoformat()


def snapshot(trip: Trip, letter: VisaLetter, *, signatory: User,
             now: datetime | None = None) -> dict:
    """What the letter says, as plain JSON values (codes, not translated names)."""
    now = now or utcnow()
    clinic = trip.clinic
    people = [{"name": trip.patient.name, "role": "patient",
               "nationality": trip.passport_nationality,
               "passport_number": crypto.unseal(trip.passport_number_sealed or ""),
               "passport_expiry": trip.passport_expiry.isoformat()
               if trip.passport_expiry else None}]
    for companion in trip.companions:
        people.append({"name": companion.name, "role": companion.relationship_to_patient,
                       "nationality": companion.nationality,
                       "passport_number": crypto.unseal(companion.passport_number_sealed),
                       "passport_expiry": companion.passport_expiry.isoformat()})
    consultations = []
    for booking in services.active_bookings(trip):
        starts = booking.starts_at if booking.starts_at.tzinfo else booking.starts_at.replace(
            tzinfo=UTC)
        video = booking.consultation_type.mode != "in_person"
        consultations.append({
            "starts_at": starts.astimezone(UTC).isoformat(), "video": video,
            "doctor": booking.doctor.name})
    return {"version": 1, "number": letter.number,
            "issued_on": now.astimezone(CLINIC_ZONE).date().isoformat(),
            "people": people, "consultations": consultations,
            "arrival": _bangkok_day(trip.arrival.scheduled_at if trip.arrival else None),
            "departure": _bangkok_day(trip.departure.scheduled_at if trip.departure else None),
            "clinic": {"name": clinic.name, "address": clinic.address,
                       "licence": clinic.licence or "", "phone": clinic.phone or "",
                       "email": clinic.email or ""},
            "signatory": signatory.name}


def content_of(letter: VisaLetter) -> dict:
    """The sealed content of an issued (or revoked) letter."""
    if letter.content_sealed is None:
        raise Conflict(_l("This letter has not been issued."), code="letter_not_issued")
    return json.loads(crypto.unseal(letter.content_sealed))


def verify_url(letter: VisaLetter) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + f"/verify-letter/{letter.token}"


def _role(code: str) -> str:
    if code == "patient":
        return "Patient"
    label = RELATIONSHIP_LABELS.get(code)
    return f"Companion ({str(label).lower() if label else code})"


def render_content(content: dict, letter: VisaLetter) -> bytes:
    """The PDF of a content snapshot, in English whatever the reader's language."""
    with force_locale("en"):
        people = [pdf.LetterPerson(
            name=p["name"], role=_role(p["role"]),
            nationality=trip_people.country_name(p["nationality"]),
            passport_number=p["passport_number"],
            passport_expiry=date.fromisoformat(p["passport_expiry"])
            if p["passport_expiry"] else None) for p in content["people"]]
        consultations = [pdf.LetterConsultation(
            starts_at=datetime.fromisoformat(c["starts_at"]),
            description=(f"Medical consultation by video call with {c['doctor']}" if c["video"]
                         else f"Medical consultation with {c['doctor']}"))
            for c in content["consultations"]]
        clinic = content["clinic"]
        return pdf.render_letter(pdf.LetterContent(
            number=content["number"], issued_on=date.fromisoformat(content["issued_on"]),
            verify_url=verify_url(letter), clinic_name=clinic["name"],
            clinic_address=clinic["address"], clinic_licence=clinic["licence"],
            clinic_phone=clinic["phone"], clinic_email=clinic["email"], people=people,
            consultations=consultations,
            arrival=date.fromisoformat(content["arrival"]) if content["arrival"] else None,
            departure=date.fromisoformat(content["departure"]) if content["departure"] else None,
            signatory=f"{content['signatory']}, {SIGNATORY_TITLE}"))


def render_pdf(letter: VisaLetter) -> bytes:
    """The issued letter as a PDF, as it was issued."""
    return render_content(content_of(letter), letter)


def download_pdf(actor: User, letter: VisaLetter) -> bytes:
    """The PDF for someone who may see the trip, while the letter is valid; audited."""
    if not services.can_see_trip(actor, letter.trip):
        raise NotFound(_l("No such letter."))
    if letter.state != ISSUED:
        raise NotFound(_l("This letter is not valid (%(state)s), so it cannot be downloaded.",
                          state=LETTER_LABELS[LetterState(letter.state)]))
    data = render_pdf(letter)
    audit.record(actor, "letter.downloaded", letter, after={"number": letter.number})
    return data


# Verification (public) ---------------------------------------------------------------------

@dataclass(frozen=True)
class CheckedPerson:
    name: str
    role: str
    nationality: str
    passport: str  #: masked: "••••••678"


@dataclass(frozen=True)
class LetterCheck:
    """What the public verification page shows: nothing medical, passports masked."""

    number: str
    valid: bool
    issued_on: date
    revoked_on: date | None
    people: list[CheckedPerson]
    consultations: list[datetime]  #: aware, UTC
    arrival: date | None
    departure: date | None
    clinic_name: str
    clinic_address: str
    clinic_licence: str
    clinic_phone: str
    clinic_email: str
    signatory: str


def check(token: str) -> LetterCheck | None:
    """The issued or revoked letter with this token, as the verification page shows it; None
    for an unknown token and for one that was never issued (the page cannot list letters).
    Each check is in the audit trail (the clinic sees when its letter was checked)."""
    if not token or len(token) > 64:
        return None
    letter = db.session.scalar(select(VisaLetter).where(VisaLetter.token == token))
    if letter is None or letter.state not in (ISSUED, REVOKED) or letter.content_sealed is None:
        return None
    audit.record(None, "letter.verified", letter, after={"state": letter.state})
    content = content_of(letter)
    clinic = content["clinic"]
    with force_locale("en"):
        people = [CheckedPerson(p["name"], _role(p["role"]),
                                trip_people.country_name(p["nationality"]),
                                trip_people.mask(p["passport_number"]))
                  for p in content["people"]]
    revoked = _bangkok_day(letter.revoked_at)
    return LetterCheck(
        number=content["number"], valid=letter.state == ISSUED,
        issued_on=date.fromisoformat(content["issued_on"]),
        revoked_on=date.fromisoformat(revoked) if revoked else None, people=people,
        consultations=sorted(datetime.fromisoformat(c["starts_at"])
                             for c in content["consultations"]),
        arrival=date.fromisoformat(content["arrival"]) if content["arrival"] else None,
        departure=date.fromisoformat(content["departure"]) if content["departure"] else None,
        clinic_name=clinic["name"], clinic_address=clinic["address"],
        clinic_licence=clinic["licence"], clinic_phone=clinic["phone"],
        clinic_email=clinic["email"], signatory=f"{content['signatory']}, {SIGNATORY_TITLE}")
