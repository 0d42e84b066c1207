"""Flask-Login glue."""

from __future__ import annotations

from booking.accounts.models import User
from booking.extensions import db


def load_user(user_id: str) -> User | None:
    try:
        return db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
