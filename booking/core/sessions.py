"""The signed-cookie session, without the work a request that needs no session would pay.

Flask builds a new signing serializer (and derives its key) for every request, and opens the
session of every request, /healthz and static files included. Here the serializer is built
once per set of keys, and the liveness probe and static files never read or write the
session: a cookie they are sent is left as it is (nothing is loaded from it, nothing is set)."""

from __future__ import annotations

from flask import Flask, Request, current_app
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from itsdangerous import URLSafeTimedSerializer

#: Answered without a session, a user, or the cookie being read.
SESSIONLESS_PATHS = frozenset({"/healthz"})
_SESSIONLESS = "spinebridge.sessionless"


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
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response) -> None:  # type: ignore[no-untyped-def, override]
        from flask import request

        if sessionless(request):
            return
        super().save_session(app, session, response)
