"""Signed-in pages kept whole, per sign-in, while nothing in the database has changed.

A coordinator's dashboard and week, or a patient's slot page and bookings, are read far more
often than anything they show is written, and each costs tens of milliseconds to build. A page
marked `@personal_page` is kept in this process's memory for the person, sign-in and session
(language, currency, CSRF secret) that asked for it, the address, and the minute, and served
again as it was while the database's *write generation* has not moved.

The write generation is one random token in Redis, replaced after every transaction that wrote
anything, from any process (web, worker, beat, a shell), so a cached page never shows data older
than the last commit (another process's commit is seen within milliseconds: each process knows
the generation without asking Redis every request, and is told when it moves, core/versions.py).
It is global: any write anywhere makes every cached page be built again. That is coarse, but
it needs no list of what each page reads, so a new query on a page can never go stale.

A page is kept only after the sign-in and the view's access rule passed and the page was
built; it is served again without loading the user (the decorator sits above the access rule),
which is safe because signing out, a suspension or a changed role is a write, and a kept page
ends with its sign-in's age limit. The sign-in itself is read without SQL while the generation
holds (accounts/services.py). A request with a message waiting (a flash), a bearer token or a
long address is never served from or stored in the cache. Without Redis nothing is cached:
another process's writes could not be seen. If Redis misses a bump (it is down), a page may be
at most one minute (TTL_SECONDS) old."""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

import redis
from flask import Flask, current_app, g, has_request_context, request, session
from flask.globals import request_ctx
from flask.sessions import SessionMixin
from flask_login import current_user
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import Pool
from werkzeug.wrappers import Request

from booking.core import versions
from booking.core.copies import VersionedCopies
from booking.core.types import utcnow

log = logging.getLogger(__name__)

GENERATION_KEY = "spinebridge:writes:generation"
TTL_SECONDS = 60
#: Longest address kept (a query string made up to fill the cache is not).
MAX_PATH = 300
#: Statements that change nothing; any other statement counts as a write (the safe default).
_READS = ("SELECT", "SAVEPOINT", "RELEASE", "ROLLBACK", "SHOW", "BEGIN", "SET ", "PRAGMA")
_WROTE = "spinebridge_wrote"
_MEMO = "spinebridge.write_generation"

#: The Redis of every app built in this process with the cache on (usually one): a write
#: replaces the generation in each.
_urls: set[str] = set()
_after_commit = threading.local()


# --- the write generation -------------------------------------------------------------------

def _note_write(conn, _cursor, statement, _parameters, _context, _executemany) -> None:  # noqa: ANN001
    if not statement.lstrip()[:9].upper().startswith(_READS):
        conn.info[_WROTE] = True


def _on_commit(conn) -> None:  # noqa: ANN001
    if conn.info.pop(_WROTE, False):
        # Before the commit: the only hook a bare connection has. A session's commit bumps
        # again after it (below), so a page built in between is never kept.
        bump()
        _after_commit.pending = True


def _on_rollback(conn) -> None:  # noqa: ANN001
    conn.info.pop(_WROTE, None)


def _on_reset(dbapi_connection, connection_record, reset_state) -> None:  # noqa: ANN001, ARG001
    connection_record.info.pop(_WROTE, None)  # returned to the pool (rolled back there)


def _after_session_commit(_session: Session) -> None:
    if getattr(_after_commit, "pending", False):
        _after_commit.pending = False
        bump()


def bump() -> None:
    """Make every cached page be built again (called after each commit that wrote)."""
    for url in list(_urls):
        try:
            versions.of(url).changed(
                GENERATION_KEY, lambda pipe: pipe.set(GENERATION_KEY, uuid.uuid4().hex))
        except redis.RedisError:
            log.warning("could not move the write generation; cached pages may be up to "
                        "%s s old", TTL_SECONDS, exc_info=True)


def generation() -> bytes | None:
    """The write generation as this request first read it (as this process knows it, see
    core/versions.py), or None without Redis (or when it does not answer): then nothing may
    be trusted."""
    memo = request.environ if has_request_context() else {}
    if _MEMO in memo:
        return memo[_MEMO]
    url = _url()
    current = None
    if url is not None:
        try:
            current = versions.of(url).get(GENERATION_KEY, _generation)
        except redis.RedisError:
            log.warning("page cache unavailable; building the page", exc_info=True)
    memo[_MEMO] = current
    return current


def _generation(client: redis.Redis, _key: str) -> bytes:
    current = client.get(GENERATION_KEY)
    if current is None:  # a new or flushed Redis: start a generation no process has seen
        client.set(GENERATION_KEY, uuid.uuid4().hex, nx=True)
        current = client.get(GENERATION_KEY) or b""
    return current


# --- the pages kept in this process ---------------------------------------------------------

#: Pages by key, each as (signed in until, UTF-8 body) with the generation it was built at.
_pages = VersionedCopies(TTL_SECONDS, size=lambda page: len(page[1]))


def _url() -> str | None:
    url = current_app.config.get("REDIS_URL") or ""
    return url if url in _urls and current_app.config.get("PERSONAL_PAGE_CACHE", True) \
        else None


def _cacheable(environ: dict, held: SessionMixin) -> bool:
    return (environ["REQUEST_METHOD"] == "GET" and bool(held.get("_user_id"))
            and "HTTP_AUTHORIZATION" not in environ and "_flashes" not in held
            and len(environ.get("PATH_INFO", "")) + len(environ.get("QUERY_STRING", ""))
            <= MAX_PATH)


def _key(req: Request, held: SessionMixin, now: datetime) -> str:
    """Who asks (everything their session holds: the sign-in's token, the CSRF secret, a chosen
    language or currency), for what, when. What else decides the page (the user's role, clinic,
    language and currency) is in the database, so in the generation; the browser's languages
    are in the key for a user whose own language the site does not offer."""
    environ = req.environ  # as sent (werkzeug's parsed forms cost more than the rest)
    parts = (req.endpoint, environ["wsgi.url_scheme"], environ.get("HTTP_HOST"),
             environ.get("SCRIPT_NAME"), environ.get("PATH_INFO"), environ.get("QUERY_STRING"),
             sorted((k, repr(v)) for k, v in held.items()),
             environ.get("HTTP_ACCEPT_LANGUAGE", ""),
             now.replace(second=0, microsecond=0).isoformat())
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def personal_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve the page as built for this sign-in while the database has not changed.

    Placed above the view's access rule: a page is only kept after the sign-in and the rule
    passed and the page was built, and is served again, without loading the user, only while
    nothing was written since (signing out, a suspension or a new role are writes) and the
    sign-in has not reached its age limit."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # The objects behind Flask's proxies, taken once (each access through one ~0.7 µs).
        req, held = request._get_current_object(), session._get_current_object()
        if not _cacheable(req.environ, held):
            return view(*args, **kwargs)
        current = generation()  # read before anything else is (the sign-in included)
        if current is None:
            return view(*args, **kwargs)
        now = utcnow()
        kept = _pages.get(_key(req, held, now), current)
        if kept is not None and kept[0] > now:
            g.personal_page = True
            return current_app.response_class(kept[1])  # encoded once, when kept
        body = view(*args, **kwargs)
        row = getattr(current_user, "login_session", None)
        if (isinstance(body, str) and row is not None
                and current_user.get_id() == session.get("_user_id")
                and "_flashes" not in session and not request_ctx.flashes):
            # Not a page that showed a message (it is shown once). The key is taken again:
            # building the page may have added the CSRF secret.
            signed_in_until = row.created_at + current_app.config["REMEMBER_COOKIE_DURATION"]
            _pages.put(_key(req, held, now), current, (signed_in_until, body.encode()),
                       current_app.config.get("PERSONAL_PAGE_CACHE_BYTES", 32 * 1024 * 1024))
        return body

    return wrapper


def clear() -> None:
    """Forget this process's pages (tests)."""
    _pages.clear()


def register(app: Flask) -> None:
    """Follow every write of this process; keep pages when the app has Redis."""
    url = app.config.get("REDIS_URL")
    if url and app.config.get("PERSONAL_PAGE_CACHE", True):
        _urls.add(url)
    if not event.contains(Engine, "before_cursor_execute", _note_write):
        event.listen(Engine, "before_cursor_execute", _note_write)
        event.listen(Engine, "commit", _on_commit)
        event.listen(Engine, "rollback", _on_rollback)
        event.listen(Pool, "reset", _on_reset)
        event.listen(Session, "after_commit", _after_session_commit)
