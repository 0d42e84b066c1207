"""The trip, end to end in a browser: the patient plans it on a phone from their booking,
adds flights, a hotel and a companion, and sees the itinerary in Bangkok time and theirs."""

from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import Browser, expect

from booking.core.zones import CLINIC_ZONE
from tests.e2e.test_deposit import _sign_in
from tests.e2e.test_patient_and_coordinator import PHONE, _watch_console
from tests.scheduling.helpers import hold


def test_patient_plans_a_trip_on_a_phone(browser: Browser, app, live_server, demo, shot):
    with app.app_context():
        booking = hold(demo["patient"], confirm=True, mode="in_person")
        booking_id = booking.id
        day = booking.starts_at.astimezone(CLINIC_ZONE).date()
    phone = browser.new_context(**PHONE, timezone_id="America/New_York")
    page = phone.new_page()
    problems = _watch_console(page)
    _sign_in(page, live_server, demo["patient"], demo["password"])
    page.goto(f"{live_server}/bookings/{booking_id}")
    page.get_by_test_id("plan-trip").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your trip to Bangkok")
    page.screenshot(path=shot("trip-empty-phone.png"), full_page=True)

    arrival = page.get_by_test_id("flight-arrival")
    arrival.get_by_label("Flight number").fill("tg 917")
    arrival.get_by_label("Airport in Bangkok").select_option("BKK")
    arrival.get_by_label("Date (Bangkok)").fill((day - timedelta(days=2)).isoformat())
    arrival.get_by_label("Time (Bangkok)").fill("07:30")
    arrival.get_by_role("button", name="Save flight").click()
    expect(page.get_by_text("Your flight to Bangkok is saved")).to_be_visible()
    departure = page.get_by_test_id("flight-departure")
    departure.get_by_label("Flight number").fill("TG 918")
    departure.get_by_label("Date (Bangkok)").fill((day + timedelta(days=6)).isoformat())
    departure.get_by_label("Time (Bangkok)").fill("23:55")
    departure.get_by_role("button", name="Save flight").click()
    expect(page.get_by_test_id("event-landing")).to_contain_text("TG 917")
    expect(page.get_by_test_id("event-landing")).to_contain_text("in New York")

    page.locator("#passport").get_by_label("Passport issued by").select_option("US")
    page.locator("#passport").get_by_label("Passport number").fill("X12345678")
    page.locator("#passport").get_by_label("Expiry date").fill(
        (date.today() + timedelta(days=1500)).isoformat())
    page.get_by_role("button", name="Save passport").click()
    expect(page.get_by_test_id("passport-number")).to_have_text(re.compile(r"^•+678$"))

    page.locator("#hotel .hotel-option").first.locator("input").check()
    page.get_by_role("button", name="Save where I stay").click()
    expect(page.get_by_test_id("event-hotel")).to_be_visible()

    page.get_by_text("Add a companion").click()
    companions = page.locator("#companions")
    companions.get_by_label("Full name, as in the passport").fill("สมชาย ใจดี")
    companions.get_by_label("Relationship to you").select_option("spouse")
    companions.get_by_label("Passport issued by").select_option("TH")
    companions.get_by_label("Passport number").fill("AA1234567")
    companions.get_by_label("Expiry date").fill((date.today() + timedelta(days=1500)).isoformat())
    companions.get_by_role("button", name="Add companion").click()
    expect(page.get_by_test_id("companion")).to_contain_text("สมชาย ใจดี")

    page.locator("#pickup").get_by_label("Yes, meet me at the airport").check()
    page.locator("#pickup").get_by_label("I need a wheelchair at the airport").check()
    page.get_by_role("button", name="Save pickup").click()
    expect(page.get_by_test_id("pickup-status")).to_contain_text("Requested")
    page.screenshot(path=shot("trip-planned-phone.png"), full_page=True)
    assert problems == [], problems
    phone.close()
