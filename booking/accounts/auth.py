"""Flask-Login glue."""

from __future__ import annotations

from booking.accounts.models import User, password_fingerprint
from booking.extensions import db


def load_user(session_id: str) -> User | None:
    """The user of a session id `<id>:<password fingerprint>`; a changed password ends it."""
    user_id, _, fingerprint = (session_id or "").partition(":")
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError, OverflowError):
        return None
    if user is None or fingerprint != password_fingerprint(user.password_hash):
        return None
    return user


def load_user_from_request(request) -> User | None:  # type: ignore[no-untyped-def]
    """Bearer tokens for the JSON API (`Authorization: Bearer sbk_…`)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not request.path.startswith("/api/"):
        return None
    from booking.accounts.services import user_for_api_token

    user = user_for_api_token(header[len("Bearer "):].strip())
    if user is not None:
        from flask import g

        g.api_token_auth = True
        db.session.commit()  # last_used_at
    return user
