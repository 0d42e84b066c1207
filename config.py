"""Settings read from the environment; the classes differ only where they must."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab
from cryptography.fernet import Fernet

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _normalise_db_url(url: str) -> str:
    # Heroku-style URLs say postgres:// and would pick psycopg2; we ship psycopg 3.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def celery_settings(redis_url: str | None, embedded_file: Path) -> dict:
    """Celery settings for Redis when given, else kombu's SQLAlchemy transport on SQLite."""
    broker = redis_url or f"sqla+sqlite:///{embedded_file}"
    return {
        "broker_url": broker,
        "result_backend": None,
        "task_ignore_result": True,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "UTC",
        "enable_utc": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "broker_connection_retry_on_startup": True,
        "beat_schedule": {
            "worker-heartbeat": {"task": "core.record_heartbeat", "schedule": 60.0},
            "purge-embedded-broker": {"task": "core.purge_embedded_broker", "schedule": 3600.0},
            "expire-holds": {"task": "scheduling.expire_holds", "schedule": 60.0},
            "purge-login-sessions": {"task": "accounts.purge_login_sessions",
                                     "schedule": 86400.0},
            "dispatch-messages": {"task": "notifications.dispatch_due", "schedule": 60.0},
            "reconcile-payments": {"task": "payments.reconcile", "schedule": 300.0},
            # 18:00 in Bangkok: tomorrow's consultations for every coordinator.
            "daily-digest": {"task": "scheduling.queue_daily_digests",
                             "schedule": crontab(hour=11, minute=0)},
        },
    }


class Config:
    APP_NAME = "SpineBridge"
    SECRET_KEY = os.environ.get("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _normalise_db_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'spinebridge.sqlite'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")

    CELERY = celery_settings(REDIS_URL, INSTANCE_DIR / "broker.sqlite")

    # Accounts
    EMAIL_TOKEN_MAX_AGE = timedelta(hours=48)
    RESET_TOKEN_MAX_AGE = timedelta(hours=2)
    INVITE_TOKEN_MAX_AGE = timedelta(days=7)
    REMEMBER_COOKIE_DURATION = timedelta(days=30)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    FORCE_HTTPS = False

    #: A message claimed for sending longer ago than this is taken again (its worker died).
    OUTBOX_LEASE_SECONDS = int(os.environ.get("OUTBOX_LEASE_SECONDS", "600"))
    #: Claimed messages go to the worker in tasks of this many (one SMTP session for the lot).
    OUTBOX_BATCH = int(os.environ.get("OUTBOX_BATCH", "50"))
    #: One sweep claims at most this many; a full sweep queues the next one behind its batches.
    OUTBOX_SWEEP_LIMIT = int(os.environ.get("OUTBOX_SWEEP_LIMIT", "500"))
    #: Claimed but not yet sent messages are capped at this many (a sweep claims only up to
    #: it), so a large backlog never waits in the queue long enough for its lease to lapse.
    OUTBOX_MAX_IN_FLIGHT = int(os.environ.get("OUTBOX_MAX_IN_FLIGHT", "2000"))

    # Scheduling: how long a hold keeps a slot while the deposit is paid.
    HOLD_MINUTES = int(os.environ.get("HOLD_MINUTES", "30"))
    #: How long a time the clinic holds for a patient (who phoned) waits for them.
    STAFF_HOLD_HOURS = int(os.environ.get("STAFF_HOLD_HOURS", "24"))
    #: Holds one patient may have waiting for a deposit at once (so nobody holds a whole week).
    MAX_ACTIVE_HOLDS = int(os.environ.get("MAX_ACTIVE_HOLDS", "2"))
    #: Widest availability window one request may ask for.
    AVAILABILITY_MAX_DAYS = 62

    # Medical records: private storage outside static/, 50 MB a file.
    MEDICAL_STORAGE_DIR = os.environ.get("MEDICAL_STORAGE_DIR", str(INSTANCE_DIR / "medical"))
    MEDICAL_MAX_BYTES = 50 * 1024 * 1024
    #: Whole request cap; a little above one file so the per-file message can be shown.
    MAX_CONTENT_LENGTH = 51 * 1024 * 1024

    # Rate limits (Flask-Limiter): Redis when configured, else process memory.
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_ENABLED = True
    #: A moving window: ten tries are ten in any sixty seconds, not up to twenty across the
    #: turn of a minute (which also made the rate-limit test fail when it straddled one).
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_KEY_PREFIX = "spinebridge"
    AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "10 per minute;50 per hour")

    # Public pages cached whole for anonymous visitors, per language and currency.
    CACHE_TYPE = "RedisCache" if REDIS_URL else "SimpleCache"
    CACHE_REDIS_URL = REDIS_URL
    CACHE_KEY_PREFIX = "spinebridge-page:"
    CACHE_DEFAULT_TIMEOUT = int(os.environ.get("PAGE_CACHE_SECONDS", "60"))
    # Signed-in pages (dashboard, week, day, slot page, my bookings) kept per sign-in while
    # nothing in the database changed (booking/core/personal_pages.py); needs Redis.
    PERSONAL_PAGE_CACHE = os.environ.get("PERSONAL_PAGE_CACHE", "1") != "0"
    PERSONAL_PAGE_CACHE_BYTES = 32 * 1024 * 1024
    # gzip for the availability API when the client accepts it (Flask-Compress), only on the
    # views marked with compress.compressed(); each cached answer is compressed once
    # (its cache is set in create_app).
    COMPRESS_REGISTER = False
    COMPRESS_ALGORITHM = ["gzip"]
    # The compressed answers carry no ETag or Last-Modified: there is nothing to evaluate a
    # conditional request against (werkzeug's make_conditional was ~10 µs an answer).
    COMPRESS_EVALUATE_CONDITIONAL_REQUEST = False
    # CSRF is checked by our own hook, on the methods that change things only (booking/__init__.py).
    WTF_CSRF_CHECK_DEFAULT = False

    # Languages and money
    LANGUAGES = {"en": "English", "th": "ไทย"}
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"
    BABEL_TRANSLATION_DIRECTORIES = str(BASE_DIR / "translations")
    BASE_CURRENCY = "THB"
    #: Where people write when the app cannot help (e.g. a suspended account).
    SUPPORT_EMAIL = os.environ.get("SUPPORT_EMAIL", "help@spinebridge.example")

    # Email (Flask-Mailman)
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)
    MAIL_TIMEOUT = 10
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "SpineBridge <care@spinebridge.test>"
    )

    # Stripe: secrets only from the environment. STRIPE_API_BASE set points the client at a
    # stand-in (tests, `make run`); unset, it talks to Stripe itself.
    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY")
    STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE")

    #: Fernet keys sealing passport numbers at rest, comma-separated, newest first (core.crypto).
    ENCRYPTION_KEYS = os.environ.get("ENCRYPTION_KEYS")
    #: Travel: warn when the first consultation is less than this long after landing.
    TRAVEL_MIN_LANDING_HOURS = 12
    #: How long before landing the patient is sent their pickup details.
    PICKUP_NOTICE_HOURS = 48
    #: A flight changed this close to landing is told to the clinic at once.
    FLIGHT_CHANGE_ALERT_HOURS = 72

    #: How many proxies in front set X-Forwarded-For/-Proto (a PaaS router: 1). 0 trusts none,
    #: so a client cannot fake its address to dodge the rate limits.
    PROXY_FIX_X_FOR = int(os.environ.get("PROXY_FIX_X_FOR", "0"))

    LOG_JSON = _env_bool("LOG_JSON", False)
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")


class DevelopmentConfig(Config):
    DEBUG = False  # the debugger would show stack traces; keep it opt-in via FLASK_DEBUG
    SECRET_KEY = Config.SECRET_KEY or "dev-only-not-secret"
    #: A development key so `make run` works on a fresh laptop; never used outside development.
    ENCRYPTION_KEYS = Config.ENCRYPTION_KEYS or "ZGV2LW9ubHktbm90LXNlY3JldC1mZXJuZXQta2V5ISE="
    # In `make run` mail goes to the console unless an SMTP server is configured.
    MAIL_BACKEND = os.environ.get(
        "MAIL_BACKEND", "smtp" if os.environ.get("MAIL_SERVER") else "console"
    )


class TestConfig(Config):
    """Tests read TEST_* variables only, so a test run can never touch real data.

    Tasks a request enqueues run inline (eager) so pages and emails can be checked at once;
    the worker tests start a real worker on the broker instead."""

    TESTING = True
    SECRET_KEY = "test-only-not-secret"
    #: A fresh key each test run (tests never read data sealed by another run).
    ENCRYPTION_KEYS = Fernet.generate_key().decode()
    SQLALCHEMY_DATABASE_URI = _normalise_db_url(
        os.environ.get("TEST_DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'test.sqlite'}")
    )
    REDIS_URL = os.environ.get("TEST_REDIS_URL") or None
    CELERY = {**celery_settings(REDIS_URL, INSTANCE_DIR / "test-broker.sqlite"),
              "task_always_eager": True, "task_eager_propagates": True}
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_KEY_PREFIX = "spinebridge-test"
    CACHE_TYPE = "RedisCache" if REDIS_URL else "SimpleCache"
    CACHE_REDIS_URL = REDIS_URL
    WTF_CSRF_ENABLED = True
    MAIL_BACKEND = "smtp"
    MAIL_SERVER = "127.0.0.1"
    MAIL_PORT = 0  # set by the SMTP sink fixture
    BASE_URL = "http://127.0.0.1"
    STRIPE_SECRET_KEY = None
    LOG_JSON = False


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    FORCE_HTTPS = _env_bool("FORCE_HTTPS", True)
    LOG_JSON = _env_bool("LOG_JSON", True)


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestConfig,
    "production": ProductionConfig,
}
