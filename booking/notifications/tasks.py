"""Outbox tasks: the sweep claims due rows and enqueues their sends in batches. Timed work is
driven by rows in the database, never by messages scheduled days ahead in the broker."""

from __future__ import annotations

from celery import shared_task

from booking.core.types import utcnow
from booking.notifications import services


@shared_task(name="notifications.dispatch_due", acks_late=True, bind=True)
def dispatch_due(self) -> int:  # type: ignore[no-untyped-def]
    """Claim every due message (committed before anything is sent) and enqueue their sends,
    a batch per task."""
    now = utcnow()
    claimed = services.claim_due(now, services.claim_room(now))
    send = self.app.tasks["notifications.send_batch"]  # this task's app, not the default
    for batch in services.batches(claimed):
        send.delay(batch)
    if len(claimed) == services.sweep_limit():
        # A full sweep: more may be due. Sweep again behind the batches just queued (the
        # beat would take a minute; a backlog of reminders should not). A sweep held back by
        # the cap on claims in flight does not poll: each batch that ends asks for the next.
        self.apply_async()
    return len(claimed)


@shared_task(name="notifications.send_batch", acks_late=True, bind=True)
def send_batch(self, message_ids: list[int]) -> list[str]:  # type: ignore[no-untyped-def]
    """Send claimed messages over one SMTP session; delivered twice, each email goes once.
    When it ends and more are due, it makes room for a new sweep."""
    outcomes = services.send_batch(message_ids)
    now = utcnow()
    if services.any_due(now) and services.claim_room(now) >= services.batch_size():
        self.app.tasks["notifications.dispatch_due"].delay()
    return outcomes
