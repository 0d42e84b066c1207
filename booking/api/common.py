"""What every API blueprint shares: the CSRF rule for cookie sessions, the 401 for callers who
are not signed in, and documenting the error statuses a route can answer."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from http import HTTPStatus
from typing import Any

from flask import g, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from booking.core.errors import Unauthorized
from booking.extensions import csrf


def protect_session_writes() -> None:
    """before_request: bearer tokens cannot be sent by another site; cookie sessions can, so
    they need the CSRF header (X-CSRFToken) on every write."""
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return
    # Loading the user first tells us whether a bearer token (rather than a cookie) was used.
    if current_user.is_authenticated and not g.get("api_token_auth"):
        csrf.protect()


def answers_for(bp: Any) -> Callable[..., Callable]:
    """`answers(404, 409)`: document the error statuses a route of `bp` can answer, each with
    the error schema."""

    def answers(*codes: int) -> Callable:
        def decorate(func: Callable) -> Callable:
            for code in codes:
                func = bp.alt_response(code, response=HTTPStatus(code).name)(func)
            return func

        return decorate

    return answers


def signed_in(func: Callable) -> Callable:
    """401 before anything else (the body is not even read) without a session or token."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            raise Unauthorized(_l("Sign in or send a bearer token (Authorization: Bearer …)."))
        return func(*args, **kwargs)

    return wrapper
