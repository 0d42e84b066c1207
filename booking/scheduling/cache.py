"""Computed availability cached in Redis, invalidated whenever any schedule changes.

Every change that frees or takes time (a hold, a cancellation, a plan, leave, a holiday, a
consultation type or doctor switched off) marks the schedule changed; after the commit, one
version number goes up, and cached answers of an older version are never served again (they
expire on their own). A hit costs one Redis round trip and no SQL. A stale slot can still be
offered for a moment by another process, but never double-booked: holds check live data and
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
VERSION_KEY = "spinebridge:availability:version"
_PENDING = "schedule_changed"


def _client() -> redis.Redis | None:
    if not current_app.config.get("AVAILABILITY_CACHE", True):
        return None
    client = current_app.extensions.get("availability_redis")
    if client is None and current_app.config.get("REDIS_URL"):
        client = redis.Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=0.5)
        current_app.extensions["availability_redis"] = client
    return client


def mark_changed() -> None:
    """Note, inside the transaction, that free time changed; the cache forgets after commit."""
    db.session.info[_PENDING] = True


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    if not session.info.pop(_PENDING, False):
        return
    client = _client()
    if client is None:
        return
    try:
        client.incr(VERSION_KEY)
    except redis.RedisError:
        log.warning("could not invalidate the availability cache", exc_info=True)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


def cached_json(key: str, compute: Callable[[], object]) -> bytes:
    """`compute()`'s result as JSON bytes; from Redis (version and body in one round trip)
    when the cached copy is of the current version."""
    client = _client()
    if client is None:
        return _dumps(compute())
    body_key = f"spinebridge:availability:{key}"
    try:
        version, hit = client.mget(VERSION_KEY, body_key)
    except redis.RedisError:
        log.warning("availability cache unavailable; computing", exc_info=True)
        return _dumps(compute())
    current = version or b"0"
    if hit is not None:
        stored_version, _, body = hit.partition(b"|")
        if stored_version == current:
            return body
    body = _dumps(compute())
    try:
        client.set(body_key, current + b"|" + body, ex=TTL_SECONDS)
    except redis.RedisError:
        log.warning("could not store availability in the cache", exc_info=True)
    return body


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
