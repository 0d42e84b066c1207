"""Signing in and out, remember-me, rate limits, and not revealing who is registered."""

from __future__ import annotations

from tests.conftest import csrf_token, location_path, login, post_form


def test_wrong_password_and_unknown_email_get_the_same_answer(client, demo):
    wrong = login(client, demo["patient"], "not-the-password")
    unknown = login(client, "nobody@example.org", "not-the-password")
    assert wrong.status_code == unknown.status_code == 422
    message = "That email and password do not match an account."
    assert message in wrong.get_data(as_text=True) and message in unknown.get_data(as_text=True)


def test_each_role_lands_on_its_home(app, demo):
    for role, path in [("patient", "/bookings"), ("coordinator", "/coordinator/"),
                       ("admin", "/admin/")]:
        client = app.test_client()
        response = login(client, demo[role], demo["password"])
        assert response.status_code == 302 and location_path(response) == path


def test_login_follows_only_local_next_links(client, demo):
    token = csrf_token(client, "/login")
    response = client.post("/login?next=https://evil.example/steal",
                           data={"email": demo["patient"], "password": demo["password"],
                                 "csrf_token": token})
    assert response.headers["Location"] == "/bookings"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    token = csrf_token(client, "/login")
    response = client.post("/login?next=/clinics", data={
        "email": demo["patient"], "password": demo["password"], "csrf_token": token})
    assert response.headers["Location"] == "/clinics"


def test_remember_me_sets_a_lasting_httponly_cookie(client, demo):
    response = post_form(client, "/login", {"email": demo["patient"],
                                            "password": demo["password"], "remember": "y"})
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0] and "SameSite=Lax" in remember[0]
    assert "Expires=" in remember[0]


def test_logout_needs_a_post_with_csrf(client, demo):
    login(client, demo["patient"], demo["password"])
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/account").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    assert response.status_code == 302
    assert client.get("/account").status_code == 302


def test_suspended_account_cannot_sign_in(client, app, demo):
    from sqlalchemy import select

    from booking.accounts.models import User
    from booking.extensions import db

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == demo["patient2"]))
        user.active = False
        db.session.commit()
    refused = login(client, demo["patient2"], demo["password"])
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    # Told why, and where to write (only with the right password: a wrong one learns nothing).
    assert "This account is suspended" in page and "help@spinebridge.example" in page
    assert client.get("/account").status_code == 302  # not signed in
    wrong = login(client, demo["patient2"], "not-the-password")
    assert wrong.status_code == 422 and "suspended" not in wrong.get_data(as_text=True)
    assert "do not match an account" in wrong.get_data(as_text=True)


def test_login_is_rate_limited(client, app, demo):
    token = csrf_token(client, "/login")
    statuses = [
        client.post("/login", data={"email": demo["patient"], "password": "wrong-password",
                                    "csrf_token": token}).status_code
        for _ in range(12)
    ]
    assert statuses[:10] == [422] * 10
    assert statuses[10:] == [429, 429]
    blocked = client.post("/login", data={"email": demo["patient"],
                                          "password": demo["password"], "csrf_token": token})
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)


def test_signing_out_clears_the_remember_me_cookie_and_probes_leave_it_alone(client, demo,
                                                                              app):
    """Flask-Login's remember-cookie hook still runs on pages (booking/__init__.py wraps it
    to skip only sessionless answers: the probe and static files)."""
    post_form(client, "/login", {"email": demo["patient"], "password": demo["password"],
                                 "remember": "y"})
    remembered = client.get_cookie("remember_token").value
    for path in ("/healthz", "/static/css/app.css"):
        probe = client.get(path)
        assert probe.status_code == 200 and "Set-Cookie" not in probe.headers, path
    assert client.get_cookie("remember_token").value == remembered
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/account")})
    cleared = [c for c in response.headers.getlist("Set-Cookie")
               if c.startswith("remember_token=")]
    assert cleared and "Expires=Thu, 01 Jan 1970" in cleared[0]
    assert client.get_cookie("remember_token") is None
    names = [getattr(hook, "__name__", "") for hook in app.after_request_funcs[None]]
    assert "update_remember_cookie" in names
