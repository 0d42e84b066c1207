"""Sign-ins live on the server: signing out, a password change or a suspension ends them, so a
copied session or remember-me cookie stops working at once."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from booking.accounts.models import LoginSession, User
from booking.core.types import utcnow
from booking.extensions import db
from tests.conftest import csrf_token, location_path, login, post_form
from tests.mailsink import first_link

#: A page only a signed-in user sees, and an API route that answers 401 to nobody (404 to a
#: signed-in user: there is no such booking).
PAGE = "/account"
API = "/api/v1/bookings/999999"


def _cookie(client, name: str) -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    return cookie.value


def _client_with(app, **cookies: str):
    copy = app.test_client()
    for name, value in cookies.items():
        copy.set_cookie(name, value)
    return copy


def _signed_in(client) -> bool:
    response = client.get(PAGE)
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and location_path(response) == "/login"
    return False


def _logout(client):
    response = client.post("/logout", data={"csrf_token": csrf_token(client, PAGE)})
    assert response.status_code == 302
    return response


def _sessions_of(app, email: str) -> list[LoginSession]:
    with app.app_context():
        rows = db.session.scalars(select(LoginSession).join(LoginSession.user)
                                  .where(User.email == email)).all()
        db.session.expunge_all()
        return rows


def test_a_session_cookie_copied_before_logout_is_signed_out(app, client, demo):
    login(client, demo["patient"], demo["password"])
    copied = _cookie(client, "session")
    thief = _client_with(app, session=copied)
    assert _signed_in(thief)  # the copy works while the sign-in lasts
    assert thief.get(API).status_code == 404

    _logout(client)
    assert not _signed_in(client)
    thief = _client_with(app, session=copied)
    assert not _signed_in(thief)
    answer = thief.get(API)
    assert answer.status_code == 401 and answer.json["error"]["code"] == "unauthorized"
    assert _sessions_of(app, demo["patient"]) == []


def test_a_remember_me_cookie_copied_before_logout_is_signed_out(app, client, demo):
    response = post_form(client, "/login", {"email": demo["patient"],
                                            "password": demo["password"], "remember": "y"})
    assert response.status_code == 302
    remembered = _cookie(client, "remember_token")
    # A fresh browser with only the remember-me cookie is signed back in ...
    assert _signed_in(_client_with(app, remember_token=remembered))

    _logout(client)
    # ... but not once the sign-in has ended.
    thief = _client_with(app, remember_token=remembered)
    assert not _signed_in(thief)
    assert _client_with(app, remember_token=remembered).get(API).status_code == 401


def test_cookies_carry_a_token_whose_hash_alone_is_stored(app, client, demo):
    post_form(client, "/login", {"email": demo["patient"], "password": demo["password"],
                                 "remember": "y"}, headers={"User-Agent": "TestBrowser/1.0"})
    [row] = _sessions_of(app, demo["patient"])
    remembered = _cookie(client, "remember_token")
    token = remembered.split("|")[0]
    assert hashlib.sha256(token.encode()).hexdigest() == row.token_hash
    assert token != row.token_hash and str(row.user_id) != token
    assert row.user_agent == "TestBrowser/1.0"


def test_another_devices_session_survives_a_logout_but_not_a_password_change(app, demo):
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, demo["patient"], demo["password"])
    login(phone, demo["patient"], demo["password"])
    assert len(_sessions_of(app, demo["patient"])) == 2

    _logout(laptop)
    assert _signed_in(phone) and not _signed_in(laptop)

    login(laptop, demo["patient"], demo["password"])
    changed = post_form(laptop, "/account/password", {
        "pw-current": demo["password"], "pw-password": "another-password",
        "pw-confirm": "another-password"}, token_from=PAGE)
    assert changed.status_code == 302
    assert "Other devices are signed out" in laptop.get(PAGE).get_data(as_text=True)
    assert _signed_in(laptop)  # the device that made the change stays signed in
    assert not _signed_in(phone)
    assert len(_sessions_of(app, demo["patient"])) == 1


def test_a_password_reset_signs_out_every_device(app, client, demo, mail_sink):
    phone = app.test_client()
    login(phone, demo["patient"], demo["password"])
    post_form(client, "/forgot-password", {"email": demo["patient"]})
    link = first_link(mail_sink.wait_for(demo["patient"])[0], "/reset-password/")
    reset = post_form(client, link.replace(app.config["BASE_URL"], ""),
                      {"password": "brand-new-password", "confirm": "brand-new-password"})
    assert reset.status_code == 302
    assert not _signed_in(phone)
    assert _sessions_of(app, demo["patient"]) == []


def test_suspending_an_account_signs_it_out_everywhere(app, as_role, demo):
    patient = as_role("patient2")
    assert _signed_in(patient)
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == demo["patient2"]))
    admin = as_role("admin")
    response = post_form(admin, f"/admin/users/{user_id}/active", {"active": "0"},
                         token_from="/admin/users")
    assert response.status_code == 302
    assert _sessions_of(app, demo["patient2"]) == []
    assert not _signed_in(patient)


def test_a_suspended_users_session_is_refused_even_if_its_row_survived(app, as_role, demo):
    patient = as_role("patient")
    with app.app_context():
        db.session.execute(update(User).where(User.email == demo["patient"]).values(active=False))
        db.session.commit()
    assert not _signed_in(patient)


@pytest.mark.parametrize("remember", [False, True])
def test_a_sign_in_older_than_the_remember_duration_is_refused(app, client, demo, remember):
    data = {"email": demo["patient"], "password": demo["password"]}
    if remember:
        data["remember"] = "y"
    post_form(client, "/login", data)
    copy = _client_with(app, **({"remember_token": _cookie(client, "remember_token")}
                                if remember else {"session": _cookie(client, "session")}))
    assert _signed_in(copy)
    age = app.config["REMEMBER_COOKIE_DURATION"] + timedelta(minutes=1)
    with app.app_context():
        db.session.execute(update(LoginSession).values(created_at=utcnow() - age))
        db.session.commit()
    assert not _signed_in(copy)
    assert not _signed_in(client)


def test_last_seen_is_written_only_every_few_minutes(app, as_role, demo):
    patient = as_role("patient")
    [row] = _sessions_of(app, demo["patient"])
    first_seen = row.last_seen_at
    assert patient.get(PAGE).status_code == 200
    [row] = _sessions_of(app, demo["patient"])
    assert row.last_seen_at == first_seen  # a request a moment later writes nothing

    long_ago = utcnow() - timedelta(minutes=6)
    with app.app_context():
        db.session.execute(update(LoginSession).values(last_seen_at=long_ago))
        db.session.commit()
    assert patient.get(PAGE).status_code == 200
    [row] = _sessions_of(app, demo["patient"])
    assert row.last_seen_at > long_ago + timedelta(minutes=5)


def test_bearer_tokens_do_not_depend_on_sign_ins(app, as_role, demo):
    import re

    client = as_role("patient")
    page = post_form(client, "/account/api-tokens", {"name": "script"},
                     token_from=PAGE).get_data(as_text=True)
    token = re.search(r"sbk_[A-Za-z0-9_\-]+", page).group(0)
    _logout(client)
    assert _sessions_of(app, demo["patient"]) == []
    bearer = app.test_client()
    answer = bearer.get(API, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 404  # signed in (no such booking), not 401
    assert _sessions_of(app, demo["patient"]) == []  # and no sign-in row was made for it


def test_an_old_style_user_id_cookie_signs_nobody_in(app, client, demo):
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == demo["patient"]))
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user_id)
        sess["_fresh"] = True
    assert not _signed_in(client)


def test_the_daily_sweep_deletes_sign_ins_past_the_remember_lifetime(app, demo):
    from booking.accounts.tasks import purge_login_sessions

    old, fresh = app.test_client(), app.test_client()
    login(old, demo["patient"], demo["password"])
    login(fresh, demo["patient2"], demo["password"])
    with app.app_context():
        patient_id = db.session.scalar(select(User.id).where(User.email == demo["patient"]))
        db.session.execute(update(LoginSession).where(LoginSession.user_id == patient_id)
                           .values(created_at=utcnow() - app.config["REMEMBER_COOKIE_DURATION"]
                                   - timedelta(minutes=1)))
        db.session.commit()
        assert purge_login_sessions.run() == 1
        assert db.session.scalar(select(LoginSession.user_id)) != patient_id
    assert _signed_in(fresh)


@pytest.mark.parametrize("path", ["/", "/clinics"])
def test_a_browser_holding_only_a_remember_me_cookie_never_gets_the_anonymous_page(
        app, client, demo, path):
    """core.sessions.signed_in skips Flask-Login only for a request with nothing to find a
    user in; a remember-me cookie alone is something (the cached public page is for nobody)."""
    response = post_form(client, "/login", {"email": demo["patient"],
                                            "password": demo["password"], "remember": "y"})
    assert response.status_code == 302
    remembered = _cookie(client, "remember_token")
    anonymous = app.test_client().get(path)  # the public page, now kept
    assert anonymous.status_code == 200 and 'action="/logout"' not in anonymous.text
    assert "no-store" not in anonymous.headers.get("Cache-Control", "")
    fresh = _client_with(app, remember_token=remembered)
    for _ in range(2):
        page = fresh.get(path)
        assert page.status_code == 200 and 'action="/logout"' in page.text
        assert page.headers["Cache-Control"] == "no-store"
    bearer_less = app.test_client().get(path, headers={"Authorization": "Bearer sbk_not-a-token"})
    assert bearer_less.status_code == 200 and 'action="/logout"' not in bearer_less.text
