"""Shared by the benchmark scripts and the WSGI module gunicorn serves: the database URL and the
config class, so the in-process measurements and the HTTP server use the same settings; and the
scripts' helpers: progress lines (`log`), the run-failed error (`BenchError`), the PASS/FAIL
`verdict`, and the benchmark database's safety check, creation and schema rebuild."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time as clock

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError

from booking.extensions import db
from config import TestConfig, _normalise_db_url

DEFAULT_DATABASE_URL = "postgresql+psycopg://root@127.0.0.1:5432/bench"
#: The body of the constant route; the HTTP benchmark compares the real routes against it.
BARE_BODY = "ok"
#: The origin of the times `log` prints and of the scripts' "total" figure.
STARTED = clock.monotonic()


def database_url() -> str:
    """`BENCH_DATABASE_URL`, or a `bench` database on the local PostgreSQL."""
    return _normalise_db_url(os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL)


def bench_config() -> type:
    """The test settings pointed at the benchmark database, with rate limits on (in memory),
    no broker or mail server, and Redis (`BENCH_REDIS_URL`, database 14, emptied with the
    schema) only for the availability cache and the kept signed-in pages, as in production."""
    return type(
        "BenchConfig",
        (TestConfig,),
        {
            "SQLALCHEMY_DATABASE_URI": database_url(),
            "SECRET_KEY": "bench-only-not-secret",
            # One key for the seeding process and every gunicorn worker (the test settings
            # make a new one per process, which could not read what another sealed).
            "ENCRYPTION_KEYS": "YmVuY2gtb25seS1ub3Qtc2VjcmV0LWZlcm5ldC1rZXk=",
            # Limits on, as in production (the views benchmarked have none of their own).
            "RATELIMIT_ENABLED": True,
            "RATELIMIT_STORAGE_URI": "memory://",
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
            "CELERY": {**TestConfig.CELERY, "broker_url": "memory://"},
            # Access lines as production writes them (JSON), to the server's log.
            "LOG_JSON": True,
        },
    )


# --- script helpers -----------------------------------------------------------------------------


class BenchError(RuntimeError):
    """The run itself failed (as opposed to a target not being met)."""


def log(message: str) -> None:
    print(f"[bench {clock.monotonic() - STARTED:6.1f}s] {message}", flush=True)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# --- the benchmark database ---------------------------------------------------------------------


def refuse_unless_bench(url: str | URL) -> None:
    """The scripts drop and rebuild the schema: refuse a database whose name lacks 'bench'."""
    name = make_url(url).database
    if "bench" not in (name or ""):
        raise BenchError(f"refusing to rebuild {name!r}: BENCH_DATABASE_URL must "
                         "name a database whose name contains 'bench'")


def ensure_database(url: str) -> None:
    """Refuse anything that does not look like a benchmark database; create it if missing."""
    parsed = make_url(url)
    refuse_unless_bench(parsed)
    if parsed.get_backend_name() != "postgresql":
        return
    engine = create_engine(url)
    try:
        with engine.connect():
            return
    except OperationalError as error:
        if "does not exist" not in str(error):
            raise BenchError(f"cannot connect to {parsed.render_as_string()}: {error}") from None
    finally:
        engine.dispose()
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        admin.dispose()
    log(f"created database {parsed.database}")


def reset_schema(app: Flask) -> None:
    """Drop everything and rebuild the schema with the migrations (as tests/conftest.py does).
    Alembic's log lines are shown only if the migrations fail."""
    output = io.StringIO()
    try:
        with contextlib.redirect_stderr(output):
            _rebuild(app)
    except BaseException:
        print(output.getvalue(), file=sys.stderr)
        raise


def _rebuild(app: Flask) -> None:
    with app.app_context():
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            else:
                existing = MetaData()
                existing.reflect(conn)
                existing.drop_all(conn)
        upgrade()
        db.session.remove()
        redis_url = app.config.get("REDIS_URL")
        if redis_url:  # the bench's own Redis database: answers cached from the last run's rows
            import redis

            redis.Redis.from_url(redis_url).flushdb()
