"""Signed, expiring links for email verification and password reset (itsdangerous)."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from booking.accounts.models import User, password_fingerprint

VERIFY_SALT = "spinebridge.verify-email"
RESET_SALT = "spinebridge.reset-password"
#: A staff invitation is a reset link that lasts longer (a new colleague may not read it today).
INVITE_SALT = "spinebridge.staff-invite"


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _password_fingerprint(user: User) -> str:
    # Binds a reset link to the current password, so it stops working once used.
    return password_fingerprint(user.password_hash)


def make_verify_token(user: User) -> str:
    return _serializer(VERIFY_SALT).dumps({"uid": user.id, "email": user.email})


def make_reset_token(user: User) -> str:
    return _serializer(RESET_SALT).dumps({"uid": user.id, "pw": _password_fingerprint(user)})


def make_invite_token(user: User) -> str:
    return _serializer(INVITE_SALT).dumps({"uid": user.id, "pw": _password_fingerprint(user)})


class TokenInvalid(Exception):
    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def read_verify_token(token: str) -> dict:
    max_age = int(current_app.config["EMAIL_TOKEN_MAX_AGE"].total_seconds())
    return _load(VERIFY_SALT, token, max_age)


def read_reset_token(token: str) -> dict:
    """A password reset link, or a staff invitation (signed apart, with its own lifetime)."""
    try:
        return _load(RESET_SALT, token,
                     int(current_app.config["RESET_TOKEN_MAX_AGE"].total_seconds()))
    except TokenInvalid as exc:
        if exc.expired:
            raise
    return _load(INVITE_SALT, token,
                 int(current_app.config["INVITE_TOKEN_MAX_AGE"].total_seconds()))


def reset_token_matches(user: User, payload: dict) -> bool:
    return payload.get("pw") == _password_fingerprint(user)


def _load(salt: str, token: str, max_age: int) -> dict:
    try:
        data = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenInvalid(expired=True) from exc
    except BadSignature as exc:
        raise TokenInvalid(expired=False) from exc
    if not isinstance(data, dict):
        raise TokenInvalid(expired=False)
    return data
