"""Patient sign-up and email verification, through the HTTP client and a real SMTP sink."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from booking.accounts.models import User
from booking.core.audit import AuditEvent
from booking.extensions import db
from tests.conftest import location_path, login, post_form
from tests.mailsink import first_link, html_of, text_of

GOOD = {
    "name": "Maria Lopez",
    "email": "Maria.Lopez@Example.org",
    "password": "a-long-password-1",
    "confirm": "a-long-password-1",
    "country": "US",
    "phone": "(212) 555-0199",
    "timezone": "America/New_York",
    "language": "en",
}


def register(client, **changes):
    return post_form(client, "/register", {**GOOD, **changes})


def test_registration_sends_verification_link_that_enables_login(client, app, mail_sink):
    response = register(client)
    assert response.status_code == 200
    assert "maria.lopez@example.org" in response.get_data(as_text=True)

    [message] = mail_sink.wait_for("maria.lopez@example.org")
    assert "Confirm your email" in message["Subject"]
    assert "Maria Lopez" in text_of(message) and "Confirm my email" in html_of(message)

    # Not verified yet: sign-in is refused with a way forward.
    refused = login(client, "maria.lopez@example.org", GOOD["password"])
    assert refused.status_code == 422
    assert "confirm your email first" in refused.get_data(as_text=True)

    link = first_link(message, "/verify/")
    verified = client.get(link.replace(app.config["BASE_URL"], ""))
    assert verified.status_code == 302 and location_path(verified) == "/login"

    signed_in = login(client, "MARIA.LOPEZ@example.org", GOOD["password"])
    assert signed_in.status_code == 302 and location_path(signed_in) == "/bookings"

    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "maria.lopez@example.org"))
        assert user.role == "patient" and user.clinic_id is None
        assert user.phone == "+12125550199"  # national format parsed against the country
        assert user.timezone == "America/New_York"
        assert user.password_hash.startswith("scrypt:")
        assert user.email_verified_at is not None and user.email_verified_at.tzinfo is not None
        actions = set(db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))))
        assert {"user.registered", "user.email_verified"} <= actions


def test_registering_a_taken_email_answers_the_same_and_warns_the_owner(client, mail_sink, demo):
    first = register(client, email="new.person@example.org")
    second = register(client, email=demo["patient"], name="Somebody Else")
    assert first.status_code == second.status_code == 200
    strip = lambda r, e: r.get_data(as_text=True).replace(e, "EMAIL")  # noqa: E731
    assert strip(first, "new.person@example.org").split("<main")[1].split("csrf")[0] == \
        strip(second, demo["patient"]).split("<main")[1].split("csrf")[0]
    [warning] = mail_sink.wait_for(demo["patient"])
    assert "already have" in warning["Subject"]


def test_bad_registration_keeps_what_was_typed_and_explains(client, app):
    response = register(client, email="not-an-email", phone="12", confirm="different-pass",
                        password="short")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="Maria Lopez"' in html and 'value="not-an-email"' in html
    assert 'value="12"' in html
    assert "Invalid email address" in html
    assert "Use at least 10 characters." in html
    assert "The passwords differ." in html
    assert "valid phone number" in html or "country code" in html
    assert re.search(r'<option[^>]* selected value="America/New_York">', html)
    with app.app_context():
        assert db.session.scalar(select(User).where(User.name == "Maria Lopez")) is None


def test_unknown_time_zone_is_refused(client):
    response = register(client, timezone="Mars/Olympus_Mons")
    assert response.status_code == 422
    assert "Choose your time zone from the list." in response.get_data(as_text=True)


def test_tampered_verification_link_is_refused(client, mail_sink, app):
    register(client)
    link = first_link(mail_sink.wait_for("maria.lopez@example.org")[0], "/verify/")
    path = link.replace(app.config["BASE_URL"], "")
    response = client.get(path[:-3] + "xyz")
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_expired_verification_link_offers_a_new_one(client, mail_sink, app):
    register(client)
    link = first_link(mail_sink.wait_for("maria.lopez@example.org")[0], "/verify/")
    app.config["EMAIL_TOKEN_MAX_AGE"] = timedelta(seconds=-1)
    try:
        response = client.get(link.replace(app.config["BASE_URL"], ""))
    finally:
        app.config["EMAIL_TOKEN_MAX_AGE"] = timedelta(hours=48)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)
    resent = post_form(client, "/verify/resend", {"email": GOOD["email"]})
    assert resent.status_code == 200
    assert len(mail_sink.wait_for("maria.lopez@example.org", count=2)) == 2


def test_staff_roles_cannot_be_chosen_at_registration(client, app):
    register(client, role="admin", clinic_id="1")
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "maria.lopez@example.org"))
        assert user.role == "patient" and user.clinic_id is None


def test_timezone_field_is_prefilled_from_the_browser_only_on_a_fresh_form(client):
    fresh = client.get("/register").get_data(as_text=True)
    assert "data-browser-timezone" in fresh
    again = register(client, password="short").get_data(as_text=True)
    assert "data-browser-timezone" not in again


@pytest.mark.parametrize(("country", "currency"), [("US", "USD"), ("GB", "GBP"), ("JP", "JPY"),
                                                   ("CN", "CNY"), ("NG", "THB")])
def test_prices_follow_the_country_until_the_patient_changes_them(client, app, country,
                                                                  currency):
    assert register(client, country=country, phone="+1 212 555 0199").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(User.currency).where(
            User.email == GOOD["email"].lower())) == currency
