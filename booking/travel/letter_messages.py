"""Visa letter messages, registered with the outbox (about the trip): the clinic is told of a
request; the patient of the letter issued (the PDF attached), declined (with the reason and what
to do next) or revoked. Connected to `letters.letter_changed` by `register` at start-up."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from booking.accounts.models import User
from booking.core.audit import Named, register_labeller
from booking.core.labels import int_ids
from booking.extensions import db
from booking.notifications import services as outbox
from booking.notifications.models import OutboxMessage
from booking.notifications.registry import Attachment, MessageKind, register_kind
from booking.scheduling.messages import coordinators
from booking.travel import letters
from booking.travel.messages import trip_link
from booking.travel.models import LetterState, Trip, VisaLetter

#: The message sent to the patient when a letter reaches each state.
TO_PATIENT = {LetterState.ISSUED: "letter_issued", LetterState.DECLINED: "letter_declined",
              LetterState.REVOKED: "letter_revoked"}


def _letter(message: OutboxMessage) -> VisaLetter | None:
    letter_id = message.payload.get("letter")
    return db.session.get(VisaLetter, letter_id) if letter_id else None


def _context(message: OutboxMessage, trip: Trip, preview: bool) -> dict:
    letter = _letter(message)
    return {"trip": trip, "letter": letter, "number": letter.number if letter else "",
            "patient_name": trip.patient.name, "link": trip_link(trip), "clinic": trip.clinic,
            "verify_link": letters.verify_url(letter) if letter else ""}


def _in_state(state: str):  # type: ignore[no-untyped-def]
    """Still wanted while the letter is still in the state the message tells of."""

    def still(message: OutboxMessage, trip: Trip) -> bool:
        letter = _letter(message)
        return letter is not None and letter.state == state

    return still


def _staff_and_still_requested(message: OutboxMessage, trip: Trip) -> bool:
    staff = message.recipient
    return (staff.receives_clinic_alerts and staff.clinic_id == trip.clinic_id
            and _in_state(LetterState.REQUESTED)(message, trip))


def _pdf(message: OutboxMessage, trip: Trip) -> list[Attachment]:
    letter = _letter(message)
    if letter is None:
        return []
    return [(f"visa-letter-{letter.number}.pdf", letters.render_pdf(letter), "application/pdf")]


def letter_labels(ids: list[str]) -> dict[str, Named]:
    """"the visa letter SBV-2026-7K3M9Q for Jane Miller" in the audit trail's sentences."""
    rows = db.session.execute(
        select(VisaLetter.id, VisaLetter.number, User.name, User.id)
        .join(Trip, VisaLetter.trip_id == Trip.id).join(User, Trip.patient_id == User.id)
        .where(VisaLetter.id.in_(int_ids(ids))))
    return {str(ident): Named(_("the visa letter %(number)s for %(patient)s", number=number,
                                patient=name), _("the visa letter %(number)s", number=number),
                              owner)
            for ident, number, name, owner in rows}


def register() -> None:
    """Register the letter's message kinds and connect them to its state changes."""
    register_kind(MessageKind(
        name="letter_requested", subject=_l("Visa letter requested: %(patient_name)s"),
        template="letter_requested", about="trip", context=_context,
        still_wanted=_staff_and_still_requested, to_staff=True))
    register_kind(MessageKind(
        name="letter_issued", subject=_l("Your visa support letter %(number)s"),
        template="letter_issued", about="trip", context=_context,
        still_wanted=_in_state(LetterState.ISSUED), attachments=_pdf))
    register_kind(MessageKind(
        name="letter_declined", subject=_l("Your visa letter request was declined"),
        template="letter_declined", about="trip", context=_context,
        still_wanted=_in_state(LetterState.DECLINED)))
    register_kind(MessageKind(
        name="letter_revoked", subject=_l("Your visa support letter %(number)s was revoked"),
        template="letter_revoked", about="trip", context=_context,
        still_wanted=_in_state(LetterState.REVOKED)))
    register_labeller("VisaLetter", letter_labels)
    letters.letter_changed.connect(on_letter_changed)


def on_letter_changed(letter: VisaLetter, actor: User | None, from_state: str | None) -> None:
    """Queue the message the move calls for (inside the move's transaction)."""
    trip = letter.trip
    payload = {"letter": letter.id}
    if letter.state == LetterState.REQUESTED:
        for coordinator in coordinators(trip.clinic_id):
            outbox.queue("letter_requested", coordinator, about=trip, payload=payload)
    elif letter.state in TO_PATIENT:
        outbox.queue(TO_PATIENT[LetterState(letter.state)], trip.patient, about=trip,
                     payload=payload)
