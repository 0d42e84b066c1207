"""Security headers, cookies, CSRF and configuration safety."""

from __future__ import annotations

import pytest

from booking import create_app
from config import ProductionConfig, TestConfig
from tests.conftest import login


def test_every_response_carries_the_security_headers(client):
    for path in ["/", "/login", "/healthz", "/no-such-page", "/api/v1/nothing"]:
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert "frame-ancestors 'none'" in csp, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin", path
        assert response.headers["X-Frame-Options"] == "DENY", path


def test_pages_have_no_inline_script(client, demo):
    import re

    for path in ["/", "/register", "/treatments/uc-msc-intradiscal-injection", "/clinics"]:
        html = client.get(path).get_data(as_text=True)
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [], path
        assert " style=" not in html, path


def test_session_cookie_is_httponly_and_lax(client, demo):
    response = login(client, demo["patient"], demo["password"])
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain HTTP in tests and on a laptop


def test_production_cookies_are_secure_and_https_is_forced(monkeypatch, tmp_path):
    config = type("Prod", (ProductionConfig,), {
        "SECRET_KEY": "x" * 32, "ENCRYPTION_KEYS": TestConfig.ENCRYPTION_KEYS,
        "SQLALCHEMY_DATABASE_URI": TestConfig.SQLALCHEMY_DATABASE_URI,
        "CELERY": TestConfig.CELERY,
    })
    app = create_app(config)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    response = app.test_client().get("/healthz", base_url="http://spinebridge.example")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://")
    secure = app.test_client().get("/healthz", base_url="https://spinebridge.example")
    assert "max-age" in secure.headers["Strict-Transport-Security"]


def test_production_refuses_to_start_without_a_secret_key():
    config = type("Prod", (ProductionConfig,), {"SECRET_KEY": None})
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(config)


def test_production_refuses_to_start_without_an_encryption_key():
    config = type("Prod", (ProductionConfig,), {"SECRET_KEY": "x" * 32,
                                                "ENCRYPTION_KEYS": None})
    with pytest.raises(RuntimeError, match="ENCRYPTION_KEYS"):
        create_app(config)


def test_forms_without_csrf_token_are_refused_kindly(client, demo):
    response = client.post("/login", data={"email": demo["patient"],
                                           "password": demo["password"]})
    assert response.status_code == 400
    assert "This form had expired" in response.get_data(as_text=True)


def test_tests_never_read_the_production_database_variable(monkeypatch):
    import importlib

    import config

    monkeypatch.setenv("DATABASE_URL", "postgresql://prod-host/real")
    monkeypatch.setenv("REDIS_URL", "redis://prod-host:6379/0")
    reloaded = importlib.reload(config)
    try:
        assert "prod-host" not in reloaded.TestConfig.SQLALCHEMY_DATABASE_URI
        assert "prod-host" not in reloaded.TestConfig.CELERY["broker_url"]
        assert "prod-host" not in reloaded.TestConfig.RATELIMIT_STORAGE_URI
    finally:
        monkeypatch.delenv("DATABASE_URL")
        monkeypatch.delenv("REDIS_URL")
        importlib.reload(config)
