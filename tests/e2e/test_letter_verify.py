"""Visa letters in the browser: the coordinator's review panel, the patient's issued letter,
and the public verification page on a phone, valid then revoked (axe-checked)."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from booking.extensions import db
from booking.travel import letters
from booking.travel.models import VisaLetter
from tests.e2e.conftest import run_axe
from tests.e2e.test_patient_and_coordinator import LAPTOP, PHONE, _watch_console
from tests.payments.conftest import stripe_quiet  # noqa: F401 (a fixture)
from tests.scheduling.helpers import user
from tests.travel.test_letters import paid_trip


def _signed_in(browser: Browser, live_server: str, email: str, password: str, device: dict):
    context = browser.new_context(**device, bypass_csp=True)  # (axe is injected)
    page = context.new_page()
    page.goto(live_server + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator(
        "button[type=submit]").click()
    page.wait_for_load_state()
    return context, page


def test_letter_panels_and_verification_on_a_phone(browser: Browser, live_server, app, demo,
                                                    as_role, stripe_quiet, shot):  # noqa: F811
    trip_id = paid_trip(app, as_role, stripe_quiet, companion=True)
    with app.app_context():
        trip = db.session.get(letters.Trip, trip_id)
        letter = letters.request_letter(user(demo["patient"]), trip)
        db.session.commit()
        letter_id, token = letter.id, letter.token

    context, page = _signed_in(browser, live_server, demo["coordinator"], demo["password"],
                               LAPTOP)
    problems = _watch_console(page)
    page.goto(f"{live_server}/trips/{trip_id}/letter")
    expect(page.get_by_test_id("letter-issue")).to_be_visible()
    page.screenshot(path=shot("letters-panel-coordinator.png"), full_page=True)
    assert run_axe(page) == []
    page.get_by_test_id("letter-issue").click()
    expect(page.get_by_test_id("letter-download")).to_be_visible()
    context.close()

    context, page = _signed_in(browser, live_server, demo["patient"], demo["password"], PHONE)
    problems += _watch_console(page)
    page.goto(f"{live_server}/trips/{trip_id}/letter")
    expect(page.get_by_test_id("letter-state")).to_have_text("Issued")
    page.screenshot(path=shot("letters-panel-patient-issued.png"), full_page=True)
    assert run_axe(page) == []
    context.close()

    context = browser.new_context(**PHONE, bypass_csp=True)
    page = context.new_page()
    problems += _watch_console(page)
    page.goto(f"{live_server}/verify-letter/{token}")
    expect(page.get_by_test_id("verify-status")).to_contain_text("VALID")
    expect(page.get_by_test_id("verify-people")).to_contain_text("Tom Miller")
    page.screenshot(path=shot("letters-verify-valid.png"), full_page=True)
    assert run_axe(page) == []

    with app.app_context():
        letters.revoke_letter(user(demo["coordinator"]), db.session.get(VisaLetter, letter_id),
                              "The patient cancelled the trip.")
        db.session.commit()
    page.reload()
    expect(page.get_by_test_id("verify-status")).to_contain_text("REVOKED")
    page.screenshot(path=shot("letters-verify-revoked.png"), full_page=True)
    assert run_axe(page) == []

    page.goto(f"{live_server}/verify-letter/not-a-letter")
    expect(page.get_by_test_id("verify-unknown")).to_be_visible()
    page.screenshot(path=shot("letters-verify-unknown.png"), full_page=True)
    context.close()

    context, page = _signed_in(browser, live_server, demo["patient"], demo["password"], PHONE)
    page.goto(f"{live_server}/trips/{trip_id}/letter")
    expect(page.get_by_test_id("letter-reason")).to_contain_text("cancelled the trip")
    page.screenshot(path=shot("letters-panel-patient-revoked.png"), full_page=True)
    context.close()
    assert problems == [], problems
