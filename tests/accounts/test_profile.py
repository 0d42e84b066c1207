"""Patients change their own details; bad input is explained and kept."""

from __future__ import annotations

from sqlalchemy import select

from booking.accounts.models import User
from booking.core.audit import AuditEvent
from booking.extensions import db
from tests.conftest import post_form


def profile_data(**changes):
    data = {"name": "Jane Miller", "country": "GB", "phone": "020 7946 0018",
            "timezone": "Europe/London", "language": "th", "currency": "GBP"}
    data.update(changes)
    return data


def test_profile_change_is_saved_and_audited(as_role, app, demo):
    client = as_role("patient")
    response = post_form(client, "/account", profile_data())
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == demo["patient"]))
        assert (user.timezone, user.language, user.phone, user.currency) == \
            ("Europe/London", "th", "+442079460018", "GBP")
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "user.profile_updated"))
        assert event.before["timezone"] == "America/New_York"
        assert event.after["timezone"] == "Europe/London"
    # The chosen language now drives the interface.
    assert 'lang="th"' in client.get("/").get_data(as_text=True)


def test_bad_phone_keeps_every_field(as_role):
    client = as_role("patient")
    response = post_form(client, "/account", profile_data(phone="999", name="Jane Q. Miller"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Jane Q. Miller"' in html and 'value="999"' in html


def test_password_change_needs_the_current_password(as_role, app, demo):
    client = as_role("patient")
    wrong = post_form(client, "/account/password", {
        "pw-current": "nope-nope-nope", "pw-password": "another-password",
        "pw-confirm": "another-password"}, token_from="/account")
    assert wrong.status_code == 422
    assert "current password is not correct" in wrong.get_data(as_text=True)
    ok = post_form(client, "/account/password", {
        "pw-current": demo["password"], "pw-password": "another-password",
        "pw-confirm": "another-password"}, token_from="/account")
    assert ok.status_code == 302


def test_api_token_from_the_profile_is_shown_once_and_can_be_revoked(as_role, app):
    import re

    client = as_role("patient")
    page = post_form(client, "/account/api-tokens", {"name": "my sync"}, token_from="/account")
    assert page.status_code == 200
    token = re.search(r'data-testid="new-token">(sbk_[^<]+)<', page.get_data(as_text=True))[1]
    assert token not in client.get("/account").get_data(as_text=True)  # shown once
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/bookings/1", headers=headers).status_code == 404  # authenticated
    with app.app_context():
        from booking.accounts.models import ApiToken

        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "my sync"))
    other = as_role("patient2")
    assert post_form(other, f"/account/api-tokens/{token_id}/revoke", {},
                     token_from="/account").status_code == 404
    revoked = post_form(client, f"/account/api-tokens/{token_id}/revoke", {},
                        token_from="/account")
    assert revoked.status_code == 302
    assert api.get("/api/v1/bookings/1", headers=headers).status_code == 401
