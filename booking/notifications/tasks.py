"""Outbox tasks: the sweep claims due rows and enqueues one send per row. Timed work is driven by
rows in the database, never by messages scheduled days ahead in the broker."""

from __future__ import annotations

from celery import shared_task

from booking.core.types import utcnow
from booking.notifications import services


@shared_task(name="notifications.dispatch_due", acks_late=True, bind=True)
def dispatch_due(self) -> int:  # type: ignore[no-untyped-def]
    """Claim every due message (committed before anything is sent) and enqueue its send."""
    claimed = services.claim_due(utcnow())
    send = self.app.tasks["notifications.send_message"]  # this task's app, not the default
    for message_id in claimed:
        send.delay(message_id)
    return len(claimed)


@shared_task(name="notifications.send_message", acks_late=True)
def send_message(message_id: int) -> str:
    """Send one claimed message; delivered twice, it still sends one email."""
    return services.send(message_id)


@shared_task(name="notifications.queue_daily_digests")
def queue_daily_digests() -> int:
    """Each coordinator's list of tomorrow's consultations, once a day."""
    from booking.extensions import db

    count = services.queue_daily_digests()
    db.session.commit()
    return count
