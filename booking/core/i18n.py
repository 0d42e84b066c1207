"""Locale, zone and display-currency selection for the current request."""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask import current_app, has_request_context, request, session
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from booking.core.sessions import signed_in

SUPPORTED_CURRENCIES = ("THB", "USD", "EUR", "GBP", "AUD", "SGD", "AED", "JPY", "CNY")


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = session.get("lang")
    if chosen in languages:
        return chosen
    if signed_in() and current_user.language in languages:
        return current_user.language
    header = request.environ.get("HTTP_ACCEPT_LANGUAGE", "")
    # A made-up header of many kilobytes is weighed but not kept.
    best = _best_language if len(header) <= KEPT_HEADER else _best_language.__wrapped__
    return best(header, tuple(languages))


#: Longest Accept-Language text whose answer is kept (browsers send well under 100).
KEPT_HEADER = 256


@lru_cache(maxsize=1024)
def _best_language(header: str, languages: tuple[str, ...]) -> str:
    """The best of our languages for a browser's Accept-Language, by werkzeug's rule (what
    `request.accept_languages.best_match` does), once per header text: parsing it was ~15 µs
    of every anonymous catalogue page, and browsers send a handful of distinct texts."""
    return parse_accept_header(header, LanguageAccept).best_match(languages) or "en"


def select_timezone() -> str:
    if has_request_context() and signed_in():
        return current_user.timezone
    return "UTC"


def select_currency() -> str:
    if has_request_context():
        chosen = session.get("currency")
        if chosen in SUPPORTED_CURRENCIES:
            return chosen
        if signed_in() and current_user.currency in SUPPORTED_CURRENCIES:
            return current_user.currency
    return current_app.config["BASE_CURRENCY"]


def text_direction(locale_code: str) -> str:
    """'rtl' for right-to-left scripts (Arabic, Hebrew …), else 'ltr'."""
    order = Locale.parse(locale_code).character_order
    return "rtl" if order == "right-to-left" else "ltr"
