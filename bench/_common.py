"""Shared by the benchmark scripts and the WSGI module gunicorn serves: the database URL and the
config class, so the in-process measurements and the HTTP server use the same settings."""

from __future__ import annotations

import os

from config import TestConfig, _normalise_db_url

DEFAULT_DATABASE_URL = "postgresql+psycopg://root@127.0.0.1:5432/bench"
#: The body of the constant route; the HTTP benchmark compares the real routes against it.
BARE_BODY = "ok"


def database_url() -> str:
    """`BENCH_DATABASE_URL`, or a `bench` database on the local PostgreSQL."""
    return _normalise_db_url(os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL)


def bench_config() -> type:
    """The test settings pointed at the benchmark database, with no rate limits, no broker or
    mail server, and Redis (`BENCH_REDIS_URL`, database 14) only for the availability cache,
    as in production."""
    return type(
        "BenchConfig",
        (TestConfig,),
        {
            "SQLALCHEMY_DATABASE_URI": database_url(),
            "SECRET_KEY": "bench-only-not-secret",
            "RATELIMIT_ENABLED": False,
            "RATELIMIT_STORAGE_URI": "memory://",
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
            "CELERY": {**TestConfig.CELERY, "broker_url": "memory://"},
        },
    )
