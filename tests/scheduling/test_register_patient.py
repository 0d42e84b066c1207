"""A coordinator registers a patient who phoned: the patient is emailed a link to choose a
password, the coordinator holds a time for them, and the booking waits for the patient."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from booking.accounts.models import User
from booking.extensions import db
from booking.scheduling.models import Booking
from tests.conftest import csrf_token, post_form
from tests.mailsink import text_of
from tests.scheduling.helpers import ctype_for, first_free

NEW = {"new-name": "Grace Okafor", "new-email": "grace.okafor@example.org",
       "new-country": "GB", "new-phone": "+44 20 7946 0958", "new-timezone": "Europe/London",
       "new-language": "en"}


def test_coordinator_registers_a_caller_and_holds_a_time_that_waits_for_them(
        as_role, app, mail_sink):
    coordinator = as_role("coordinator")
    found = post_form(coordinator, "/coordinator/book",
                      {"email": NEW["new-email"], "consultation_type": "1"})
    assert found.status_code == 422
    page = found.get_data(as_text=True)
    assert 'data-testid="new-patient"' in page and 'value="grace.okafor@example.org"' in page
    with app.app_context():
        ctype = ctype_for("sukhumvit-spine", "video")
        ctype_id = ctype.id
        slot = first_free(ctype)
    token = csrf_token(coordinator, "/coordinator/book")
    done = coordinator.post("/coordinator/patients", data={
        **NEW, "new-csrf_token": token, "new-consultation_type": str(ctype_id)})
    assert done.status_code == 302 and f"/coordinator/book/{ctype_id}?patient=" in \
        done.headers["Location"]
    with app.app_context():
        grace = db.session.scalar(select(User).where(User.email == NEW["new-email"]))
        assert grace.role == "patient" and grace.phone == "+442079460958"
        assert grace.currency == "GBP" and grace.timezone == "Europe/London"
        assert grace.email_verified_at is None
    mail = mail_sink.wait_for(NEW["new-email"])[0]
    assert "choose your SpineBridge password" in mail["Subject"]
    link = re.search(r"http://\S+/reset-password/\S+", text_of(mail)).group(0)
    # The time held for her waits a day, not the 30 minutes of a patient's own hold.
    slot_page = coordinator.get(done.headers["Location"])
    assert slot_page.status_code == 200
    ref = parse_qs(urlsplit(done.headers["Location"]).query)["patient"][0]
    held = post_form(coordinator, f"/coordinator/book/{ctype_id}/hold",
                     {"start": slot.start.isoformat(), "doctor": str(slot.doctor_id),
                      "patient": ref}, token_from=done.headers["Location"])
    assert held.status_code == 302, held.get_data(as_text=True)[:400]
    with app.app_context():
        booking = db.session.scalar(select(Booking).where(Booking.patient_id == grace.id))
        assert booking.state == "held"
        assert (booking.hold_expires_at - booking.created_at).total_seconds() >= 23 * 3600
    # She follows the link, chooses a password, and can sign in.
    path = "/" + link.split("/", 3)[3]
    choose = post_form(as_role("anonymous"), path,
                       {"password": "a-good-long-password", "confirm": "a-good-long-password"})
    assert choose.status_code == 302


def test_an_email_that_has_an_account_is_not_registered_twice(as_role, app, demo):
    coordinator = as_role("coordinator")
    token = csrf_token(coordinator, "/coordinator/book")
    again = coordinator.post("/coordinator/patients", data={
        **NEW, "new-email": demo["patient"], "new-csrf_token": token,
        "new-consultation_type": "1"})
    assert again.status_code == 422
    assert "already has an account" in again.get_data(as_text=True)
    bad = coordinator.post("/coordinator/patients", data={
        **NEW, "new-phone": "12", "new-csrf_token": token})
    assert bad.status_code == 422 and 'value="Grace Okafor"' in bad.get_data(as_text=True)


def test_staff_slot_page_shows_bangkok_first_and_the_patients_time_beside(as_role, app, demo):
    coordinator = as_role("coordinator")
    with app.app_context():
        ctype_id = ctype_for("sukhumvit-spine", "video").id
    found = post_form(coordinator, "/coordinator/book",
                      {"email": demo["patient"], "consultation_type": str(ctype_id)})
    assert found.status_code == 302
    page = coordinator.get(found.headers["Location"]).get_data(as_text=True)
    assert "Bangkok time first; the patient's time (America/New York)" in page
    bangkok = page.index('data-testid="bangkok-time"')
    assert 'class="fw-semibold d-block" data-testid="bangkok-time"' in page
    assert page.index('data-testid="patient-time"', bangkok) > bangkok
