"""Flask-Login glue."""

from __future__ import annotations

from booking.accounts.models import User
from booking.extensions import db


def load_user(user_id: str) -> User | None:
    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None


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
