"""Site-wide preferences: language and display currency."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, request, session
from flask_login import current_user

from booking.core.i18n import SUPPORTED_CURRENCIES
from booking.extensions import db

bp = Blueprint("core", __name__)


def safe_next(default: str = "/") -> str:
    """Only same-site relative paths are followed after a preference change or login."""
    target = request.args.get("next") or request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


@bp.get("/language/<code>")
def set_language(code: str):
    """Switch the interface language (remembered on the account when signed in)."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    session["lang"] = code
    if current_user.is_authenticated and current_user.language != code:
        current_user.language = code
        db.session.commit()
    return redirect(safe_next())


@bp.get("/currency/<code>")
def set_currency(code: str):
    """Switch the currency prices are shown in (THB remains the price charged)."""
    if code not in SUPPORTED_CURRENCIES:
        abort(404)
    session["currency"] = code
    return redirect(safe_next())
