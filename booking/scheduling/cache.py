"""Computed availability cached in Redis, invalidated whenever any schedule changes.

Every change that frees or takes time (a hold, a cancellation, a plan, leave, a holiday, a
consultation type or doctor switched off) marks the schedule changed; after the commit, one
version number goes up, and cached answers of an older version are never served again (they
expire on their own). A hit costs no SQL, and no Redis round trip while the version has not
moved (core/versions.py). A stale slot can still be
offered for a moment by another process, but never double-booked: holds check live data and
the database refuses overlaps."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime

import redis
from flask import current_app, g
from sqlalchemy import event
from sqlalchemy.orm import Session

from booking.core import versions
from booking.core.copies import VersionedCopies
from booking.extensions import db

log = logging.getLogger(__name__)
TTL_SECONDS = 300
VERSION_KEY = "spinebridge:availability:version"
_PENDING = "schedule_changed"


def _versions() -> versions.Versions | None:
    """The app's Redis (its client and version keys), or None: no cache."""
    url = current_app.config.get("REDIS_URL")
    if not url or not current_app.config.get("AVAILABILITY_CACHE", True):
        return None
    return versions.of(url)


def mark_changed() -> None:
    """Note, inside the transaction, that free time changed; the cache forgets after commit."""
    db.session.info[_PENDING] = True


@event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    if not session.info.pop(_PENDING, False):
        return
    known = _versions()
    if known is None:
        return
    try:
        known.changed(VERSION_KEY, lambda pipe: pipe.incr(VERSION_KEY))
    except redis.RedisError:
        log.warning("could not invalidate the availability cache", exc_info=True)


@event.listens_for(Session, "after_rollback")
def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)


#: The answers this process read or computed last, each with the version it was computed at
#: (32 MB by default), as (lasts until, JSON). A 60-day answer for 20 doctors is ~1 MB: reading
#: it from Redis cost 3.5 ms of a 5 ms request. Like the Redis copy, a local one lives
#: TTL_SECONDS at most.
_local = VersionedCopies(TTL_SECONDS, size=lambda copy: len(copy[1]))

#: What `compute` returns: the answer, and the instant until which the clock alone cannot
#: change it (None: only a schedule change can), see availability.answer_lasts_until.
Computed = tuple[object, datetime | None]


def cached_json(key: str, compute: Callable[[], Computed], now: datetime) -> bytes:
    """`compute()`'s answer as JSON bytes, kept until the schedule changes or the clock passes
    the instant it lasts until. The version is as this process knows it: read from Redis, and
    read again once any process changed it (core/versions.py), so a change committed anywhere
    is seen within milliseconds; the body comes from this process's copy when it is of that
    version, else from Redis, else it is computed."""
    known = _versions()
    if known is None:
        return _dumps(compute()[0])
    client = known.client
    body_key = f"spinebridge:availability:{key}"
    limit = current_app.config.get("AVAILABILITY_LOCAL_CACHE_BYTES", 32 * 1024 * 1024)
    moment = now.timestamp()
    try:
        current = known.get(VERSION_KEY) or b"0"
        copy = _local.get(body_key, current) if limit else None
        if copy is not None and moment <= copy[0]:
            _tag(body_key, current, copy[0])
            return copy[1]
        hit = client.get(body_key)
    except redis.RedisError:
        log.warning("availability cache unavailable; computing", exc_info=True)
        return _dumps(compute()[0])
    stored = _stored(hit) if hit is not None else None
    if stored is not None and stored[0] == current and moment <= stored[1]:
        if limit:
            _local.put(body_key, current, stored[1:], limit)
        _tag(body_key, current, stored[1])
        return stored[2]
    answer, until = compute()
    body = _dumps(answer)
    lasts_until = until.timestamp() if until is not None else float("inf")
    try:
        client.set(body_key, b"|".join((current, repr(lasts_until).encode(), body)),
                   ex=TTL_SECONDS)
    except redis.RedisError:
        log.warning("could not store availability in the cache", exc_info=True)
    if limit:
        _local.put(body_key, current, (lasts_until, body), limit)
    _tag(body_key, current, lasts_until)
    return body


def _stored(hit: bytes) -> tuple[bytes, float, bytes] | None:
    """A Redis copy as (version, lasts until, JSON); None for one not of that form (a copy
    written by an earlier release, before answers had an end)."""
    version, _, rest = hit.partition(b"|")
    lasts, _, body = rest.partition(b"|")
    try:
        return version, float(lasts), body
    except ValueError:
        return None


def _tag(body_key: str, version: bytes, lasts_until: float) -> None:
    """Name the answer this request got, for its compressed copy (CompressedCopies). One key
    and version can be computed again after the clock ended an answer; the new one lasts
    longer (its first slot is later), so the three name one body."""
    g.availability_tag = f"{body_key}|{version.decode()}|{lasts_until!r}"


def compressed_copy_key(_request) -> str:  # type: ignore[no-untyped-def]
    """Flask-Compress's cache key: the cached answer's key and version, or "" (not kept)."""
    return g.get("availability_tag", "")


class CompressedCopies:
    """Flask-Compress's cache backend: the gzip of each cached availability answer, made once
    (a 60-day answer is ~1.1 MB of JSON, ~27 KB gzipped, and takes ~10 ms to compress). Kept
    in this process by answer and version (both in the key), at most LIMIT bytes; an answer
    that was not cached (no Redis) has no key and is compressed each time."""

    LIMIT = 8 * 1024 * 1024

    def __init__(self) -> None:
        self._copies = VersionedCopies(TTL_SECONDS)

    def get(self, key: str) -> bytes | None:
        return self._copies.get(key, b"")

    def set(self, key: str, value: bytes) -> None:
        # Flask-Compress sets what it just got from here too: that one is kept already.
        if not key.endswith(";") and self._copies.get(key, b"") is not value:  # "gzip;": none
            self._copies.put(key, b"", value, self.LIMIT)


def _dumps(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()
