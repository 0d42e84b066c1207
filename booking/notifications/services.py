"""Writing messages into the outbox and sending those that are due.

Rows are added in the transaction of the change that causes them (a listener on the booking
state machine), so a crash or a broker outage never loses one. The worker claims due rows (on
PostgreSQL with FOR UPDATE SKIP LOCKED), marks them `sending` and commits before it talks to
the mail server; each row carries a stable Message-ID."""

from __future__ import annotations

import logging
import smtplib
from datetime import datetime, timedelta

from flask import current_app, render_template
from flask_babel import force_locale
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import select, update

from booking.core.types import utcnow
from booking.extensions import db
from booking.notifications.kinds import KINDS, REMINDERS
from booking.notifications.models import (
    CANCELLED,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    OutboxMessage,
)
from booking.scheduling import lifecycle
from booking.scheduling.calendar import booking_calendar
from booking.scheduling.models import (
    CANCELLED_BY_CLINIC,
    CANCELLED_BY_PATIENT,
    COMPLETED,
    CONFIRMED,
    EXPIRED,
    HELD,
    NO_SHOW,
    Booking,
)

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


def queue(kind: str, booking: Booking, due_at: datetime | None = None) -> OutboxMessage:
    """Add a message for the booking's patient to the current transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    patient = booking.patient
    language = patient.language if patient.language in current_app.config["LANGUAGES"] else "en"
    message = OutboxMessage(booking_id=booking.id, recipient_id=booking.patient_id, kind=kind,
                            language=language, due_at=due_at or utcnow())
    db.session.add(message)
    return message


def _schedule_reminders(booking: Booking, now: datetime) -> None:
    for before in REMINDERS:
        due = booking.starts_at - before
        if due > now:  # a reminder whose moment has passed is not sent at all
            queue("reminder", booking, due)


def _cancel_pending_reminders(booking: Booking) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.booking_id == booking.id, OutboxMessage.kind == "reminder",
               OutboxMessage.status == PENDING)
        .values(status=CANCELLED))


@lifecycle.booking_changed.connect
def on_booking_changed(booking: Booking, event) -> None:  # type: ignore[no-untyped-def]
    """The booking state machine announced a change: queue what the patient should receive."""
    now = utcnow()
    if event.from_state is None and event.to_state == HELD:
        queue("hold_placed", booking)
    elif event.from_state == event.to_state:  # moved to another time
        _cancel_pending_reminders(booking)
        queue("booking_rescheduled", booking)
        _schedule_reminders(booking, now)
    elif event.to_state == CONFIRMED:
        queue("booking_confirmed", booking)
        _schedule_reminders(booking, now)
    elif event.to_state in (CANCELLED_BY_PATIENT, CANCELLED_BY_CLINIC):
        _cancel_pending_reminders(booking)
        queue("booking_cancelled", booking)
    elif event.to_state == EXPIRED:
        queue("hold_expired", booking)
    elif event.to_state in (COMPLETED, NO_SHOW):
        _cancel_pending_reminders(booking)


# Sending --------------------------------------------------------------------------------------

def claim_due(now: datetime, limit: int = 200) -> list[int]:
    """Mark up to `limit` due messages as being sent by this worker, and commit."""
    rows = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.status == PENDING,
                                    OutboxMessage.due_at <= now)
        .order_by(OutboxMessage.due_at).limit(limit).with_for_update(skip_locked=True)
    ).all()
    for row in rows:
        row.status = SENDING
        row.attempts += 1
    db.session.commit()
    return [row.id for row in rows]


def render(message: OutboxMessage) -> EmailMultiAlternatives:
    """The email for a message, in the recipient's language, with times in their zone and in
    Bangkok, and the calendar file when the kind has one."""
    kind = KINDS[message.kind]
    booking = db.session.get(Booking, message.booking_id)
    with force_locale(message.language):
        context = {"booking": booking, "user": message.recipient, "message": message,
                   "link": current_app.config["BASE_URL"].rstrip("/") + f"/bookings/{booking.id}"}
        subject = str(kind.subject) % {"ref": booking.reference}
        text = render_template(f"emails/{kind.template}.txt", **context)
        html = render_template(f"emails/{kind.template}.html", **context)
    email = EmailMultiAlternatives(subject=subject, body=text,
                                   from_email=current_app.config["MAIL_DEFAULT_SENDER"],
                                   to=[message.recipient.email],
                                   headers={"Message-ID": message_id(message)})
    email.attach_alternative(html, "text/html")
    if kind.ics:
        email.attach(f"spinebridge-{booking.reference}.ics", booking_calendar(booking),
                     "text/calendar")
    return email


def message_id(message: OutboxMessage) -> str:
    return f"<outbox-{message.id}@spinebridge>"


def send(message_id_: int) -> str:
    """Send one claimed message; on a transient failure put it back with a growing delay."""
    message = db.session.get(OutboxMessage, message_id_)
    if message is None or message.status != SENDING:
        return "skipped"  # already sent, cancelled, or claimed by someone else
    try:
        render(message).send(fail_silently=False)
    except (smtplib.SMTPException, OSError) as exc:
        message.last_error = f"{type(exc).__name__}: {exc}"[:1000]
        if message.attempts >= MAX_ATTEMPTS:
            message.status = FAILED
        else:
            message.status = PENDING
            message.due_at = utcnow() + timedelta(minutes=2 ** message.attempts)
        db.session.commit()
        log.warning("message %s not sent (attempt %s): %s", message.id, message.attempts, exc)
        return message.status
    message.status = SENT
    message.sent_at = utcnow()
    message.provider_message_id = message_id(message)
    message.last_error = ""
    db.session.commit()
    return SENT


def dispatch_due(now: datetime | None = None) -> dict[str, int]:
    """Send every message that is due now (the beat task runs this every minute)."""
    counts: dict[str, int] = {}
    for row_id in claim_due(now or utcnow()):
        outcome = send(row_id)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


def resend(message: OutboxMessage) -> None:
    """A coordinator asks for a failed message to be tried again now."""
    if message.status == FAILED:
        message.status = PENDING
        message.attempts = 0
        message.due_at = utcnow()
