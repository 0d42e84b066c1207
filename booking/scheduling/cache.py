"""Computed availability cached in Redis, invalidated whenever a clinic's schedule changes.

Every change that frees or takes time (a hold, a cancellation, a plan, leave, a holiday) marks
the clinic changed; after the commit, the clinic's version number goes up, and cached answers
under the old version are never read again (they expire on their own). A stale slot can still
be offered for a moment by another process, but never double-booked: holds check live data and
the database refuses overlaps."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import redis
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from booking.extensions import db

log = logging.getLogger(__name__)
TTL_SECONDS = 300
_PENDING = "schedule_changed_clinics"
ALL_CLINICS = 0


def _client() -> redis.Redis | None:
    if not current_app.config.get("AVAILABILITY_CACHE", True):
        return None
    client = current_app.extensions.get("availability_redis")
    if client is None and current_app.config.get("REDIS_URL"):
        client = redis.Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=0.5)
        current_app.extensions["availability_redis"] = client
    return client


def mark_changed(clinic_id: int | None) -> None:
    """Note that a clinic's free time changed (None: every clinic, e.g. a public holiday)."""
    db.session.info.setdefault(_PENDING, set()).add(clinic_id or ALL_CLINICS)


def _version_key(clinic_id: int) -> str:
    return f"spinebridge:availability:version:{clinic_id}"


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    clinics = session.info.pop(_PENDING, None)
    if not clinics:
        return
    client = _client()
    if client is None:
        return
    try:
        with client.pipeline() as pipe:
            for clinic_id in clinics:
                pipe.incr(_version_key(clinic_id))
            pipe.execute()
    except redis.RedisError:
        log.warning("could not invalidate the availability cache", exc_info=True)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def cached_json(clinic_id: int, key: str, compute: Callable[[], object]) -> bytes:
    """`compute()`'s result as JSON bytes, straight from Redis when this schedule version has
    it (no decoding and re-encoding on a hit)."""
    client = _client()
    if client is None:
        return _dumps(compute())
    try:
        clinic_v, all_v = client.mget(_version_key(clinic_id), _version_key(ALL_CLINICS))
        full_key = (f"spinebridge:availability:{clinic_id}:{int(clinic_v or 0)}:"
                    f"{int(all_v or 0)}:{key}")
        hit = client.get(full_key)
        if hit is not None:
            return hit
    except redis.RedisError:
        log.warning("availability cache unavailable; computing", exc_info=True)
        return _dumps(compute())
    body = _dumps(compute())
    try:
        client.set(full_key, body, ex=TTL_SECONDS)
    except redis.RedisError:
        log.warning("could not store availability in the cache", exc_info=True)
    return body


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
