"""What the cheaper request plumbing must keep: the same security headers as Flask-Talisman,
and a liveness probe that answers without a session, a user or the database."""

from __future__ import annotations

import pytest
from flask import Response
from flask_talisman import Talisman

from booking import create_app
from tests.conftest import login, make_config, sql_statements

SECURITY = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options",
            "Referrer-Policy", "Permissions-Policy", "Strict-Transport-Security")


@pytest.fixture()
def framed_app(tmp_path):
    """An app with one view carrying its own Talisman options (as the outbox preview does)."""
    app = create_app(make_config(str(tmp_path)))

    @app.get("/framed")
    def framed():
        return "framed"

    framed.talisman_view_options = {"content_security_policy": {"default-src": "'none'"},
                                    "frame_options": "SAMEORIGIN"}
    return app


@pytest.mark.parametrize("base_url", ["http://localhost", "https://localhost"])
@pytest.mark.parametrize("path", ["/", "/healthz", "/login", "/framed", "/no-such-page",
                                  "/api/v1/clinics"])
def test_cached_headers_are_the_ones_talisman_computes(framed_app, path, base_url):
    talisman = framed_app.extensions["talisman"]
    for _ in range(2):  # the first response fills the cache, the second is served from it
        with framed_app.test_request_context(path, base_url=base_url):
            framed_app.preprocess_request()
            ours = talisman._set_response_headers(Response())
            theirs = Talisman._set_response_headers(talisman, Response())
        assert [(h, ours.headers.get(h)) for h in SECURITY] == \
               [(h, theirs.headers.get(h)) for h in SECURITY]
    assert ours.headers["Content-Security-Policy"]
    if path == "/framed":
        assert ours.headers["Content-Security-Policy"] == "default-src 'none'"
        assert ours.headers["X-Frame-Options"] == "SAMEORIGIN"


def test_a_header_the_view_set_is_replaced_as_talisman_replaces_it_not_doubled(framed_app):
    """The copied headers are appended only to an answer that has none of them yet."""
    talisman = framed_app.extensions["talisman"]
    for _ in range(2):
        with framed_app.test_request_context("/healthz"):
            framed_app.preprocess_request()
            preset = Response(headers={"Referrer-Policy": "unsafe-url", "X-Frame-Options": "x"})
            ours = talisman._set_response_headers(preset)
            theirs = Talisman._set_response_headers(
                talisman, Response(headers={"Referrer-Policy": "unsafe-url",
                                            "X-Frame-Options": "x"}))
        assert ours.headers.getlist("Referrer-Policy") == ["strict-origin-when-cross-origin"]
        assert ours.headers.getlist("X-Frame-Options") == ["DENY"]
        assert sorted(ours.headers.items()) == sorted(theirs.headers.items())


def test_a_per_view_referrer_policy_is_kept_on_that_view_only(framed_app):
    from booking.core.headers import per_view

    @framed_app.get("/secret-address")
    @per_view(referrer_policy="no-referrer")
    def secret_address():
        return "secret"

    client = framed_app.test_client()
    for _ in range(2):
        assert client.get("/secret-address").headers["Referrer-Policy"] == "no-referrer"
        assert client.get("/framed").headers[
            "Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_healthz_answers_with_its_headers_without_session_user_or_database(app, demo):
    client = app.test_client()
    login(client, demo["patient"], demo["password"])
    cookie = client.get_cookie("session").value
    with sql_statements(app) as seen:
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert seen == []  # no sign-in looked up
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get(
        "Vary", "")
    assert client.get_cookie("session").value == cookie  # the browser's sign-in is untouched
    assert client.get("/account").status_code == 200


def test_a_sessionless_answer_never_replaces_the_cookie(app):
    """Even if something wrote to a probe's session, no cookie is set in its answer."""
    from flask import request

    with app.test_request_context("/healthz", headers={"Cookie": "session=signed.in.cookie"}):
        interface = app.session_interface
        opened = interface.open_session(app, request)
        assert not opened  # the cookie was not even read
        opened["x"] = 1
        response = Response()
        interface.save_session(app, opened, response)
        assert "Set-Cookie" not in response.headers


def test_static_files_do_not_open_the_session(client):
    response = client.get("/static/css/app.css")
    assert response.status_code in (200, 404)
    assert "Set-Cookie" not in response.headers
    assert "X-Frame-Options" in response.headers


# A cookie verified once is not verified again (booking/core/sessions.py) -------------------

def _signed_in_cookie(app, demo) -> str:  # noqa: ANN001
    client = app.test_client()
    assert login(client, demo["patient"], demo["password"]).status_code == 302
    return client.get_cookie("session").value


def _page_with(app, cookie: str, path: str = "/bookings"):  # noqa: ANN001
    client = app.test_client()
    client.set_cookie("session", cookie)
    return client.get(path)


def test_a_verified_cookie_still_ends_at_its_age_limit(app, demo, monkeypatch):
    import time

    from booking.core import sessions

    cookie = _signed_in_cookie(app, demo)
    assert _page_with(app, cookie).status_code == 200  # verified, and kept as verified
    assert _page_with(app, cookie).status_code == 200
    lifetime = app.permanent_session_lifetime.total_seconds()
    later = time.time() + lifetime + 5
    monkeypatch.setattr(sessions.time, "time", lambda: later)
    assert _page_with(app, cookie).status_code == 302  # too old: signed out


def test_a_tampered_or_re_keyed_cookie_is_refused_after_the_good_one_was_kept(app, demo,
                                                                              monkeypatch):
    cookie = _signed_in_cookie(app, demo)
    assert _page_with(app, cookie).status_code == 200
    payload, _, signature = cookie.rpartition(".")
    forged = f"{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert _page_with(app, forged).status_code == 302
    monkeypatch.setitem(app.config, "SECRET_KEY", "a-new-secret-after-a-leak")
    monkeypatch.setattr(app, "secret_key", "a-new-secret-after-a-leak")
    assert _page_with(app, cookie).status_code == 302  # the old key's cookie is no longer good


def test_what_one_request_writes_to_the_session_is_not_seen_by_the_next_with_the_old_cookie(
        app, demo):
    cookie = _signed_in_cookie(app, demo)
    client = app.test_client()
    client.set_cookie("session", cookie)
    assert client.get("/currency/EUR").status_code == 302  # writes to this request's copy
    with app.test_request_context():
        serializer = app.session_interface.get_signing_serializer(app)
    assert serializer.loads(client.get_cookie("session").value)["currency"] == "EUR"
    with app.test_client() as replay:
        replay.set_cookie("session", cookie)
        replay.get("/bookings")
        from flask import session

        assert "currency" not in session


def test_with_https_forced_plain_http_is_sent_to_https_and_https_gets_hsts(tmp_path):
    """Talisman's two before-request hooks run as one (CachedTalisman._before_view)."""
    app = create_app(make_config(str(tmp_path), FORCE_HTTPS=True, SESSION_COOKIE_SECURE=True))
    client = app.test_client()
    plain = client.get("/healthz?probe=1")
    assert plain.status_code == 302
    assert plain.headers["Location"] == "https://localhost/healthz?probe=1"
    secure = client.get("/healthz", base_url="https://localhost")
    assert secure.status_code == 200
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")
    behind_proxy = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert behind_proxy.status_code == 200
    assert app.config["SESSION_COOKIE_SECURE"] is True
