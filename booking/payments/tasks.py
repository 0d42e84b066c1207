"""Timed payment work: asking Stripe about what its webhooks should have said."""

from __future__ import annotations

import logging

from celery import shared_task

from booking.core.actions import transaction
from booking.payments import gateway, webhooks

log = logging.getLogger(__name__)


@shared_task(name="payments.reconcile")
def reconcile() -> dict:
    """Sessions still open past their expiry (paid or not) and refunds still pending."""
    if not gateway.configured():
        return {}
    with transaction():
        done = webhooks.reconcile()
    if any(done.values()):
        log.info("reconciled %s", done)
    return done
