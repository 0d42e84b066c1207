"""Public catalogue pages cached whole for anonymous visitors, per address, language and
display currency (Flask-Caching; Redis in production). Nothing personal is in them: no
forms, no CSRF token, no name; a visitor with a message waiting (a flash) or signed in gets
the page rendered for them. A committed change to anything the pages show clears them."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import request, session
from sqlalchemy import event
from sqlalchemy.orm import Session

from booking.core.i18n import select_currency, select_locale
from booking.core.sessions import signed_in
from booking.extensions import page_cache

#: Longest address cached (a query string made up to fill the cache is not).
MAX_PATH = 300


def _cacheable() -> bool:
    return (request.method == "GET" and not signed_in()
            and "_flashes" not in session and len(request.full_path) <= MAX_PATH)


def cached_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve the rendered page from the cache when it is the same for every visitor."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _cacheable():
            return view(*args, **kwargs)
        key = f"{select_locale()}:{select_currency()}:{request.full_path}"
        body = page_cache.get(key)
        if body is None:
            body = view(*args, **kwargs)
            if isinstance(body, str):
                page_cache.set(key, body)
        return body

    return wrapper


def _shown_models() -> tuple[type, ...]:
    from booking.catalogue.models import (
        Clinic,
        Condition,
        ConsultationType,
        Doctor,
        ExchangeRate,
        Treatment,
    )

    return (Clinic, Condition, ConsultationType, Doctor, ExchangeRate, Treatment)


def _note_changes(session_: Session, _context: Any, _instances: Any) -> None:
    shown = _shown_models()
    if any(isinstance(obj, shown)
           for obj in (*session_.new, *session_.dirty, *session_.deleted)):
        session_.info["catalogue_changed"] = True


def _clear_after_commit(session_: Session) -> None:
    if session_.info.pop("catalogue_changed", False):
        page_cache.clear()


def _forget_on_rollback(session_: Session) -> None:
    session_.info.pop("catalogue_changed", None)


def register() -> None:
    """Clear the cached pages after any commit that changed what they show."""
    if not event.contains(Session, "before_flush", _note_changes):
        event.listen(Session, "before_flush", _note_changes)
        event.listen(Session, "after_commit", _clear_after_commit)
        event.listen(Session, "after_rollback", _forget_on_rollback)
