"""Payment emails, registered with the outbox (about the booking): the receipt, a refund,
a payment that came after the hold ended, and the clinic's "a person must look at this"."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from booking.extensions import db
from booking.notifications.models import OutboxMessage
from booking.notifications.registry import MessageKind, register_kind
from booking.payments.ledger import summarise
from booking.payments.models import LedgerEntry
from booking.scheduling import messages as booking_messages
from booking.scheduling.models import Booking


def _context(message: OutboxMessage, booking: Booking, preview: bool) -> dict:
    context = booking_messages._booking_context(message, booking, preview)
    entry_id = message.payload.get("entry")
    context["entry"] = db.session.get(LedgerEntry, entry_id) if entry_id else None
    context["summary"] = summarise(booking)
    return context


def _staff_still_there(message: OutboxMessage, booking: Booking) -> bool:
    staff = message.recipient
    return staff.receives_clinic_alerts and staff.clinic_id == booking.clinic_id


def _kind(name: str, subject: object, template: str, **extra) -> None:  # type: ignore[no-untyped-def]
    register_kind(MessageKind(name=name, subject=subject, template=template, about="booking",
                              context=_context, **extra))


def queue(kind: str, booking: Booking, payload: dict) -> OutboxMessage:
    return booking_messages.queue(kind, booking, payload=payload)


def tell_clinic(kind: str, booking: Booking, payload: dict) -> None:
    """Money that needs a person goes to every coordinator of the clinic (not only to those
    who asked for booking news)."""
    for coordinator in booking_messages.coordinators(booking.clinic_id):
        booking_messages.queue(kind, booking, recipient=coordinator, payload=payload)


def register() -> None:
    _kind("deposit_received", _l("Deposit received: %(ref)s"), "deposit_received")
    _kind("refund_issued", _l("Refund issued: %(ref)s"), "refund_issued")
    _kind("payment_after_hold", _l("Your payment for %(ref)s is being refunded"),
          "payment_after_hold")
    _kind("clinic_payment_needs_human", _l("A payment for %(ref)s needs you"),
          "clinic_payment_needs_human", to_staff=True, still_wanted=_staff_still_there)
