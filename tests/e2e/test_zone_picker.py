"""The time-zone picker on a phone: the device's zone first and chosen, a search that narrows
the list by city or country, canonical names only."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.e2e.test_patient_and_coordinator import PHONE, _watch_console


def test_zone_picker_puts_the_device_zone_first_and_searches(browser: Browser, live_server,
                                                            shot):
    context = browser.new_context(**PHONE, timezone_id="Asia/Calcutta")  # an old alias
    page = context.new_page()
    problems = _watch_console(page)
    page.goto(live_server + "/register")
    select = page.locator("select[name=timezone]")
    first_group = select.locator("optgroup").first
    expect(first_group).to_have_attribute("label", "This device")
    assert select.input_value() in ("Asia/Kolkata", "Asia/Calcutta")
    search = page.get_by_role("searchbox", name="Search city or country")
    search.fill("sydney")
    expect(select).to_have_value("Australia/Sydney")
    page.screenshot(path=shot("zone-picker-phone.png"), full_page=False)
    search.fill("united kingdom")
    expect(select).to_have_value("Europe/London")
    assert problems == [], problems
    context.close()
