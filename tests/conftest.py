"""Fixtures: one app per run on SQLite or, with TEST_DATABASE_URL, PostgreSQL (schema built by the
migrations), a real SMTP sink, rows deleted after each test, and helpers to sign in."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import event, text
from werkzeug.serving import make_server

from booking import create_app
from booking.core import personal_pages, versions
from booking.extensions import db, limiter, page_cache
from config import TestConfig
from stripe_standin import StandIn
from stripe_standin import serve as serve_standin
from tests.mailsink import MailSink

ROOT = Path(__file__).resolve().parent.parent

ON_POSTGRES = bool(os.environ.get("TEST_DATABASE_URL"))

for _name in ("DATABASE_URL", "REDIS_URL"):
    # The app under test must never see the production variables.
    os.environ.pop(_name, None)


@pytest.fixture(scope="session")
def mail_sink() -> Iterator[MailSink]:
    sink = MailSink()
    sink.start()
    yield sink
    sink.stop()


def _reset_schema(app: Flask) -> None:
    with app.app_context():
        if ON_POSTGRES:
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        db.session.remove()


def make_config(tmp_dir: str | None = None, **overrides: object) -> type:
    attrs: dict[str, object] = dict(overrides)
    if not ON_POSTGRES and tmp_dir and "SQLALCHEMY_DATABASE_URI" not in attrs:
        attrs["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_dir}/test.sqlite"
    return type("RunConfig", (TestConfig,), attrs)


@pytest.fixture(scope="session")
def standin_server() -> Iterator[StandIn]:
    """The Stripe stand-in on 127.0.0.1 (the app only talks to it once a test gives a key)."""
    server = serve_standin()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app(mail_sink: MailSink, tmp_path_factory: pytest.TempPathFactory,
        standin_server: StandIn) -> Iterator[Flask]:
    tmp = tmp_path_factory.mktemp("db")
    broker = TestConfig.REDIS_URL or f"sqla+sqlite:///{tmp}/broker.sqlite"
    config = make_config(str(tmp), MAIL_PORT=mail_sink.port, STRIPE_API_BASE=standin_server.url,
                         MEDICAL_STORAGE_DIR=str(tmp / "medical"),
                         CELERY={**TestConfig.CELERY, "broker_url": broker})
    application = create_app(config)
    _reset_schema(application)
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """The app served on 127.0.0.1 in a thread (for the browser and the Stripe stand-in's
    webhooks); email links then point at it."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    previous = app.config["BASE_URL"]
    app.config["BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield url
    server.shutdown()
    app.config["BASE_URL"] = previous


def _delete_all_rows(app: Flask) -> None:
    with app.app_context():
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
        db.session.remove()


@pytest.fixture(autouse=True)
def _isolation(app: Flask, mail_sink: MailSink) -> Iterator[None]:
    yield
    _delete_all_rows(app)
    mail_sink.clear()
    with app.app_context():
        limiter.reset()
        page_cache.clear()  # pages rendered from this test's rows
        personal_pages.clear()
    # Flask-Limiter keeps `enabled` on the shared extension: an app a test builds with
    # RATELIMIT_ENABLED=False would switch limits off for every later test.
    limiter.enabled = app.config["RATELIMIT_ENABLED"]
    if TestConfig.REDIS_URL:
        # The test Redis database is ours alone: forget cached availability and limits, whose
        # keys would otherwise outlive the rows they describe.
        redis.Redis.from_url(TestConfig.REDIS_URL).flushdb()
        versions.forget_all()  # what this process knew of the emptied keys


@pytest.fixture()
def ctx(app: Flask) -> Iterator[None]:
    """An app context for tests that read or write the database directly."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def demo(app: Flask) -> dict:
    """The demo catalogue and accounts from `flask seed-demo`."""
    from booking.catalogue.seed import DEMO_PASSWORD, seed_demo

    with app.app_context():
        seed_demo()
        db.session.commit()
        db.session.remove()
    return {
        "password": DEMO_PASSWORD,
        "admin": "admin@example.com",
        "coordinator": "coordinator@sukhumvit-spine.example.com",
        "other_coordinator": "coordinator@silom-pain-rehab.example.com",
        "patient": "patient@example.com",
        "patient2": "patient2@example.com",
    }


_CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                   r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    match = _CSRF.search(html)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def post_form(client: FlaskClient, path: str, data: dict, *, token_from: str | None = None,
              **kwargs: object):
    """POST like a browser: fetch the page, take its CSRF token, send the form."""
    data = {**data, "csrf_token": csrf_token(client, token_from or path)}
    return client.post(path, data=data, **kwargs)


def login(client: FlaskClient, email: str, password: str):
    return post_form(client, "/login", {"email": email, "password": password})


@pytest.fixture()
def as_role(app: Flask, demo: dict):
    """A test client signed in as one of: anonymous, patient, coordinator, admin."""

    def make(role: str) -> FlaskClient:
        c = app.test_client()
        if role != "anonymous":
            response = login(c, demo[role], demo["password"])
            assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return c

    return make


def location_path(response) -> str:
    return urlsplit(response.headers["Location"]).path


@contextlib.contextmanager
def sql_statements(app: Flask) -> Iterator[list[str]]:
    """The SQL statements the app's engine runs while the block is open (any thread)."""
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # noqa: ANN001, ANN002
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def bump_in_another_process(url: str, key: str, command: str, *args: str) -> None:
    """Change a version key as another process (a worker, another web server) would:
    `command` (e.g. "incr", "set") on `key`, told to every process (core/versions.py)."""
    code = ("import sys; from booking.core import versions; url, key, command, *args = "
            "sys.argv[1:]; versions.of(url).changed(key, lambda pipe: "
            "getattr(pipe, command)(key, *args))")
    subprocess.run([sys.executable, "-c", code, url, key, command, *args], check=True,
                   cwd=ROOT, timeout=60)
