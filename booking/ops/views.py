"""Operational probes: /healthz (alive) and /readyz (database and broker reachable)."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, current_app, jsonify
from sqlalchemy import func, select, text

from booking.core.models import WorkerHeartbeat
from booking.core.types import utcnow
from booking.extensions import db

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)


#: /healthz's answer, encoded once (it is asked every few seconds by every probe).
HEALTHY = b'{"status":"ok"}\n'


@bp.get("/healthz")
def healthz():
    """The process is alive (no session, user, database or template: see core.sessions)."""
    return current_app.response_class(HEALTHY, mimetype="application/json")


def _timed(check) -> dict:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    try:
        detail = check()
    except Exception as exc:  # any failure means "not ready"; the reason is logged, not shown
        log.warning("readiness check failed: %s", exc)
        return {"ok": False, "error": type(exc).__name__}
    result = {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}
    if detail:
        result.update(detail)
    return result


def _check_database() -> None:
    db.session.execute(text("SELECT 1"))


def _check_broker() -> dict:
    celery = current_app.extensions["celery"]
    with celery.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        return {"transport": conn.transport_cls if isinstance(conn.transport_cls, str)
                else conn.transport.driver_type}


def _worker_heartbeat() -> dict:
    last = db.session.scalar(select(func.max(WorkerHeartbeat.seen_at)))
    if last is None:
        return {"seen": False}
    return {"seen": True, "age_seconds": int((utcnow() - last).total_seconds())}


@bp.get("/readyz")
def readyz():
    """Database and broker reachable (JSON with each check); 503 when one is not."""
    checks = {"database": _timed(_check_database), "broker": _timed(_check_broker)}
    ready = all(c["ok"] for c in checks.values())
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    if checks["database"]["ok"]:
        try:
            body["worker"] = _worker_heartbeat()
        except Exception:  # the table may not exist before the first migration
            db.session.rollback()
    return jsonify(body), 200 if ready else 503
