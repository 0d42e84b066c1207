"""The outbox sweep: due rows are claimed and sent; nothing is scheduled days ahead in Celery."""

from __future__ import annotations

from celery import shared_task

from booking.notifications import services


@shared_task(name="notifications.dispatch_due", acks_late=True)
def dispatch_due() -> dict[str, int]:
    """Send every due message (each row is claimed and committed before it is sent)."""
    return services.dispatch_due()
