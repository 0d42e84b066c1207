"""Who may press which button on a booking: the one rule, asked by the booking page (to show
a button), the views and the services (to refuse), and the API alike.

Each action has two halves. *Who* (`allowed`): the patient their own booking; the clinic's
coordinators their clinic's; admins see and may cancel or move any booking, but the clinic's
desk work (confirming, outcomes, the video link, sending a message again) is the clinic's.
*When* (`possible`): the booking's state allows it now. A button is shown only when both hold
(`may`); a service refuses "who" with 404/403 and "when" with its own explanation.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

from booking.core.errors import NotAllowed, NotFound
from booking.core.policy import can_manage_clinic
from booking.core.types import utcnow
from booking.scheduling.consent import CONSENTS
from booking.scheduling.models import CONFIRMED, HELD, Booking

if TYPE_CHECKING:
    from booking.accounts.models import User


class BookingAction(StrEnum):
    SEE = "see"
    CONSENT = "consent"
    MOVE = "move"
    CANCEL = "cancel"
    CONFIRM = "confirm"
    RECORD_OUTCOME = "record_outcome"
    SET_VIDEO_LINK = "set_video_link"
    RESEND_MESSAGE = "resend_message"
    PAY = "pay"
    REFUND = "refund"


def can_see(actor: User, booking: Booking) -> bool:
    """A patient their own bookings; staff the bookings of the clinics they manage."""
    if actor.is_patient:
        return booking.patient_id == actor.id
    return can_manage_clinic(actor, booking.clinic_id)


def _the_patient(actor: User, booking: Booking) -> bool:
    return actor.is_patient and booking.patient_id == actor.id


def _the_clinic(actor: User, booking: Booking) -> bool:
    return actor.is_coordinator and actor.clinic_id == booking.clinic_id


def _the_clinic_or_admin(actor: User, booking: Booking) -> bool:
    return actor.is_admin or _the_clinic(actor, booking)


WHO: dict[BookingAction, Callable[[User, Booking], bool]] = {
    BookingAction.SEE: can_see,
    BookingAction.CONSENT: _the_patient,
    BookingAction.MOVE: can_see,
    BookingAction.CANCEL: can_see,
    BookingAction.CONFIRM: _the_clinic,
    BookingAction.RECORD_OUTCOME: _the_clinic,
    BookingAction.SET_VIDEO_LINK: _the_clinic,
    BookingAction.RESEND_MESSAGE: _the_clinic,
    BookingAction.PAY: _the_patient,
    BookingAction.REFUND: _the_clinic_or_admin,
}

WHEN: dict[BookingAction, Callable[[Booking], bool]] = {
    BookingAction.SEE: lambda b: True,
    BookingAction.CONSENT: lambda b: b.is_active and any(b.consent(k) is None for k in CONSENTS),
    BookingAction.MOVE: lambda b: b.movable,
    BookingAction.CANCEL: lambda b: b.is_active,
    BookingAction.CONFIRM: lambda b: b.state == HELD,
    BookingAction.RECORD_OUTCOME: lambda b: b.state == CONFIRMED and b.starts_at <= utcnow(),
    BookingAction.SET_VIDEO_LINK: lambda b: (b.consultation_type.mode == "video"
                                             and b.is_active),
    BookingAction.RESEND_MESSAGE: lambda b: True,  # which message: its own status says
    BookingAction.PAY: lambda b: (b.state == HELD and b.hold_expires_at is not None
                                  and b.hold_expires_at > utcnow()),
    BookingAction.REFUND: lambda b: True,  # how much is left: the payments ledger says
}

REFUSED = {
    BookingAction.CONSENT: _l("Only the patient can give consent."),
    BookingAction.CONFIRM: _l("Only the clinic's coordinators can confirm a booking by hand."),
    BookingAction.RECORD_OUTCOME: _l("Only the clinic's coordinators can record the outcome."),
    BookingAction.SET_VIDEO_LINK: _l("Only the clinic's coordinators can set the video link."),
    BookingAction.RESEND_MESSAGE: _l("Only the clinic's coordinators can send a message again."),
    BookingAction.PAY: _l("Only the patient can pay the deposit online."),
    BookingAction.REFUND: _l("Only the clinic's coordinators can issue a refund."),
}


def allowed(actor: User, action: BookingAction, booking: Booking) -> bool:
    """Is this person one who may do `action` to this booking (whatever its state)?"""
    return WHO[action](actor, booking)


def possible(action: BookingAction, booking: Booking) -> bool:
    """Does the booking's state allow `action` now (whoever asks)?"""
    return WHEN[action](booking)


def may(actor: User, action: BookingAction, booking: Booking) -> bool:
    """Show the button: this person may, and the booking allows it now."""
    return allowed(actor, action, booking) and possible(action, booking)


def require(actor: User, action: BookingAction, booking: Booking) -> None:
    """Refuse someone who may not: a booking they cannot see does not exist for them (404);
    one they can see but not act on answers 403 with why."""
    if not can_see(actor, booking):
        raise NotFound(_l("No such booking."))
    if not allowed(actor, action, booking):
        raise NotAllowed(REFUSED.get(action, _l("You may not change this booking.")))


#: The actions on the booking itself (sending a message again is asked per message).
BOOKING_ACTIONS = (BookingAction.CONSENT, BookingAction.MOVE, BookingAction.CANCEL,
                   BookingAction.CONFIRM, BookingAction.RECORD_OUTCOME,
                   BookingAction.SET_VIDEO_LINK, BookingAction.PAY)


def actions(actor: User, booking: Booking) -> list[str]:
    """Every action on the booking this person may take now, e.g. for the API's answer."""
    return [a.value for a in BOOKING_ACTIONS if may(actor, a, booking)]
