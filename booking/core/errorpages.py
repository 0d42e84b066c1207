"""Friendly error pages for people, JSON errors for /api/ — never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from booking.core.errors import DomainError
from booking.extensions import db

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _messages() -> dict[int, tuple[str, str]]:
    return {
        400: (_("Something in that request was not right"),
              _("Please go back, check what you entered and try again.")),
        403: (_("You do not have access to this page"),
              _("If you think you should, sign in with the right account or contact us.")),
        404: (_("We could not find that page"),
              _("The link may be old or mistyped. Try the home page or the menu above.")),
        405: (_("That action is not available here"),
              _("Please use the buttons on the page rather than typing the address.")),
        413: (_("That is too large to accept"),
              _("Please choose a smaller file or send less at once.")),
        422: (_("Some of what you entered could not be used"),
              _("Please go back, correct the value named below and try again.")),
        429: (_("Too many attempts"),
              _("For your security we paused this for a moment. Please wait a minute and try "
                "again.")),
        500: (_("Something went wrong on our side"),
              _("We have been notified. Nothing you entered was charged. Please try again in a "
                "few minutes.")),
    }


def _render(status: int, code: str, detail: str | None = None):
    title, hint = _messages().get(status, _messages()[500 if status >= 500 else 400])
    if _wants_json():
        return jsonify(error={"code": code, "message": detail or title}), status
    return render_template("errors/error.html", status=status, title=title,
                           hint=detail or hint), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return _render(400, "csrf_failed",
                       _("This form had expired. Please go back, reload the page and send it "
                         "again."))

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        return _render(error.status, error.code, str(error.message))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        code = (error.name or "error").lower().replace(" ", "_")
        detail = None
        if _wants_json() and error.description and status < 500:
            detail = error.description
        return _render(status, code, detail)

    @app.errorhandler(Exception)
    def unhandled(error: Exception):
        if isinstance(error, HTTPException):
            return http_error(error)
        if isinstance(error, OverflowError):
            # An id or number far beyond any row we could have: nothing is there.
            db.session.rollback()
            return _render(404, "not_found")
        log.exception("unhandled error on %s %s", request.method, request.path)
        # A failed statement leaves the session unusable; the error page itself needs it.
        db.session.rollback()
        return _render(500, "internal_error")

    @app.errorhandler(InternalServerError)
    def internal(error: InternalServerError):
        log.error("internal server error on %s %s", request.method, request.path)
        db.session.rollback()
        return _render(500, "internal_error")
