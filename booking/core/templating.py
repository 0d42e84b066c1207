"""Values and filters every template may use; they format, they do not decide."""

from __future__ import annotations

from datetime import datetime

from flask import Flask, current_app, request
from flask_babel import format_datetime, get_locale
from flask_babel import lazy_gettext as _l

from booking.core.i18n import SUPPORTED_CURRENCIES, select_currency, text_direction
from booking.core.zones import CLINIC_ZONE

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


def register(app: Flask) -> None:
    from booking.catalogue.services import display_price

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
            "price": display_price,
            "here": request.full_path.rstrip("?") if request else "/",
        }

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

    @app.template_filter("language_name")
    def language_name(code: str) -> str:
        from babel import Locale

        try:
            return Locale.parse(code).get_display_name(str(get_locale() or "en")) or code
        except (ValueError, TypeError):
            return code
