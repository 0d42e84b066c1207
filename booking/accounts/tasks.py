"""Timed account housekeeping, run by Celery beat."""

from __future__ import annotations

import logging

from celery import shared_task
from flask import current_app

from booking.accounts import services
from booking.core.actions import transaction

log = logging.getLogger(__name__)


@shared_task(name="accounts.purge_login_sessions")
def purge_login_sessions() -> int:
    """Delete sign-ins past the remember-me lifetime (their cookies are refused anyway)."""
    with transaction():
        removed = services.purge_login_sessions(current_app.config["REMEMBER_COOKIE_DURATION"])
    if removed:
        log.info("purged %d old sign-ins", removed)
    return removed
