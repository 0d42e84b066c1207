"""Admin edges: public holidays, phone and money fields, readable audit, bounded pages and
dates, and arbitrary text never giving a 5xx."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from booking.catalogue.models import Clinic, ConsultationType
from booking.core.audit import AuditEvent
from booking.extensions import db
from booking.scheduling.models import Holiday
from tests.admin.test_admin import CLINIC
from tests.conftest import csrf_token, post_form

# Public holidays ------------------------------------------------------------------------------


def test_admin_adds_a_holiday_and_it_is_listed_and_audited(as_role, app):
    admin = as_role("admin")
    response = post_form(admin, "/admin/holidays", {"day": "2031-05-01", "name": " Labour Day "})
    assert response.status_code == 302
    with app.app_context():
        holiday = db.session.scalar(select(Holiday).where(Holiday.name == "Labour Day"))
        assert holiday is not None and holiday.day.isoformat() == "2031-05-01"
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "holiday.added"))


def test_holiday_page_lists_this_year_and_next(as_role, app):
    from datetime import date, datetime

    from booking.core.zones import CLINIC_ZONE

    year = datetime.now(CLINIC_ZONE).year
    with app.app_context():
        for day, name in [(date(year, 12, 30), "Late this year"),
                          (date(year + 1, 1, 2), "Early next year"),
                          (date(year + 3, 1, 2), "Far away")]:
            db.session.add(Holiday(day=day, name=name))
        db.session.commit()
    html = as_role("admin").get("/admin/holidays").get_data(as_text=True)
    assert "Late this year" in html and "Early next year" in html and "Far away" not in html


def test_a_duplicate_holiday_is_422_and_keeps_what_was_typed(as_role):
    admin = as_role("admin")
    post_form(admin, "/admin/holidays", {"day": "2031-05-01", "name": "Labour Day"})
    again = post_form(admin, "/admin/holidays", {"day": "2031-05-01", "name": "Second try"})
    html = again.get_data(as_text=True)
    assert again.status_code == 422
    assert "already a holiday" in html and 'value="Second try"' in html
    assert 'value="2031-05-01"' in html


@pytest.mark.parametrize("day, name, message", [
    ("0001-01-01", "Year one", "between 2000-01-01 and 2100-12-31"),
    ("9999-12-31", "Far future", "between 2000-01-01 and 2100-12-31"),
    ("2031-02-30", "No such day", "Not a valid date"),
    ("2031-05-01", "   ", "This field is required"),
    ("2031-05-01", "x" * 201, "At most 200 characters"),
])
def test_bad_holidays_are_422_with_a_clear_message(as_role, app, day, name, message):
    response = post_form(as_role("admin"), "/admin/holidays", {"day": day, "name": name})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Holiday).where(Holiday.name == name)) is None


def test_removing_a_holiday_asks_then_removes_on_post(as_role, app):
    admin = as_role("admin")
    post_form(admin, "/admin/holidays", {"day": "2031-05-01", "name": "Labour Day"})
    with app.app_context():
        holiday_id = db.session.scalar(select(Holiday.id).where(Holiday.name == "Labour Day"))
    path = f"/admin/holidays/{holiday_id}/remove"
    confirm = admin.get(path)
    assert confirm.status_code == 200 and "Labour Day" in confirm.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Holiday, holiday_id) is not None  # a GET changes nothing
    assert admin.post(path).status_code == 400  # no CSRF token, nothing removed
    assert post_form(admin, path, {}).status_code == 302
    with app.app_context():
        assert db.session.get(Holiday, holiday_id) is None
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "holiday.removed"))


def test_coordinators_cannot_reach_the_holiday_admin(as_role):
    assert as_role("coordinator").get("/admin/holidays").status_code in (302, 403, 404)


# Phone and money --------------------------------------------------------------------------------


def test_clinic_phone_is_stored_in_e164(as_role, app):
    response = post_form(as_role("admin"), "/admin/clinics/new", {**CLINIC, "phone": "02 123 4567"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Clinic.phone).where(Clinic.slug == "ari-spine")) \
            == "+6621234567"


@pytest.mark.parametrize("phone", ["not a phone", "+66 12", "1" * 30])
def test_a_clinic_phone_that_is_not_a_number_is_refused_and_kept(as_role, app, phone):
    response = post_form(as_role("admin"), "/admin/clinics/new", {**CLINIC, "phone": phone})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and f'value="{phone}"' in html
    assert "phone number" in html or "At most" in html
    with app.app_context():
        assert db.session.scalar(select(Clinic).where(Clinic.slug == "ari-spine")) is None


@pytest.mark.parametrize("field, limit", [("name", 200), ("accreditation", 300),
                                          ("address", 1000), ("email", 320)])
def test_admin_text_fields_have_their_column_limit(as_role, field, limit):
    value = "a" * (limit + 1) if field != "email" else "a" * limit + "@example.com"
    response = post_form(as_role("admin"), "/admin/clinics/new", {**CLINIC, field: value})
    assert response.status_code == 422 and "At most" in response.get_data(as_text=True)


def _ctype_form(clinic_id: int, deposit: str) -> dict:
    return {"clinic_id": str(clinic_id), "name": "Money check", "mode": "video",
            "duration_minutes": "20", "deposit": deposit, "active": "y",
            "buffer_before_minutes": "0", "buffer_after_minutes": "0",
            "min_notice_minutes": "720", "horizon_days": "60"}


def test_a_deposit_with_satang_is_stored_exactly_and_shown_back(as_role, app):
    admin = as_role("admin")
    with app.app_context():
        clinic_id = db.session.scalar(select(Clinic.id).where(Clinic.slug == "silom-pain-rehab"))
    assert post_form(admin, "/admin/consultation-types/new",
                     _ctype_form(clinic_id, "750.50")).status_code == 302
    with app.app_context():
        ctype = db.session.scalar(select(ConsultationType).where(
            ConsultationType.name == "Money check"))
        assert ctype.deposit_minor == 75_050
        ctype_id = ctype.id
    assert 'value="750.50"' in admin.get(f"/admin/consultation-types/{ctype_id}/edit").get_data(
        as_text=True)


@pytest.mark.parametrize("deposit", ["750.505", "sNaN", "Infinity", "-1", "1e99", "lots"])
def test_a_deposit_beyond_the_currency_or_not_a_number_is_422(as_role, app, deposit):
    admin = as_role("admin")
    with app.app_context():
        clinic_id = db.session.scalar(select(Clinic.id).where(Clinic.slug == "silom-pain-rehab"))
    response = post_form(admin, "/admin/consultation-types/new", _ctype_form(clinic_id, deposit))
    assert response.status_code == 422 and f'value="{deposit}"' in response.get_data(as_text=True)
    if deposit == "750.505":
        assert "at most 2 decimals" in response.get_data(as_text=True)


# Audit trail --------------------------------------------------------------------------------


def test_audit_trail_reads_as_sentences_not_json(as_role, app, demo):
    from booking.accounts.models import User
    from booking.screening.services import record_screening

    with app.app_context():
        patient = db.session.scalar(select(User).where(User.email == demo["patient"]))
        record_screening(patient, {"pain_months": 12, "prior_surgery": False, "nrs": 6,
                                   "odi_answers": {f"q{i}": 1 for i in range(10)},
                                   "imaging_available": True, "red_flags": []})
        db.session.commit()
    admin = as_role("admin")
    treatment_edit = post_form(admin, "/admin/clinics/new", CLINIC)
    assert treatment_edit.status_code == 302
    html = admin.get("/admin/audit?action=screening").get_data(as_text=True)
    assert "outcome: eligible" in html and "ODI score: 20 %" in html
    assert "red flags: none" in html and "{&#34;" not in html and '{"' not in html
    rates = post_form(admin, "/admin/exchange-rates", {"currency": "USD", "rate": "0.03"})
    assert rates.status_code == 302
    html = admin.get("/admin/audit?action=exchange_rate").get_data(as_text=True)
    assert "rate: 0.02900000 → 0.03" in html


def test_money_in_the_audit_trail_is_formatted(as_role, app):
    from booking.core.audit import AuditEvent, describe_changes

    event = AuditEvent(action="treatment.updated", object_type="Treatment", object_id="1",
                       actor_label="a", before={"price_min_minor": 45_000_000},
                       after={"price_min_minor": 48_000_000})
    with app.test_request_context():
        assert describe_changes(event) == ["lowest price: THB\u00a0450,000.00 → "
                                           "THB\u00a0480,000.00"]


@pytest.mark.parametrize("page", ["0", "-1", "x", str(2**70), "1.5"])
@pytest.mark.parametrize("path", ["/admin/audit", "/admin/outbox", "/admin/users"])
def test_bad_page_numbers_are_a_friendly_422_keeping_other_filters(as_role, path, page):
    response = as_role("admin").get(path, query_string={"page": page, "status": "sent",
                                                        "role": "admin", "action": "user"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "whole number from 1 to" in html
    assert "Showing the first page instead" in html


@pytest.mark.parametrize("since", ["0001-01-01", "9999-12-31", "2026-13-01", "yesterday"])
def test_bad_audit_dates_are_422_and_the_rest_still_filters(as_role, since):
    response = as_role("admin").get("/admin/audit", query_string={
        "since": since, "action": "user.seeded"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and f'value="{since}"' in html
    assert "user.seeded" in html and "treatment.seeded" not in html


def test_a_good_page_number_still_pages(as_role):
    assert as_role("admin").get("/admin/audit?page=2").status_code == 200


# Arbitrary text never gives a 5xx -------------------------------------------------------------

TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.sampled_from(
    ["\x00", "a\x00b", "\r\n", "\x1b[31m", "' OR 1=1 --", "x" * 5000, "٣", "\ufeff"])
_SIGNED_IN: dict[int, object] = {}


def _admin_once(as_role):  # type: ignore[no-untyped-def]
    """One signed-in admin per test, not per example (sign-in is rate limited)."""
    if id(as_role) not in _SIGNED_IN:
        _SIGNED_IN.clear()
        _SIGNED_IN[id(as_role)] = as_role("admin")
    return _SIGNED_IN[id(as_role)]


FUZZ = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@FUZZ
@given(name=TEXT, slug=TEXT, phone=TEXT, summary=TEXT)
def test_admin_clinic_form_never_5xx(as_role, name, slug, phone, summary):
    admin = _admin_once(as_role)
    response = admin.post("/admin/clinics/new", data={
        **CLINIC, "name": name, "slug": slug, "phone": phone, "summary": summary,
        "csrf_token": csrf_token(admin, "/admin/clinics/new")})
    assert response.status_code < 500


@FUZZ
@given(day=TEXT, name=TEXT)
def test_admin_holiday_form_never_5xx(as_role, day, name):
    admin = _admin_once(as_role)
    response = admin.post("/admin/holidays", data={
        "day": day, "name": name, "csrf_token": csrf_token(admin, "/admin/holidays")})
    assert response.status_code < 500


@FUZZ
@given(action=TEXT, actor=TEXT, since=TEXT, page=TEXT)
def test_admin_audit_filters_never_5xx(as_role, action, actor, since, page):
    response = _admin_once(as_role).get("/admin/audit", query_string={
        "action": action, "actor": actor, "since": since, "until": since, "page": page})
    assert response.status_code < 500


@FUZZ
@given(slug=TEXT, email=TEXT, password=TEXT)
def test_public_pages_and_login_never_5xx(client, demo, slug, email, password):
    for prefix in ("/clinics/", "/treatments/", "/conditions/"):
        assert client.get(prefix + slug.replace("/", "").replace("?", "").replace(
            "#", "")).status_code < 500
    response = client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code < 500


def test_a_language_code_that_is_markup_is_refused_and_shown_as_text(as_role, app):
    response = post_form(as_role("admin"), "/admin/clinics/new",
                         {**CLINIC, "languages": "en, <b>x</b>"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Unknown language code: &lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html
    with app.app_context():
        assert db.session.scalar(select(Clinic).where(Clinic.slug == "ari-spine")) is None
