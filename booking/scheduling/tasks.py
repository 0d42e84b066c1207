"""Timed scheduling work, driven by database rows (never by long ETA messages)."""

from __future__ import annotations

import logging

from celery import shared_task

from booking.core.actions import transaction
from booking.scheduling import messages, services

log = logging.getLogger(__name__)


@shared_task(name="scheduling.expire_holds")
def expire_holds() -> int:
    """Free slots whose hold lapsed without a deposit."""
    with transaction():
        expired = services.expire_holds()
    if expired:
        log.info("expired %d holds", len(expired))
    return len(expired)


@shared_task(name="scheduling.queue_daily_digests")
def queue_daily_digests() -> int:
    """Each coordinator's list of tomorrow's consultations, once a day."""
    with transaction():
        count = messages.queue_daily_digests()
    return count
