"""Writing messages into the outbox and sending those that are due.

Rows are added in the transaction of the change that causes them (a listener on the booking
state machine), so a crash or a broker outage never loses one. The worker claims due rows (on
PostgreSQL with FOR UPDATE SKIP LOCKED), marks them `sending` and commits before it talks to
the mail server; each row carries a stable Message-ID."""

from __future__ import annotations

import logging
import smtplib
from datetime import date, datetime, time, timedelta

from flask import current_app, g, has_app_context, render_template
from flask_babel import force_locale
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import and_, event, func, or_, select, update
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from booking.accounts.models import User
from booking.core.locks import sqlite_write_lock
from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE
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


def queue(kind: str, booking: Booking, due_at: datetime | None = None, *,
          recipient: User | None = None, payload: dict | None = None) -> OutboxMessage:
    """Add a message about a booking (to its patient unless told) to the current transaction."""
    if kind not in KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    recipient = recipient or booking.patient
    language = (recipient.language if recipient.language in current_app.config["LANGUAGES"]
                else "en")
    message = OutboxMessage(booking_id=booking.id, recipient_id=recipient.id, kind=kind,
                            language=language, due_at=due_at or utcnow(), payload=payload or {})
    db.session.add(message)
    if message.due_at <= utcnow():
        db.session.info["outbox_due_now"] = True
    return message


@event.listens_for(Session, "after_commit")
def _remember_due_now(session: Session) -> None:
    # A message due now was committed: the request asks the worker to send it when it ends
    # (if the broker is down, the minute sweep sends it later; the row is already safe).
    if session.info.pop("outbox_due_now", False) and has_app_context():
        g.outbox_kick = True


@event.listens_for(Session, "after_rollback")
def _forget_due_now(session: Session) -> None:
    session.info.pop("outbox_due_now", None)


def kick_worker(response):  # type: ignore[no-untyped-def]
    """after_request: enqueue the outbox sweep when this request committed a due message."""
    if g.pop("outbox_kick", False):
        try:
            current_app.extensions["celery"].tasks["notifications.dispatch_due"].delay()
        except Exception:  # the broker is down: the beat sweep will find the row later
            log.warning("could not reach the broker; the outbox sweep will send later",
                        exc_info=True)
    return response


def queue_for_user(kind: str, user: User, due_at: datetime | None = None,
                   payload: dict | None = None) -> OutboxMessage:
    """Add a message that is not about one booking (account emails, digests)."""
    language = user.language if user.language in current_app.config["LANGUAGES"] else "en"
    message = OutboxMessage(recipient_id=user.id, kind=kind, language=language,
                            due_at=due_at or utcnow(), payload=payload or {})
    db.session.add(message)
    db.session.info["outbox_due_now"] = True
    return message


def _schedule_reminders(booking: Booking, now: datetime) -> None:
    for before in REMINDERS:
        due = booking.starts_at - before
        if due > now:  # a reminder whose moment has passed is not sent at all
            queue("reminder", booking, due, payload={"starts_at": booking.starts_at.isoformat()})


def _cancel_unsent_reminders(booking: Booking) -> None:
    """Cancel the reminders (and video link emails) not sent yet, claimed ones included: on
    PostgreSQL this waits for one being sent right now (its row is locked) and then leaves it
    as sent. After a move, the "new time" email carries the link again."""
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.booking_id == booking.id,
               OutboxMessage.kind.in_(("reminder", "video_link")),
               OutboxMessage.status.in_((PENDING, SENDING)))
        .values(status=CANCELLED)
        .execution_options(synchronize_session=False))


@lifecycle.booking_changed.connect
def on_booking_changed(booking: Booking, event,  # type: ignore[no-untyped-def]
                       previous_start: datetime | None = None) -> None:
    """The booking state machine announced a change: queue what the patient should receive,
    and tell the clinic what the patient did themselves."""
    now = utcnow()
    by_patient = event.actor_id is not None and event.actor_id == booking.patient_id
    if event.from_state is None and event.to_state == HELD:
        queue("hold_placed", booking)
        if by_patient:
            _tell_clinic("clinic_new_hold", booking)
    elif event.from_state == event.to_state:  # moved to another time
        _cancel_unsent_reminders(booking)
        queue("booking_rescheduled", booking)
        _schedule_reminders(booking, now)
        if by_patient:
            _tell_clinic("clinic_patient_moved", booking,
                         {"previous_start": previous_start.isoformat()} if previous_start else {})
    elif event.to_state == CONFIRMED:
        queue("booking_confirmed", booking)
        _schedule_reminders(booking, now)
    elif event.to_state in (CANCELLED_BY_PATIENT, CANCELLED_BY_CLINIC):
        _cancel_unsent_reminders(booking)
        queue("booking_cancelled", booking)
        if by_patient:
            _tell_clinic("clinic_patient_cancelled", booking)
    elif event.to_state == EXPIRED:
        queue("hold_expired", booking)
    elif event.to_state in (COMPLETED, NO_SHOW):
        _cancel_unsent_reminders(booking)


@lifecycle.video_link_changed.connect
def on_video_link_changed(booking: Booking, first: bool) -> None:  # type: ignore[no-untyped-def]
    """The clinic set where a video consultation takes place: tell a confirmed patient now (a
    held one reads it in the confirmation; every reminder carries it)."""
    if booking.state == CONFIRMED:
        queue("video_link", booking, payload={"changed": not first})


# Sending --------------------------------------------------------------------------------------

#: A claim older than this is taken again: its worker died before it could finish.
LEASE = timedelta(minutes=10)


def sweep_limit() -> int:
    """At most this many rows are claimed by one sweep; a sweep that fills it queues another
    behind its batches, so a backlog drains at the workers' pace and no claim waits for long."""
    return int(current_app.config.get("OUTBOX_SWEEP_LIMIT", 500))


def batch_size() -> int:
    """Claimed messages go to the worker in batches of this size: one task, one SMTP session
    and one load of their bookings for the lot, while each row is still locked, sent and
    committed on its own (a worker that dies loses at most the message in flight)."""
    return int(current_app.config.get("OUTBOX_BATCH", 50))


def _lease() -> timedelta:
    return timedelta(seconds=current_app.config.get("OUTBOX_LEASE_SECONDS",
                                                    LEASE.total_seconds()))


def claim_room(now: datetime) -> int:
    """How many rows a sweep may claim now: claims waiting in the queue are capped (by
    OUTBOX_MAX_IN_FLIGHT), so a backlog is claimed as fast as it is sent, and no claim waits
    so long in the queue that its lease runs out."""
    in_flight = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == SENDING, OutboxMessage.claimed_at >= now - _lease()))
    cap = int(current_app.config.get("OUTBOX_MAX_IN_FLIGHT", 4 * sweep_limit()))
    return max(0, min(sweep_limit(), cap - in_flight))


def any_due(now: datetime) -> bool:
    return db.session.scalar(select(OutboxMessage.id).where(
        OutboxMessage.status == PENDING, OutboxMessage.due_at <= now).limit(1)) is not None


def claim_due(now: datetime, limit: int | None = None) -> list[int]:
    """Take up to `limit` due messages (and lapsed claims) for sending, and commit the claim.

    A lapsed claim (its worker died) is taken again, unless it has used every attempt: then
    it fails and the clinic is told, so a message that kills its worker cannot loop."""
    limit = sweep_limit() if limit is None else limit
    if limit <= 0:
        return []
    sqlite_write_lock()  # SQLite has no FOR UPDATE: two sweeps must not claim the same rows
    rows = db.session.scalars(
        select(OutboxMessage).where(or_(
            and_(OutboxMessage.status == PENDING, OutboxMessage.due_at <= now),
            and_(OutboxMessage.status == SENDING, OutboxMessage.claimed_at < now - _lease()),
        )).order_by(OutboxMessage.due_at).limit(limit).with_for_update(skip_locked=True)
    ).all()
    claimed = []
    for row in rows:
        if row.status == SENDING and row.attempts >= MAX_ATTEMPTS:
            row.status = FAILED
            row.last_error = (row.last_error or "the worker stopped before it finished sending")
            _alert_clinic(row)
            continue
        row.status = SENDING
        row.claimed_at = now
        row.attempts += 1
        row.provider_message_id = None  # (SQLite: the sender stamps it when it takes the row)
        claimed.append(row.id)
    db.session.commit()
    return claimed


def render(message: OutboxMessage, booking: Booking | None = None, *,
           preview: bool = False) -> EmailMultiAlternatives:
    """The email for a message, in the recipient's language, with times in their zone and in
    Bangkok, and the calendar file when the kind has one (`booking`: already loaded).
    `preview`: for staff reading it on screen; signed links are left out."""
    kind = KINDS[message.kind]
    if booking is None and message.booking_id is not None:
        booking = _load_bookings([message.booking_id]).get(message.booking_id)
    with force_locale(message.language):
        context = {"user": message.recipient, "message": message}
        if booking is None:
            context.update(_context_without_booking(message, preview))
            subject = str(kind.subject)
        else:
            context.update(booking=booking, link=current_app.config["BASE_URL"].rstrip("/")
                           + f"/bookings/{booking.id}")
            if message.payload.get("previous_start"):
                context["previous_start"] = datetime.fromisoformat(
                    message.payload["previous_start"])
            subject = str(kind.subject) % {"ref": booking.reference}
        text = render_template(f"emails/{kind.template}.txt", **context)
        html = render_template(f"emails/{kind.template}.html", **context)
    email = EmailMultiAlternatives(subject=subject, body=text,
                                   from_email=current_app.config["MAIL_DEFAULT_SENDER"],
                                   to=[message.recipient.email],
                                   headers={"Message-ID": message_id(message)})
    email.attach_alternative(html, "text/html")
    if kind.ics and booking is not None:
        email.attach(f"spinebridge-{booking.reference}.ics", booking_calendar(booking),
                     "text/calendar")
    return email


def _load_bookings(booking_ids) -> dict[int, Booking]:  # type: ignore[no-untyped-def]
    """The bookings with everything an email about them shows, in two queries for a batch."""
    if not booking_ids:
        return {}
    found = db.session.scalars(select(Booking).where(Booking.id.in_(set(booking_ids))).options(
        joinedload(Booking.patient), joinedload(Booking.clinic), joinedload(Booking.doctor),
        joinedload(Booking.consultation_type), selectinload(Booking.events),
    )).unique()
    return {booking.id: booking for booking in found}


def _context_without_booking(message: OutboxMessage, preview: bool) -> dict:
    if message.kind == "daily_digest":
        return digest_context(message)
    # Imported here: the account emails module queues through this one.
    from booking.accounts.emails import context_for

    return context_for(message.kind, message.recipient, preview=preview)


def message_id(message: OutboxMessage) -> str:
    return f"<outbox-{message.id}@spinebridge>"


def send(message_id_: int) -> str:
    """Send one claimed message (a batch of one)."""
    return send_batch([message_id_])[0]


def send_batch(ids: list[int]) -> list[str]:
    """Send claimed messages one after another; returns each one's outcome.

    Each row is locked while the mail server answers and committed as soon as it is sent, so
    the same task delivered twice at once sends each email once: the second waits for the lock,
    then finds the row sent. What every email needs is read once for the whole batch."""
    session = db.session()
    keep, session.expire_on_commit = session.expire_on_commit, False
    try:
        messages = db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids))
                                      .options(selectinload(OutboxMessage.recipient))).all()
        bookings = _load_bookings([m.booking_id for m in messages if m.booking_id])
        db.session.commit()  # nothing is held between two messages
        return [_send_one_safely(message_id_, bookings) for message_id_ in ids]
    finally:
        session.expire_on_commit = keep


def _send_one_safely(message_id_: int, bookings: dict[int, Booking]) -> str:
    """One row's trouble (a lost database connection, say) must not strand the rest of the
    batch: it is logged, and that row is claimed again when its lease lapses."""
    try:
        return _send_one(message_id_, bookings)
    except Exception:
        log.exception("message %s: unexpected error while sending; it will be retried",
                      message_id_)
        db.session.rollback()
        return "error"


def _send_one(message_id_: int, bookings: dict[int, Booking]) -> str:
    # Lock the row and read what may have changed since the batch was read (plain rows, not
    # objects: this runs once per email).
    found = db.session.execute(
        select(OutboxMessage.status, OutboxMessage.attempts, Booking.updated_at)
        .select_from(OutboxMessage)
        .outerjoin(Booking, Booking.id == OutboxMessage.booking_id)
        .where(OutboxMessage.id == message_id_)
        .with_for_update(of=OutboxMessage)).first()
    message = db.session.get(OutboxMessage, message_id_)
    if (found is None or found.status != SENDING or message is None
            or not _taken_on_sqlite(message)):
        db.session.commit()  # (a rollback would also expire the batch's preloaded rows)
        return "skipped"  # already sent, cancelled, never claimed, or taken by another task
    set_committed_value(message, "attempts", found.attempts)
    booking = bookings.get(message.booking_id) if message.booking_id else None
    if booking is not None and booking.updated_at != found.updated_at:
        db.session.refresh(booking)  # it changed since the batch was read
    if message.booking_id is not None and booking is None:
        booking = _load_bookings([message.booking_id]).get(message.booking_id)
    if booking is not None and _stale(message, booking):
        return _finish(message, status=CANCELLED, provider_message_id=None)  # moved or ended
    if booking is None and KINDS[message.kind].to_clinic and \
            not message.recipient.receives_clinic_alerts:
        # A digest for someone who may no longer read the clinic's patients (see _stale).
        return _finish(message, status=CANCELLED, provider_message_id=None)
    try:
        email = render(message, booking)
    except Exception as exc:  # a bug in a template or a missing row: retrying will not help
        log.exception("message %s could not be rendered", message.id)
        return _finish(message, status=FAILED, provider_message_id=None,
                       last_error=f"render: {type(exc).__name__}: {exc}"[:1000])
    try:
        _deliver(email)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("message %s not sent (attempt %s): %s", message.id, message.attempts, exc)
        error = f"{type(exc).__name__}: {exc}"[:1000]
        if message.attempts >= MAX_ATTEMPTS:
            set_committed_value(message, "last_error", error)
            _alert_clinic(message)
            return _finish(message, status=FAILED, last_error=error, provider_message_id=None)
        return _finish(message, status=PENDING, last_error=error, provider_message_id=None,
                       due_at=utcnow() + timedelta(minutes=2 ** message.attempts))
    return _finish(message, status=SENT, sent_at=utcnow(), last_error="",
                   provider_message_id=message_id(message))


def _finish(message: OutboxMessage, **values) -> str:  # type: ignore[no-untyped-def]
    """Write a message's outcome with one UPDATE and commit (which releases its lock)."""
    db.session.execute(update(OutboxMessage.__table__)
                       .where(OutboxMessage.__table__.c.id == message.id).values(**values))
    db.session.commit()
    for name, value in values.items():
        set_committed_value(message, name, value)
    return values["status"]


def _stale(message: OutboxMessage, booking: Booking) -> bool:
    """A message that should no longer go: a reminder (or video link) for a booking that is
    no longer confirmed, or for a time it no longer has; a message to a coordinator who has
    since left the clinic, been suspended or turned booking alerts off (or who has not accepted
    their invitation: User.receives_clinic_alerts); news of a hold that has already ended."""
    if KINDS[message.kind].to_clinic:
        staff = message.recipient
        if not (staff.receives_clinic_alerts and staff.clinic_id == booking.clinic_id):
            return True
        if message.kind.startswith("clinic_") and not staff.booking_alerts:
            return True
        return message.kind == "clinic_new_hold" and booking.state != HELD
    if message.kind not in ("reminder", "video_link"):
        return False
    made_for = message.payload.get("starts_at")
    return booking.state != CONFIRMED or (
        made_for is not None and datetime.fromisoformat(made_for) != booking.starts_at)


def _taken_on_sqlite(message: OutboxMessage) -> bool:
    """SQLite has no row locks: the first task to stamp the claimed row with its Message-ID
    sends it; a second copy of the task finds it stamped and skips. Committed before the mail
    server is called (a new claim or a retry clears the stamp). PostgreSQL holds the row lock
    instead."""
    if db.session.connection().dialect.name != "sqlite":
        return True
    table = OutboxMessage.__table__
    taken = db.session.execute(
        update(table).where(table.c.id == message.id, table.c.status == SENDING,
                            table.c.provider_message_id.is_(None))
        .values(provider_message_id=message_id(message))).rowcount
    db.session.commit()
    return taken == 1


def _connection():  # type: ignore[no-untyped-def]
    """This process's open connection to the mail server, opened on first use and reused (a
    new SMTP session per email costs more than rendering it)."""
    state = current_app.extensions["mailman"]
    key = (state.backend, state.server, state.port)
    cached = current_app.extensions.get("outbox_connection")
    if cached is not None and cached[0] == key:
        return cached[1]
    _drop_connection()
    connection = state.get_connection(fail_silently=False)
    if hasattr(connection, "open"):
        connection.open()
    current_app.extensions["outbox_connection"] = (key, connection)
    return connection


def _drop_connection() -> None:
    cached = current_app.extensions.pop("outbox_connection", None)
    if cached is not None:
        try:
            cached[1].close()
        except (smtplib.SMTPException, OSError):
            pass


def _deliver(email: EmailMultiAlternatives) -> None:
    """Send over the reused connection; one reconnect if the server had closed it while idle."""
    for attempt in (1, 2):
        email.connection = _connection()
        try:
            email.send(fail_silently=False)
            return
        except smtplib.SMTPServerDisconnected:
            _drop_connection()
            if attempt == 2:
                raise
        except (smtplib.SMTPException, OSError):
            _drop_connection()
            raise


def batches(ids: list[int]) -> list[list[int]]:
    """Claimed ids cut into the batches one send task takes."""
    size = batch_size()
    return [ids[start:start + size] for start in range(0, len(ids), size)]


def dispatch_due(now: datetime | None = None) -> dict[str, int]:
    """Send every message that is due now (the beat task runs this every minute)."""
    counts: dict[str, int] = {}
    limit = sweep_limit()
    while True:
        claimed = claim_due(now or utcnow(), limit)
        for batch in batches(claimed):
            for outcome in send_batch(batch):
                counts[outcome] = counts.get(outcome, 0) + 1
        if len(claimed) < limit:
            return counts


def resend(message: OutboxMessage) -> None:
    """A coordinator asks for a failed message to be tried again now."""
    if message.status == FAILED:
        message.status = PENDING
        message.attempts = 0
        message.due_at = utcnow()
        message.provider_message_id = None


# Messages to coordinators ------------------------------------------------------------------------

def _coordinators(clinic_id: int) -> list[User]:
    """Who receives the clinic's alerts (patient names inside): User.receives_clinic_alerts,
    so an invited coordinator who has not accepted yet is left out."""
    return list(db.session.scalars(select(User).where(
        User.receives_clinic_alerts, User.clinic_id == clinic_id)))


def _tell_clinic(kind: str, booking: Booking, payload: dict | None = None) -> None:
    """Queue a message to each coordinator of the booking's clinic; news of a patient's own
    hold, move or cancellation only to those who asked for it (their profile)."""
    for coordinator in _coordinators(booking.clinic_id):
        if kind == "message_failed" or coordinator.booking_alerts:
            queue(kind, booking, recipient=coordinator, payload=payload)


def _alert_clinic(message: OutboxMessage) -> None:
    """Tell the clinic's coordinators that a patient message failed (never about a message
    to the clinic itself)."""
    if message.booking_id is None or KINDS[message.kind].to_clinic:
        return
    booking = db.session.get(Booking, message.booking_id)
    _tell_clinic("message_failed", booking,
                 {"failed_kind": message.kind, "error": message.last_error[:300]})


def queue_daily_digests(now: datetime | None = None) -> int:
    """Queue, once a day, each coordinator's list of tomorrow's consultations (Bangkok days)."""
    now = now or utcnow()
    tomorrow = (now.astimezone(CLINIC_ZONE) + timedelta(days=1)).date().isoformat()
    recent = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.kind == "daily_digest", OutboxMessage.due_at >= now - timedelta(days=2)))
    already = {m.recipient_id for m in recent if m.payload.get("day") == tomorrow}
    count = 0
    for coordinator in db.session.scalars(select(User).where(User.receives_clinic_alerts)):
        if coordinator.id not in already:
            queue_for_user("daily_digest", coordinator, due_at=now, payload={"day": tomorrow})
            count += 1
    return count


def digest_context(message: OutboxMessage) -> dict:
    """Tomorrow's active bookings at the coordinator's clinic, in Bangkok time."""
    day = date.fromisoformat(message.payload["day"])
    start = datetime.combine(day, time.min, tzinfo=CLINIC_ZONE)
    bookings = db.session.scalars(select(Booking).where(
        Booking.clinic_id == message.recipient.clinic_id,
        Booking.state.in_((HELD, CONFIRMED)),
        Booking.starts_at >= start, Booking.starts_at < start + timedelta(days=1),
    ).order_by(Booking.starts_at)).all()
    base = current_app.config["BASE_URL"].rstrip("/")
    return {"day": day, "bookings": bookings, "link": f"{base}/coordinator/day?date={day}"}
