"""Flask-Login glue: server-side sign-ins (Flask-Login's "alternative tokens" pattern).

The session cookie and the remember-me cookie carry the token of one LoginSession row, never
the user id: signing out deletes the row, so a copy of either cookie taken before stops
working at once (a password change or a suspension deletes the user's other rows too)."""

from __future__ import annotations

import logging

from flask import current_app, g, request
from flask_login import login_user, logout_user
from sqlalchemy.exc import SQLAlchemyError

from booking.accounts import services
from booking.accounts.models import User
from booking.core.actions import transaction
from booking.core.types import utcnow
from booking.extensions import db

log = logging.getLogger(__name__)


def load_user(session_token: str) -> User | None:
    """The user of a live sign-in (one query, joined to the user), or None: signed out,
    expired, or the account suspended."""
    row = services.login_session_for(session_token,
                                     max_age=current_app.config["REMEMBER_COOKIE_DURATION"])
    if row is None:
        return None
    user = row.user
    user.login_token = session_token
    user.login_session = row
    if services.needs_last_seen(row, utcnow()):
        g.login_session_seen = row.id  # written after the view (see touch_login_session)
    return user


def sign_in(user: User, *, remember: bool) -> None:
    """Start a sign-in for this browser (a new server-side session) and commit it."""
    with transaction():
        token = services.start_login_session(user, user_agent=request.user_agent.string or "")
        user.login_token = token
        login_user(user, remember=remember)


def sign_out() -> None:
    """End this browser's sign-in on the server and forget its cookies; commits."""
    from flask_login import current_user

    row = getattr(current_user, "login_session", None)
    if row is not None:
        with transaction():
            services.end_login_session(row)
    logout_user()


def touch_login_session(response):  # type: ignore[no-untyped-def]
    """after_request: note when a sign-in was last used, at most every few minutes.

    Done after the view, in its own short transaction: the view has committed what it meant
    to (whatever it left uncommitted is rolled back at the end of the request anyway), and the
    loader may run in the middle of a view, where a commit would be wrong."""
    row_id = g._get_current_object().pop("login_session_seen", None)  # (every request)
    if row_id is None:
        return response
    try:
        db.session.rollback()
        services.mark_login_session_seen(row_id, utcnow())
        db.session.commit()
    except SQLAlchemyError:  # only a "last seen" time: never worth failing the request
        log.warning("could not update login session %s", row_id, exc_info=True)
        db.session.rollback()
    return response


def load_user_from_request(request) -> User | None:  # type: ignore[no-untyped-def]
    """Bearer tokens for the JSON API (`Authorization: Bearer sbk_…`)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not request.path.startswith("/api/"):
        return None
    user = services.user_for_api_token(header[len("Bearer "):].strip())
    if user is not None:
        g.api_token_auth = True
        if db.session.dirty:
            db.session.commit()  # last_used_at (written when the token row was read)
    return user

