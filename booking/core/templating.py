"""Values and filters every template may use; they format, they do not decide."""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import Flask, current_app, request
from flask_babel import format_datetime, format_timedelta, get_locale
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from booking.core.i18n import SUPPORTED_CURRENCIES, select_currency, text_direction
from booking.core.zones import CLINIC_ZONE, CLINIC_ZONE_NAME

REGULATORY_LABELS = {
    "standard_care": _l("Standard care"),
    "approved_research_protocol": _l("Approved research protocol"),
    "investigational": _l("Investigational"),
}
REGULATORY_EXPLAINED = {
    "standard_care": _l("An established treatment used in routine care."),
    "approved_research_protocol": _l(
        "Offered only under a research protocol approved by an ethics committee. It is not an "
        "approved standard treatment for back pain, and results are not guaranteed."
    ),
    "investigational": _l(
        "Still being studied. Evidence that it helps back pain is limited, and it is not approved "
        "as a standard treatment."
    ),
}
MODE_LABELS = {"video": _l("Video call"), "in_person": _l("In person, in Bangkok")}


@lru_cache(maxsize=8192)
def clock_text(locale: str, hour: int, minute: int) -> str:
    """A wall-clock time as the language writes it ("9:00 PM", "21:00"). Kept per language
    and minute of the day: a week of slots repeats the same few dozen times, and Babel takes
    ~40 µs to format each."""
    return babel_dates.format_time(time(hour, minute), "short", locale=locale)


@lru_cache(maxsize=8192)
def date_text(locale: str, day: date, width: str) -> str:
    """A date as the language writes it, in one of Babel's widths or a pattern; kept."""
    return babel_dates.format_date(day, width, locale=locale)


def _plain_lazy_strings(value: object) -> object:
    """Flask-Babel's lazy strings declare themselves safe HTML (`__html__` returns the text
    as is), so one that carries a typed value ("Unknown code: %(code)s") would be printed
    unescaped. Turned into plain text here, every `{{ … }}` escapes them like any string."""
    return str(value) if isinstance(value, LazyString) else value


def register(app: Flask) -> None:
    from booking.catalogue.services import display_price
    from booking.scheduling.models import STATE_LABELS, BookingState

    app.jinja_env.finalize = _plain_lazy_strings
    app.jinja_env.globals["CLINIC_ZONE"] = CLINIC_ZONE_NAME  # pages and emails alike
    @app.context_processor
    def site_context() -> dict:
        locale = str(get_locale() or "en")
        return {
            "current_locale": locale,
            "text_dir": text_direction(locale),
            "languages": current_app.config["LANGUAGES"],
            "currencies": SUPPORTED_CURRENCIES,
            "display_currency": select_currency(),
            "regulatory_labels": REGULATORY_LABELS,
            "regulatory_explained": REGULATORY_EXPLAINED,
            "mode_labels": MODE_LABELS,
            "state_labels": STATE_LABELS,
            "BookingState": BookingState,
            "price": display_price,
            "here": request.full_path.rstrip("?") if request else "/",
        }

    app.jinja_env.filters["format_timedelta"] = format_timedelta

    @app.template_filter("file_size")
    def file_size(size: int) -> str:
        """Bytes as people read them: "820 KB", "3.4 MB" (1 KB = 1,024 bytes, as file
        managers count; never "0.0 MB")."""
        locale = str(get_locale() or "en")
        if size < 1024 * 1024:
            return f"{babel_numbers.format_decimal(max(1, -(-size // 1024)), locale=locale)} KB"
        return f"{babel_numbers.format_decimal(round(size / 1048576, 1), locale=locale)} MB"

    @app.template_filter("amount")
    def amount(value) -> str:  # type: ignore[no-untyped-def]
        """A Money in the page's language: "THB 2,500.00", "US$72.50", "¥3,000"."""
        return value.format(str(get_locale() or "en"))

    @app.template_filter("in_bangkok")
    def in_bangkok(value: datetime | None) -> str:
        if value is None:
            return ""
        return format_datetime(value.astimezone(CLINIC_ZONE), "medium", rebase=False)

    @app.template_filter("local")
    def local(value: datetime | None) -> str:
        """Format in the viewer's own zone (Flask-Babel's timezone selector)."""
        if value is None:
            return ""
        return format_datetime(value, "medium")

    @app.template_filter("when")
    def when(value: datetime | None, zone: str | None = None) -> str:
        """A spelled-out date and time in a zone, e.g. "Tuesday, March 2, 2027, 9:00 PM"."""
        if value is None:
            return ""
        local = value.astimezone(ZoneInfo(zone) if zone else CLINIC_ZONE)
        locale = str(get_locale() or "en")
        return f"{date_text(locale, local.date(), 'full')}, " \
               f"{clock_text(locale, local.hour, local.minute)}"

    @app.template_filter("clock")
    def clock(value: datetime | None, zone: str | None = None) -> str:
        if value is None:
            return ""
        local = value.astimezone(ZoneInfo(zone) if zone else CLINIC_ZONE)
        return clock_text(str(get_locale() or "en"), local.hour, local.minute)

    @app.template_filter("day_full")
    def day_full(value: date) -> str:
        return date_text(str(get_locale() or "en"), value, "full")

    @app.template_filter("day_medium")
    def day_medium(value: date) -> str:
        """A date with its year, for what lasts: "Jan 14, 2031" (a passport's expiry)."""
        return date_text(str(get_locale() or "en"), value, "medium")

    @app.template_filter("day_short")
    def day_short(value: date) -> str:
        return date_text(str(get_locale() or "en"), value, "EEE d MMM")

    @app.template_filter("tzinfo")
    def tzinfo(zone: str) -> ZoneInfo:
        return ZoneInfo(zone)

    @app.template_filter("day_in_zone")
    def day_in_zone(value: datetime, zone: str) -> str:
        return date_text(str(get_locale() or "en"), value.astimezone(ZoneInfo(zone)).date(),
                         "EEE d MMM")

    @app.template_filter("zone_label")
    def zone_label(zone: str) -> str:
        return zone.split("/")[-1].replace("_", " ")

    @app.template_filter("language_name")
    def language_name(code: str) -> str:
        from babel import Locale

        try:
            return Locale.parse(code).get_display_name(str(get_locale() or "en")) or code
        except (ValueError, TypeError):
            return code
