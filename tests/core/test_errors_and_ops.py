"""Friendly error pages, JSON errors under /api/, health and readiness probes."""

from __future__ import annotations

from booking import create_app
from tests.conftest import make_config


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "We could not find that page" in html and "Go to the home page" in html


def test_unknown_api_path_answers_json(client):
    response = client.get("/api/v1/unknown")
    assert response.status_code == 404
    assert response.is_json
    assert response.json["error"]["code"] == "not_found"
    assert response.json["error"]["message"]


def test_a_crash_shows_no_stack_trace(tmp_path):
    app = create_app(make_config(str(tmp_path)))

    @app.get("/boom")
    def boom():
        raise ZeroDivisionError("secret detail")

    @app.get("/api/boom")
    def api_boom():
        raise ZeroDivisionError("secret detail")

    client = app.test_client()
    page = client.get("/boom")
    assert page.status_code == 500
    text = page.get_data(as_text=True)
    assert "Something went wrong on our side" in text
    assert "Traceback" not in text and "secret detail" not in text
    api = client.get("/api/boom")
    assert api.status_code == 500 and api.json == {
        "error": {"code": "internal_error", "message": "Something went wrong on our side"}}


def test_healthz_says_alive(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_reports_database_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]


def test_readyz_is_503_when_the_broker_is_unreachable(tmp_path, app):
    broken = create_app(make_config(
        str(tmp_path),
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        CELERY={**app.config["CELERY"], "broker_url": "redis://127.0.0.1:1/0"},
    ))
    response = broken.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["checks"]["broker"]["ok"] is False
    assert response.json["checks"]["database"]["ok"] is True
