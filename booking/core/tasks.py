"""Housekeeping tasks run by Celery beat."""

from __future__ import annotations

import logging
import socket

from celery import shared_task
from flask import current_app
from sqlalchemy import create_engine, text

from booking.core.actions import transaction
from booking.core.models import WorkerHeartbeat
from booking.core.types import utcnow
from booking.extensions import db

log = logging.getLogger(__name__)


@shared_task(name="core.record_heartbeat")
def record_heartbeat() -> str:
    """Record that a worker is alive; /readyz shows how long ago that was."""
    worker = socket.gethostname()
    with transaction():
        beat = db.session.get(WorkerHeartbeat, worker)
        if beat is None:
            db.session.add(WorkerHeartbeat(worker=worker, seen_at=utcnow()))
        else:
            beat.seen_at = utcnow()
    return worker


@shared_task(name="core.purge_embedded_broker")
def purge_embedded_broker() -> int:
    """Delete consumed messages that kombu's SQLAlchemy transport leaves behind (visible = 0)."""
    broker = current_app.config["CELERY"]["broker_url"]
    if not broker.startswith("sqla+"):
        return 0
    engine = create_engine(broker[len("sqla+") :])
    try:
        with engine.begin() as conn:
            result = conn.execute(text("DELETE FROM kombu_message WHERE visible = 0"))
            return result.rowcount or 0
    finally:
        engine.dispose()
