"""A patient books from a clinic page on a phone, with prices in their own currency; the
clinic's coordinator sees the hold waiting on the dashboard, opens it from the calendar and
confirms it."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.e2e.test_deposit import _sign_in
from tests.e2e.test_patient_and_coordinator import LAPTOP, PHONE, _watch_console
from tests.scheduling.helpers import screen


def test_patient_books_from_a_clinic_page_and_the_coordinator_confirms_from_the_calendar(
        browser: Browser, app, live_server, demo, shot):
    with app.app_context():
        screen(demo["patient"])  # answered the health questions before
    phone = browser.new_context(**PHONE, timezone_id="America/New_York")
    page = phone.new_page()
    problems = _watch_console(page)
    _sign_in(page, live_server, demo["patient"], demo["password"])
    page.goto(live_server + "/clinics/sukhumvit-spine")
    expect(page.get_by_text(re.compile(r"about \$"))).not_to_have_count(0)  # USD beside THB
    page.get_by_test_id("book").click()
    page.get_by_role("link", name=re.compile("Video consultation")).first.click()
    expect(page.get_by_text("Times are shown in America/New York")).to_be_visible()
    page.locator("button.slot-button").first.click()
    expect(page.get_by_test_id("state")).to_have_text("Held — awaiting deposit")
    reference = page.get_by_role("heading", level=1).inner_text().split()[-1]
    page.get_by_label(re.compile("Informed consent")).check()
    page.get_by_label(re.compile("Health data consent")).check()
    page.get_by_role("button", name="I agree").click()
    expect(page.get_by_text("Your consent is recorded.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"about \$\d+"))).not_to_have_count(0)
    page.screenshot(path=shot("clinic-booking-held-phone.png"), full_page=True)
    assert problems == [], problems

    staff = browser.new_context(**LAPTOP, timezone_id="Asia/Bangkok")
    desk = staff.new_page()
    desk_problems = _watch_console(desk)
    _sign_in(desk, live_server, demo["coordinator"], demo["password"])
    waiting = desk.get_by_test_id(f"waiting-{reference}")
    expect(waiting).to_be_visible()  # the work queue: the hold, its time left, what is missing
    expect(waiting).to_contain_text("Jane Miller")
    desk.screenshot(path=shot("dashboard-waiting-laptop.png"), full_page=True)
    desk.get_by_role("link", name="Week", exact=True).click()
    held = desk.get_by_test_id(f"cal-{reference}")
    if not held.count():  # the hold is in a later week
        desk.get_by_role("link", name="Next week").click()
    held.click()
    expect(desk.get_by_test_id("state")).to_have_text("Held — awaiting deposit")
    desk.get_by_role("button", name="Confirm: deposit received").click()
    expect(desk.get_by_test_id("state")).to_have_text("Confirmed")
    assert desk_problems == [], desk_problems
    phone.close()
    staff.close()
