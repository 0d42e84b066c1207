"""SpineBridge: the Flask app factory."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent

CSP = {
    "default-src": "'self'",
    "img-src": ["'self'", "data:"],
    "style-src": "'self'",
    "script-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _csp(app: Flask) -> dict:
    """The policy, with Stripe's hosted checkout (or the stand-in) allowed as a form's target:
    the deposit form is answered with a redirect there, which form-action also governs."""
    from urllib.parse import urlsplit

    base = app.config.get("STRIPE_API_BASE")
    checkout = "https://checkout.stripe.com"
    if base:
        parts = urlsplit(base)
        checkout = f"{parts.scheme}://{parts.netloc}"
    return {**CSP, "form-action": ["'self'", checkout]}


class SpineBridge(Flask):
    """Flask, asking only once per function whether it is a coroutine. Flask asks
    `ensure_sync` for every before/after/teardown function and view of every request (15 on
    the liveness probe, ~8 % of its time, in `inspect`); a function's nature does not change."""

    #: Functions registered once are many fewer; per-request ones (after_this_request) are
    #: not kept past this bound.
    SYNC_CACHE_SIZE = 1024

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._sync: dict = {}

    def ensure_sync(self, func):  # type: ignore[no-untyped-def]
        sync = self._sync.get(func)
        if sync is None:
            sync = super().ensure_sync(func)
            if len(self._sync) < self.SYNC_CACHE_SIZE:
                self._sync[func] = sync
        return sync


def create_app(config: str | type | None = None) -> Flask:
    """Build the app from a config name ("development", "testing", "production") or class."""
    from config import CONFIGS

    app = SpineBridge(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    if config is None:
        # Secure by default: development settings (a known dev key) only when asked for.
        config = os.environ.get("SPINEBRIDGE_ENV", "production")
    app.config.from_object(CONFIGS[config] if isinstance(config, str) else config)
    if not app.config.get("SECRET_KEY"):
        raise RuntimeError("SECRET_KEY must be set in the environment outside development")
    if not app.config.get("ENCRYPTION_KEYS"):
        # Passport numbers are stored sealed: without a key the trip pages could not work.
        raise RuntimeError("ENCRYPTION_KEYS must be set in the environment outside development "
                           "(one or more Fernet keys, comma-separated, newest first)")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    from booking.core.sessions import LeanSessionInterface

    app.session_interface = LeanSessionInterface()
    from booking.core.ids import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any route is added

    from booking.core.logging import configure_logging

    configure_logging(app)
    if app.config["PROXY_FIX_X_FOR"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_FIX_X_FOR"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    register_extensions(app)
    register_messages(app)
    register_audit_labels(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_request_guards(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from booking.accounts.auth import load_user, load_user_from_request
    from booking.celery_app import celery_init_app
    from booking.core import ratelimits
    from booking.core.headers import CachedTalisman
    from booking.core.i18n import select_locale, select_timezone
    from booking.extensions import (
        babel,
        compress,
        csrf,
        db,
        limiter,
        login_manager,
        mail,
        migrate,
        page_cache,
    )

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, directory=str(ROOT / "migrations"))
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "info"
    login_manager.user_loader(load_user)
    login_manager.request_loader(load_user_from_request)
    _remember_cookie_only_with_a_session(app, login_manager)
    csrf.init_app(app)
    _check_csrf_on_changes_only(app, csrf)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    limiter.init_app(app)
    ratelimits.register(app)  # its every-request hook out while no limit covers every request
    page_cache.init_app(app)
    from booking.scheduling.cache import CompressedCopies, compressed_copy_key

    app.config.setdefault("COMPRESS_CACHE_BACKEND", CompressedCopies)
    app.config.setdefault("COMPRESS_CACHE_KEY", compressed_copy_key)
    compress.init_app(app)
    mail.init_app(app)
    force_https = app.config["FORCE_HTTPS"]
    # Talisman keeps its settings on the instance, so each app gets its own.
    app.extensions["talisman"] = CachedTalisman(
        app,
        force_https=force_https,
        strict_transport_security=force_https,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=True,
        content_security_policy=_csp(app),
        frame_options="DENY",
        referrer_policy="strict-origin-when-cross-origin",
    )
    celery_init_app(app)


def _remember_cookie_only_with_a_session(app: Flask, login_manager) -> None:  # type: ignore[no-untyped-def]
    """Flask-Login's after-request hook sets or clears the remember-me cookie from what the
    session says; the liveness probe and static files have no session (core.sessions: what is
    written to theirs is dropped), so it has nothing to do there (~3 µs of /healthz)."""
    from flask import request

    from booking.core.hooks import run_only_when
    from booking.core.sessions import sessionless

    hook = login_manager._update_remember_cookie  # noqa: SLF001 - the hook init_app added
    run_only_when(app.after_request_funcs.get(None, []), lambda found: found == hook,
                  lambda: not sessionless(request._get_current_object()),
                  "update_remember_cookie")


def _check_csrf_on_changes_only(app: Flask, csrf) -> None:  # type: ignore[no-untyped-def]
    """Flask-WTF's own hook looks up the view's exemption before the method, on every request
    (~6 µs of a GET that has nothing to check). Its documented alternative: the default check
    off (WTF_CSRF_CHECK_DEFAULT, config.py) and a hook of one's own calling `csrf.protect`, here
    only for the methods it protects. Same exemptions, same refusal."""
    from flask import request

    @app.before_request
    def csrf_protect() -> None:
        config = app.config
        # (The request behind Flask's proxy, taken directly: cheaper on every request.)
        method = request._get_current_object().method
        if config["WTF_CSRF_ENABLED"] and method in config["WTF_CSRF_METHODS"]:
            csrf.protect(apply_exemptions=True)


def register_messages(app: Flask) -> None:
    """Each feature registers its message kinds with the outbox and connects its listeners
    here, explicitly (no import has that side effect)."""
    from booking.accounts import messages as account_messages
    from booking.payments import messages as payment_messages
    from booking.payments import services as payments
    from booking.scheduling import messages as booking_messages
    from booking.travel import letter_messages
    from booking.travel import messages as travel_messages

    account_messages.register()
    booking_messages.register()
    payment_messages.register()
    payments.register()
    travel_messages.register()
    letter_messages.register()


def register_audit_labels(app: Flask) -> None:
    """How each feature's objects are named in the audit trail's sentences."""
    from booking.accounts.models import User
    from booking.catalogue.models import Clinic, ConsultationType, Doctor, Treatment
    from booking.core.audit import register_labeller
    from booking.core.labels import by_column
    from booking.scheduling import trail
    from booking.travel import trail as travel_trail

    for model in (User, Clinic, Doctor, ConsultationType, Treatment):
        register_labeller(model.__name__, by_column(model))
    trail.register()
    travel_trail.register()


def register_blueprints(app: Flask) -> None:
    from booking.catalogue import pagecache
    from booking.core import personal_pages
    from booking.notifications.services import kick_worker

    app.after_request(kick_worker)
    pagecache.register()
    personal_pages.register(app)
    from booking.accounts.staff import bp as staff_bp
    from booking.accounts.views import bp as accounts_bp
    from booking.admin.views import bp as admin_bp
    from booking.catalogue.manage import bp as catalogue_admin_bp
    from booking.catalogue.views import bp as catalogue_bp
    from booking.coordinator.views import bp as coordinator_bp
    from booking.core.views import bp as core_bp
    from booking.notifications.views import bp as outbox_bp
    from booking.ops.views import bp as ops_bp
    from booking.payments.views import bp as payments_bp
    from booking.records.views import bp as records_bp
    from booking.scheduling.views.clinic import bp as clinic_bookings_bp
    from booking.scheduling.views.manage import bp as manage_bp
    from booking.scheduling.views.patient import bp as scheduling_bp
    from booking.scheduling.views.plans import bp as plans_bp
    from booking.screening.views import bp as screening_bp
    from booking.travel.views.desk import bp as travel_desk_bp
    from booking.travel.views.hotels import bp as partner_hotels_bp
    from booking.travel.views.letters import bp as letters_bp
    from booking.travel.views.patient import bp as travel_bp

    # Each feature brings its screens for every role; the two dashboards compose them.
    for bp in (core_bp, ops_bp, catalogue_bp, accounts_bp, screening_bp, scheduling_bp,
               records_bp, payments_bp, manage_bp, clinic_bookings_bp, plans_bp, coordinator_bp,
               catalogue_admin_bp, staff_bp, outbox_bp, admin_bp, travel_bp, letters_bp,
               travel_desk_bp, partner_hotels_bp):
        app.register_blueprint(bp)
    from booking.api import init_app as init_api

    init_api(app)


def register_errorhandlers(app: Flask) -> None:
    from booking.core.errorpages import register

    register(app)


def register_request_guards(app: Flask) -> None:
    from booking.core.guards import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from booking.core.templating import register

    register(app)


def register_commands(app: Flask) -> None:
    from booking.accounts.commands import api_token_group, create_user_command
    from booking.catalogue.seed import seed_demo_command
    from booking.travel.commands import rotate_keys_command

    app.cli.add_command(create_user_command)
    app.cli.add_command(api_token_group)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(rotate_keys_command)
