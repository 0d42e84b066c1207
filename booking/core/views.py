"""Site-wide preferences: language and display currency."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, request, session

from booking.core.i18n import SUPPORTED_CURRENCIES

bp = Blueprint("core", __name__)


def safe_next(default: str = "/") -> str:
    """Only same-site relative paths are followed after a preference change or login."""
    target = request.args.get("next") or request.form.get("next") or ""
    if any(ord(ch) < 0x20 or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


@bp.get("/language/<code>")
def set_language(code: str):
    """Switch the interface language (remembered on the account when signed in)."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    # Only this browser's session: the saved preference changes on the profile page (audited).
    session["lang"] = code
    return redirect(safe_next())


@bp.get("/currency/<code>")
def set_currency(code: str):
    """Switch the currency prices are shown in (THB remains the price charged)."""
    if code not in SUPPORTED_CURRENCIES:
        abort(404)
    session["currency"] = code
    return redirect(safe_next())
