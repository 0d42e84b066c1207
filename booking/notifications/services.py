"""The outbox engine: writing messages into the outbox and sending those that are due.

It knows no feature. Features register what a message can be about and each kind of message
(`registry`); a row names its kind and its subject (`subject_type`, `subject_id`). Rows are
added in the transaction of the change that causes them (a feature's listener), so a crash or
a broker outage never loses one. The worker claims due rows (on PostgreSQL with FOR UPDATE SKIP
LOCKED), marks them `sending` and commits before it talks to the mail server; each row carries
a stable Message-ID.

Writing a message (`queue`, `cancel_unsent`, `resend`) only adds and flushes: the caller's
transaction commits it. The dispatcher (`claim_due`, `send_batch` and the helpers they use) is
the one place that commits by itself, because its commits are its lock boundaries: a claim is
committed before the mail server is called, each outcome right after."""

from __future__ import annotations

import logging
import smtplib
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, g, has_app_context, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_mailman import EmailMultiAlternatives
from sqlalchemy import and_, event, func, literal, or_, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from booking.accounts.models import User
from booking.core.errors import Conflict
from booking.core.locks import sqlite_write_lock
from booking.core.types import utcnow
from booking.extensions import db
from booking.notifications import registry, smtp
from booking.notifications.models import (
    CANCELLED,
    FAILED,
    PENDING,
    SENDING,
    SENT,
    OutboxMessage,
    may_move,
)

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


class MessageNotFailed(Conflict):
    code = "message_not_failed"


def queue(kind: str, recipient: User, *, about: object | None = None,
          due_at: datetime | None = None, payload: dict | None = None) -> OutboxMessage:
    """Add a message of a registered kind to the current transaction, sent at `due_at` (now
    by default) in the recipient's language."""
    message_kind = registry.kind(kind)
    subject_type = subject_id = None
    if about is not None:
        subject_type = registry.subject_type_of(about).name
        subject_id = about.id  # type: ignore[attr-defined]
    if subject_type != message_kind.about:
        raise ValueError(f"{kind!r} is about {message_kind.about!r}, not {subject_type!r}")
    language = (recipient.language if recipient.language in current_app.config["LANGUAGES"]
                else "en")
    message = OutboxMessage(subject_type=subject_type, subject_id=subject_id,
                            recipient_id=recipient.id, kind=kind, language=language,
                            due_at=due_at or utcnow(), payload=payload or {})
    db.session.add(message)
    if message.due_at <= utcnow():
        db.session.info["outbox_due_now"] = True
    return message


def cancel_unsent(about: object, tag: str) -> None:
    """Cancel the messages about `about` whose kind carries `tag` and that are not sent yet,
    claimed ones included: on PostgreSQL this waits for one being sent right now (its row is
    locked) and then leaves it as sent."""
    names = [name for name, k in registry.kinds().items() if tag in k.tags]
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.about(registry.subject_type_of(about).name,
                                   about.id),  # type: ignore[attr-defined]
               OutboxMessage.kind.in_(names),
               OutboxMessage.status.in_((PENDING, SENDING)))
        .values(status=CANCELLED)
        .execution_options(synchronize_session=False))


def messages_about(about: object) -> list[OutboxMessage]:
    """Every message about one object, in the order they are (or were) due."""
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.about(
        registry.subject_type_of(about).name, about.id))  # type: ignore[attr-defined]
        .order_by(OutboxMessage.due_at, OutboxMessage.id)))


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
    if g._get_current_object().pop("outbox_kick", False):  # (every request: not via the proxy)
        try:
            current_app.extensions["celery"].tasks["notifications.dispatch_due"].delay()
        except Exception:  # the broker is down: the beat sweep will find the row later
            log.warning("could not reach the broker; the outbox sweep will send later",
                        exc_info=True)
    return response


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
            failed_for_good(row)
            continue
        row.status = SENDING
        row.claimed_at = now
        row.attempts += 1
        row.provider_message_id = None  # (SQLite: the sender stamps it when it takes the row)
        claimed.append(row.id)
    db.session.commit()
    return claimed


def render(message: OutboxMessage, subject: Any = None, *,
           preview: bool = False) -> EmailMultiAlternatives:
    """The email for a message, in the recipient's language, as its kind builds it
    (`subject`: the object it is about, already loaded). `preview`: for staff reading it on
    screen; the kind leaves signed links out."""
    kind = registry.kind(message.kind)
    if subject is None and message.subject_type is not None:
        subject = _load_subjects([message]).get((message.subject_type, message.subject_id))
    with force_locale(message.language):
        context = {"user": message.recipient, "message": message,
                   **kind.context(message, subject, preview)}
        subject_line = str(kind.subject) % context
        text = render_template(f"emails/{kind.template}.txt", **context)
        html = render_template(f"emails/{kind.template}.html", **context)
    email = EmailMultiAlternatives(subject=subject_line, body=text,
                                   from_email=current_app.config["MAIL_DEFAULT_SENDER"],
                                   to=[message.recipient.email],
                                   headers={"Message-ID": message_id(message)})
    email.attach_alternative(html, "text/html")
    for filename, content, mimetype in kind.attachments(message, subject):
        email.attach(filename, content, mimetype)
    return email


Subjects = dict[tuple[str, int], Any]


def _load_subjects(messages: list[OutboxMessage]) -> Subjects:
    """What the messages are about, loaded by each subject type in a few queries a batch."""
    wanted: dict[str, set[int]] = defaultdict(set)
    for message in messages:
        if message.subject_type is not None and message.subject_id is not None:
            wanted[message.subject_type].add(message.subject_id)
    found: Subjects = {}
    for name, ids in wanted.items():
        for subject_id, obj in registry.subject_type(name).load(ids).items():
            found[(name, subject_id)] = obj
    return found


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
        subject_types = {m.id: m.subject_type for m in messages}
        subjects = _load_subjects(list(messages))
        db.session.commit()  # nothing is held between two messages
        return [_send_one_safely(message_id_, subject_types.get(message_id_), subjects)
                for message_id_ in ids]
    finally:
        session.expire_on_commit = keep


def _send_one_safely(message_id_: int, subject_type: str | None, subjects: Subjects) -> str:
    """One row's trouble (a lost database connection, say) must not strand the rest of the
    batch: it is logged, and that row is claimed again when its lease lapses."""
    try:
        return _send_one(message_id_, subject_type, subjects)
    except Exception:
        log.exception("message %s: unexpected error while sending; it will be retried",
                      message_id_)
        db.session.rollback()
        return "error"


def _locked_state(message_id_: int, subject_type: str | None):  # type: ignore[no-untyped-def]
    """Lock the row and read what may have changed since the batch was read: its status, its
    attempts and its subject's version (plain values, not objects: this runs once per email)."""
    registered = registry.subject_type(subject_type) if subject_type else None
    if registered is None or registered.version is None:
        query = select(OutboxMessage.status, OutboxMessage.attempts,
                       literal(None).label("version"))
    else:
        query = (select(OutboxMessage.status, OutboxMessage.attempts,
                        registered.version.label("version"))
                 .select_from(OutboxMessage)
                 .outerjoin(registered.model, and_(
                     OutboxMessage.subject_type == subject_type,
                     registered.model.id == OutboxMessage.subject_id)))
    return db.session.execute(query.where(OutboxMessage.id == message_id_)
                              .with_for_update(of=OutboxMessage)).first()


def _send_one(message_id_: int, subject_type: str | None, subjects: Subjects) -> str:
    found = _locked_state(message_id_, subject_type)
    message = db.session.get(OutboxMessage, message_id_)
    if (found is None or found.status != SENDING or message is None
            or not _taken_on_sqlite(message)):
        db.session.commit()  # (a rollback would also expire the batch's preloaded rows)
        return "skipped"  # already sent, cancelled, never claimed, or taken by another task
    set_committed_value(message, "attempts", found.attempts)
    kind = registry.kind(message.kind)
    subject = None
    if message.subject_type is not None:
        key = (message.subject_type, message.subject_id)
        subject = subjects.get(key)
        registered = registry.subject_type(message.subject_type)
        if subject is not None and registered.version is not None and \
                getattr(subject, registered.version.key) != found.version:
            db.session.refresh(subject)  # it changed since the batch was read
        if subject is None:
            subject = _load_subjects([message]).get(key)
    if not kind.still_wanted(message, subject):
        return _finish(message, status=CANCELLED, provider_message_id=None)  # moved or ended
    try:
        email = render(message, subject)
    except Exception as exc:  # a bug in a template or a missing row: retrying will not help
        log.exception("message %s could not be rendered", message.id)
        return _finish(message, status=FAILED, provider_message_id=None,
                       last_error=f"render: {type(exc).__name__}: {exc}"[:1000])
    try:
        smtp.deliver(email)
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("message %s not sent (attempt %s): %s", message.id, message.attempts, exc)
        error = f"{type(exc).__name__}: {exc}"[:1000]
        if message.attempts >= MAX_ATTEMPTS:
            set_committed_value(message, "last_error", error)
            failed_for_good(message)
            return _finish(message, status=FAILED, last_error=error, provider_message_id=None)
        return _finish(message, status=PENDING, last_error=error, provider_message_id=None,
                       due_at=utcnow() + timedelta(minutes=2 ** message.attempts))
    return _finish(message, status=SENT, sent_at=utcnow(), last_error="",
                   provider_message_id=message_id(message))


def _finish(message: OutboxMessage, **values) -> str:  # type: ignore[no-untyped-def]
    """Write a message's outcome with one UPDATE and commit (which releases its lock)."""
    table = OutboxMessage.__table__
    assert may_move(SENDING, values["status"])  # every outcome is written for a claimed row
    db.session.execute(update(table).where(table.c.id == message.id, table.c.status == SENDING)
                       .values(**values))
    db.session.commit()
    for name, value in values.items():
        set_committed_value(message, name, value)
    return str(values["status"])


def failed_for_good(message: OutboxMessage) -> None:
    """A message will not be tried again: its subject type's feature decides who is told
    (never about a message to staff, which would only raise another alert)."""
    if message.subject_type is None or registry.kind(message.kind).to_staff:
        return
    registered = registry.subject_type(message.subject_type)
    if registered.on_failure is None:
        return
    subject = registered.load([message.subject_id]).get(message.subject_id)
    if subject is not None:
        registered.on_failure(message, subject)


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


def batches(ids: list[int]) -> list[list[int]]:
    """Claimed ids cut into the batches one send task takes."""
    size = batch_size()
    return [ids[start:start + size] for start in range(0, len(ids), size)]


def dispatch_due(now: datetime | None = None) -> dict[str, int]:
    """Claim and send every message that is due now, in this process (tests, the bench, a
    shell). The worker does not call this: its beat task `notifications.dispatch_due` claims
    and hands the claims to `send_batch` tasks."""
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
    """Staff ask for a failed message to be tried again now; only a failed one may go back to
    pending (a sent, queued or cancelled one answers why not)."""
    if not may_move(message.status, PENDING) or message.status != FAILED:
        raise MessageNotFailed(_l("This message has not failed (it is %(status)s), so there "
                                  "is nothing to send again.", status=message.status))
    message.status = PENDING
    message.attempts = 0
    message.due_at = utcnow()
    message.provider_message_id = None
