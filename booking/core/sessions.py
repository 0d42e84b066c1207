"""The signed-cookie session, without the work a request that needs no session would pay.

Flask builds a new signing serializer (and derives its key) for every request, and opens the
session of every request, /healthz and static files included. Here the serializer is built
once per set of keys, a cookie already verified is not verified again, and the liveness probe
and static files never read or write the session: a cookie they are sent is left as it is
(nothing is loaded from it, nothing is set)."""

from __future__ import annotations

import time

from flask import Flask, Request, current_app
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import BadSignature, URLSafeTimedSerializer

#: Answered without a session, a user, or the cookie being read.
SESSIONLESS_PATHS = frozenset({"/healthz"})
_SESSIONLESS = "spinebridge.sessionless"
#: Verified cookies kept per process (a few hundred bytes each); all forgotten when full.
VERIFIED_COOKIES = 4096
_PLAIN = (str, int, bool, float, type(None))


def sessionless(request: Request) -> bool:
    """True for the liveness probe and static files: they never use the session or the user."""
    flag = request.environ.get(_SESSIONLESS)
    if flag is None:
        path = request.path
        flag = path in SESSIONLESS_PATHS or path.startswith(
            f"{current_app.static_url_path}/")
        request.environ[_SESSIONLESS] = flag
    return flag


class LeanSessionInterface(SecureCookieSessionInterface):
    """SecureCookieSessionInterface with the serializer cached and sessionless paths skipped."""

    def __init__(self) -> None:
        self._serializers: dict[tuple, URLSafeTimedSerializer | None] = {}
        #: (serializer, cookie) -> (session data, signed at): cookies this process already
        #: verified with these keys. A browser sends the same cookie with every request until
        #: the session changes; checking its signature and decoding it again was a fifth of
        #: a kept page's time. Its age is still checked on every request; other keys (a
        #: rotated secret) are another serializer. Only sessions of plain values are kept
        #: (each request gets its own copy of the dict; a message list is not shared).
        self._verified: dict[tuple, tuple[dict, int]] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        # The keys can change at runtime (tests set them): they are the cache key.
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        serializer = self._serializers.get(key)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            if len(self._serializers) > 8:
                self._serializers.clear()
            self._serializers[key] = serializer
        return serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if sessionless(request):
            # Empty; whatever is written to it is dropped by save_session below, so the
            # browser's own cookie is never replaced by an answer to a probe.
            return self.session_class()
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        verified = self._verified.get((serializer, cookie))
        if verified is not None:
            data, signed_at = verified
            if 0 <= int(time.time()) - signed_at <= max_age:  # itsdangerous's own age rule
                return self.session_class(data)
        try:
            data, signed = serializer.loads(cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if all(type(value) in _PLAIN for value in data.values()):
            if len(self._verified) >= VERIFIED_COOKIES:
                self._verified.clear()
            self._verified[(serializer, cookie)] = (dict(data), int(signed.timestamp()))
        return self.session_class(data)

    def save_session(self, app: Flask, session: SessionMixin, response) -> None:  # type: ignore[no-untyped-def, override]
        from flask import request

        if sessionless(request):
            return
        super().save_session(app, session, response)


def signed_in() -> bool:
    """`current_user.is_authenticated`, without asking Flask-Login when this request carries
    nothing it could find a user in: no sign-in in the session, no remember-me cookie, no
    Authorization header (our request loader's bearer tokens, and Flask-Login's header
    loader). Flask-Login would answer "anonymous" after hashing the visitor's address and
    browser (session protection) and asking each source in turn: ~25 µs of every anonymous
    page."""
    from flask import g, request, session
    from flask_login import current_user
    from flask_login.config import COOKIE_NAME

    if "_login_user" in g:  # already asked in this request
        return bool(current_user.is_authenticated)
    req = request._get_current_object()  # (each access through the proxy ~0.7 µs)
    held = session._get_current_object()
    if held.get("_user_id") is None \
            and current_app.config.get("REMEMBER_COOKIE_NAME", COOKIE_NAME) not in req.cookies \
            and "HTTP_AUTHORIZATION" not in req.environ:
        return False
    return bool(current_user.is_authenticated)
