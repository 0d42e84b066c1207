"""Every kind of message. Adding one: an entry here and templates/emails/<template>.{txt,html}."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Kind:
    subject: object
    template: str
    #: Attach the booking's calendar file.
    ics: bool = False
    #: Sent to the clinic's coordinators, not to the patient (never shown on the patient's
    #: booking page; a failure is not reported by yet another alert).
    to_clinic: bool = False


KINDS: dict[str, Kind] = {
    # Account messages (no booking).
    "verify_email": Kind(_l("Confirm your email for SpineBridge"), "verify_email"),
    "already_registered": Kind(_l("You already have a SpineBridge account"),
                               "already_registered"),
    "reset_password": Kind(_l("Reset your SpineBridge password"), "reset_password"),
    "staff_invite": Kind(_l("Your SpineBridge staff account"), "staff_invite"),
    # Booking messages.
    "hold_placed": Kind(_l("Your time is held: %(ref)s"), "booking_held"),
    "booking_confirmed": Kind(_l("Booking confirmed: %(ref)s"), "booking_confirmed", ics=True),
    "booking_rescheduled": Kind(_l("New time for booking %(ref)s"), "booking_rescheduled",
                                ics=True),
    "booking_cancelled": Kind(_l("Booking cancelled: %(ref)s"), "booking_cancelled", ics=True),
    "hold_expired": Kind(_l("Your hold has ended: %(ref)s"), "hold_expired"),
    "reminder": Kind(_l("Reminder: your consultation %(ref)s"), "booking_reminder", ics=True),
    "video_link": Kind(_l("Video link for your consultation %(ref)s"), "video_link", ics=True),
    # Messages to the clinic's coordinators.
    "message_failed": Kind(_l("A message about %(ref)s could not be sent"), "message_failed",
                           to_clinic=True),
    "daily_digest": Kind(_l("Tomorrow at your clinic"), "daily_digest", to_clinic=True),
    "clinic_new_hold": Kind(_l("New hold %(ref)s: confirm it when the deposit arrives"),
                            "clinic_booking_change", to_clinic=True),
    "clinic_patient_moved": Kind(_l("A patient moved booking %(ref)s"),
                                 "clinic_booking_change", to_clinic=True),
    "clinic_patient_cancelled": Kind(_l("A patient cancelled booking %(ref)s"),
                                     "clinic_booking_change", to_clinic=True),
}

#: Reminders before a consultation; one whose moment has passed at booking is not sent.
REMINDERS = (timedelta(days=7), timedelta(hours=48), timedelta(hours=24), timedelta(hours=2))
