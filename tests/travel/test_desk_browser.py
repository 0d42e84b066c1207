"""The travel desk in Chromium on a laptop: a week with six arrivals in every state, the
coordinator confirms a pickup from the board and the page passes axe. Screenshots go to
/tmp/desk-*.png for a person to look at."""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Browser, expect

from booking.extensions import db
from booking.travel import desk, services
from booking.travel.models import Trip
from tests.e2e.conftest import CHROMIUM, run_axe
from tests.e2e.test_deposit import _sign_in
from tests.e2e.test_patient_and_coordinator import LAPTOP, _watch_console
from tests.scheduling.helpers import user
from tests.travel.test_desk import _letter, in_days, new_patient, plan

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM),
                                reason=f"no Chromium at {CHROMIUM}")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # As tests/e2e: Debian's Chromium, never a download.
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "headless": True,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"]}


def _week(app) -> dict[str, int]:
    """Six arrivals over the week: to confirm, confirmed, flight changed, no pickup, a big
    group, nothing chosen yet; two letters waiting; some flights home in the week."""
    with app.app_context():
        coordinator = user("coordinator@sukhumvit-spine.example.com")
        ids = {"jane": plan(landing=in_days(1, 6, 10), wheelchair=True, interpreter="de",
                            companion=True, leaving=in_days(5, 23, 55))}
        ids["mark"] = plan("patient2@example.com", landing=in_days(1, 14, 25), code="EK 384",
                           vehicle="sedan", luggage=1)
        for name, email in (("Ahmed Al-Farsi", "ahmed@example.com"),
                            ("Mei Lin Chen", "mei@example.com"),
                            ("Olga Petrova", "olga@example.com"),
                            ("Tom O'Brien", "tom@example.com")):
            new_patient(name, email)
        ids["ahmed"] = plan("ahmed@example.com", landing=in_days(2, 7, 30), code="QR 980",
                            interpreter="ar", leaving=in_days(6, 2, 15))
        ids["mei"] = plan("mei@example.com", landing=in_days(3, 23, 40), code="CX 617",
                          pickup=False, partner_hotel=False)
        ids["olga"] = plan("olga@example.com", landing=in_days(3, 9, 0), code="SU 270",
                           vehicle="minibus", luggage=6, companion=True, interpreter="ru")
        ids["tom"] = plan("tom@example.com", landing=in_days(5, 16, 15), code="EY 404",
                          partner_hotel=False, vehicle="sedan", luggage=2)
        for key in ("mark", "ahmed"):
            desk.confirm_pickup(coordinator, db.session.get(Trip, ids[key]), "Somchai Jaidee",
                                "081 234 5678", "1กข 2345")
        desk.set_hotel_status(coordinator, db.session.get(Trip, ids["mark"]), "booked")
        db.session.commit()
        services.save_flight(user("ahmed@example.com"), db.session.get(Trip, ids["ahmed"]),
                             "arrival", code="QR 982", airport="BKK",
                             scheduled_at=in_days(2, 11, 5))
        services.save_hotel(user("mei@example.com"), db.session.get(Trip, ids["mei"]),
                            choice="own", own_name="Hotel Ibis Sukhumvit 4",
                            own_address="4 Sukhumvit Soi 4, Bangkok")
        db.session.commit()
        _letter(ids["olga"])
        _letter(ids["jane"])
    return ids


def test_the_desk_on_a_laptop_shows_the_week_and_confirms_a_pickup(
        browser: Browser, app, live_server, demo):
    ids = _week(app)
    context = browser.new_context(**LAPTOP, timezone_id="Asia/Bangkok", bypass_csp=True)
    page = context.new_page()
    problems = _watch_console(page)
    _sign_in(page, live_server, demo["coordinator"], demo["password"])
    page.screenshot(path="/tmp/desk-dashboard.png", full_page=True)
    page.get_by_role("link", name="Travel", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Travel desk")
    page.screenshot(path="/tmp/desk-board.png", full_page=False)
    page.screenshot(path="/tmp/desk-board-full.png", full_page=True)
    assert run_axe(page) == []

    jane = page.get_by_test_id(f"arrival-{ids['jane']}")
    jane.get_by_label("Driver", exact=True).fill("Prasert Wongsa")
    jane.get_by_label("Driver's mobile").fill("12")
    jane.get_by_label("Plate").fill("2ขค 4455")
    jane.get_by_role("button", name="Confirm pickup").click()
    jane = page.get_by_test_id(f"arrival-{ids['jane']}")
    expect(jane.get_by_text(re.compile("not a phone number we can call"))).to_be_visible()
    expect(jane.get_by_label("Plate")).to_have_value("2ขค 4455")
    page.screenshot(path="/tmp/desk-refused.png", full_page=False)
    assert run_axe(page) == []
    jane.get_by_label("Driver's mobile").fill("089 765 4321")
    jane.get_by_role("button", name="Confirm pickup").click()
    expect(page.get_by_test_id(f"arrival-{ids['jane']}").get_by_test_id("pickup-status")
           ).to_have_text("Pickup confirmed")
    expect(page.get_by_role("status")).to_contain_text("Pickup confirmed for Jane")
    page.screenshot(path="/tmp/desk-confirmed.png", full_page=False)
    assert problems == [], problems
    context.close()


def test_an_empty_week_says_what_will_appear(browser: Browser, app, live_server, demo):
    context = browser.new_context(**LAPTOP, timezone_id="Asia/Bangkok", bypass_csp=True)
    page = context.new_page()
    _sign_in(page, live_server, demo["coordinator"], demo["password"])
    page.goto(live_server + "/clinic/travel")
    expect(page.get_by_test_id("no-arrivals")).to_contain_text("Nobody lands in Bangkok")
    page.screenshot(path="/tmp/desk-empty.png", full_page=True)
    assert run_axe(page) == []
    context.close()
