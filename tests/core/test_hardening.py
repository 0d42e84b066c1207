"""Edge cases found in review: redirects, sessions after a password change, big numbers,
locale switching, audit values, production defaults."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from booking import create_app
from booking.accounts.models import User
from booking.catalogue.models import Clinic
from booking.core.audit import AuditEvent
from booking.extensions import db
from tests.conftest import csrf_token, login, make_config, post_form
from tests.mailsink import first_link


@pytest.mark.parametrize("target", ["//evil.example/", "/\\evil.example", "https://evil.example",
                                    "/\r\nSet-Cookie:x=1", "javascript:alert(1)"])
def test_only_plain_local_paths_are_followed(client, demo, target):
    token = csrf_token(client, "/login")
    response = client.post("/login", query_string={"next": target},
                           data={"email": demo["patient"], "password": demo["password"],
                                 "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/bookings"
    switched = client.get("/currency/EUR", query_string={"next": target})
    assert switched.status_code == 302 and switched.headers["Location"] == "/"


def test_resetting_the_password_signs_out_every_other_session(app, demo, mail_sink):
    laptop = app.test_client()
    login(laptop, demo["patient"], demo["password"])
    phone = app.test_client()
    post_form(phone, "/login", {"email": demo["patient"], "password": demo["password"],
                                "remember": "y"})
    assert laptop.get("/account").status_code == phone.get("/account").status_code == 200

    stranger = app.test_client()
    post_form(stranger, "/forgot-password", {"email": demo["patient"]})
    path = first_link(mail_sink.wait_for(demo["patient"])[0], "/reset-password/").replace(
        app.config["BASE_URL"], "")
    post_form(stranger, path, {"password": "a-brand-new-pass", "confirm": "a-brand-new-pass"})
    assert laptop.get("/account").status_code == 302
    assert phone.get("/account").status_code == 302  # the remember cookie no longer works


def test_remember_cookie_restores_a_login_after_the_session_ends(app, demo):
    client = app.test_client()
    post_form(client, "/login", {"email": demo["patient"], "password": demo["password"],
                                 "remember": "y"})
    client.delete_cookie("session")
    assert client.get("/account").status_code == 200
    forgetful = app.test_client()
    login(forgetful, demo["patient"], demo["password"])
    forgetful.delete_cookie("session")
    assert forgetful.get("/account").status_code == 302


def test_changing_ones_password_keeps_this_session_and_ends_others(app, demo):
    here, elsewhere = app.test_client(), app.test_client()
    login(here, demo["patient"], demo["password"])
    login(elsewhere, demo["patient"], demo["password"])
    response = post_form(here, "/account/password", {
        "pw-current": demo["password"], "pw-password": "another-password",
        "pw-confirm": "another-password"}, token_from="/account")
    assert response.status_code == 302
    assert here.get("/account").status_code == 200
    assert elsewhere.get("/account").status_code == 302


@pytest.mark.parametrize("path", ["/admin/clinics/99999999999999999999999/edit",
                                  "/bookings/99999999999999999999999",
                                  "/coordinator/week?doctor=99999999999999999999999"])
def test_absurd_ids_are_not_found_rather_than_errors(as_role, path):
    role = "coordinator" if "coordinator" in path else "admin"
    assert as_role(role).get(path).status_code in (200, 404)


def test_absurd_api_ids_answer_json(client, as_role):
    response = as_role("patient").get("/api/v1/bookings/99999999999999999999999")
    assert response.status_code == 404 and response.is_json


@pytest.mark.parametrize("rate", ["Infinity", "NaN", "1e30", "0"])
def test_unreasonable_exchange_rates_are_refused(as_role, rate, client):
    admin = as_role("admin")
    response = post_form(admin, "/admin/exchange-rates", {"currency": "USD", "rate": rate})
    assert response.status_code == 422
    client.get("/currency/USD")
    assert client.get("/").status_code == 200


def test_zero_prices_and_deposits_are_allowed_but_overflow_is_not(as_role, app):
    admin = as_role("admin")
    with app.app_context():
        clinic_id = db.session.scalar(select(Clinic.id).where(Clinic.slug == "silom-pain-rehab"))
    data = {"clinic_id": str(clinic_id), "name": "Free video triage", "mode": "video",
            "duration_minutes": "15", "deposit": "0", "active": "y", "buffer_before_minutes": "0",
            "buffer_after_minutes": "0", "min_notice_minutes": "1440", "horizon_days": "120"}
    assert post_form(admin, "/admin/consultation-types/new", data).status_code == 302
    huge = post_form(admin, "/admin/consultation-types/new", {**data, "deposit": "99999999999"})
    assert huge.status_code == 422 and "99999999999" in huge.get_data(as_text=True)


def test_staff_may_save_a_profile_without_phone(as_role, app, demo):
    coordinator = as_role("coordinator")
    response = post_form(coordinator, "/account", {
        "name": "Kanya S.", "country": "", "phone": "", "timezone": "Asia/Bangkok",
        "language": "th", "currency": "THB"})
    assert response.status_code == 302
    patient = post_form(as_role("patient"), "/account", {
        "name": "Jane", "country": "", "phone": "", "timezone": "UTC", "language": "en",
        "currency": "THB"})
    assert patient.status_code == 422


def test_language_switch_changes_the_page_not_the_saved_preference(as_role, app, demo):
    client = as_role("patient")
    client.get("/language/th")
    assert 'lang="th"' in client.get("/bookings").get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == demo["patient"]))
        assert user.language == "en"


def test_audit_keeps_lists_as_lists(as_role, app):
    admin = as_role("admin")
    post_form(admin, "/admin/clinics/new", {
        "name": "Ari Clinic", "slug": "ari", "address": "Bangkok", "languages": "en-us, EN_us, th",
        "summary": "", "accreditation": "", "phone": "", "email": "", "cancellation_policy": "",
        "active": "y"})
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "clinic.created"))
        assert event.after["languages"] == ["en_US", "th"]


def test_without_an_environment_the_app_is_production_and_needs_a_secret(monkeypatch):
    monkeypatch.delenv("SPINEBRIDGE_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app()


def test_error_page_still_renders_after_a_failed_query(tmp_path, app):
    broken = create_app(make_config(
        str(tmp_path), SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"]))

    @broken.get("/bad-sql")
    def bad_sql():
        db.session.execute(text("SELECT * FROM no_such_table"))

    response = broken.test_client().get("/bad-sql")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)


def test_registration_and_reset_are_rate_limited(client, demo):
    token = csrf_token(client, "/register")
    codes = [client.post("/register", data={"csrf_token": token}).status_code
             for _ in range(11)]
    assert codes[-1] == 429 and codes[0] == 422
    token = csrf_token(client, "/forgot-password")
    codes = [client.post("/forgot-password", data={"csrf_token": token,
                                                   "email": "x@example.com"}).status_code
             for _ in range(11)]
    assert codes[0] == 200 and codes[-1] == 429
