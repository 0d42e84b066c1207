"""A coordinator drags a confirmed booking to another free time on the day calendar, reads what
will change and what the patient is sent, confirms, and sees it at the new time."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from playwright.sync_api import Browser, expect

from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE
from booking.scheduling.availability import find_slots
from tests.e2e.test_deposit import _sign_in
from tests.e2e.test_patient_and_coordinator import LAPTOP, _watch_console
from tests.scheduling.helpers import hold


def test_coordinator_drags_a_booking_to_another_time(browser: Browser, app, live_server, demo,
                                                     shot):
    with app.app_context():
        # The day's first free time (from midnight in Bangkok, three days on), so later free
        # times that day exist whatever the hour the test runs at (the first free time after
        # "now + 2 days" could be the day's last).
        day = (utcnow() + timedelta(days=3)).astimezone(CLINIC_ZONE).date()
        booking = hold(confirm=True, after=datetime.combine(day, time.min, tzinfo=CLINIC_ZONE))
        # A free time on a quarter hour (the grid's rows are 15 minutes).
        slots = find_slots(booking.consultation_type, start=booking.starts_at,
                           end=booking.starts_at + timedelta(days=14), now=utcnow(),
                           doctor_ids=[booking.doctor_id])
        free = next(s for s in slots if s.start.minute % 15 == 0
                    and s.start.astimezone(CLINIC_ZONE).date()
                    == booking.starts_at.astimezone(CLINIC_ZONE).date())
        ref = booking.reference
        new = free.start.astimezone(CLINIC_ZONE)
        doctor_id = booking.doctor_id
    context = browser.new_context(**LAPTOP, timezone_id="Asia/Bangkok")
    page = context.new_page()
    problems = _watch_console(page)
    _sign_in(page, live_server, demo["coordinator"], demo["password"])
    page.goto(f"{live_server}/coordinator/day?date={new.date().isoformat()}"
              f"&doctor={doctor_id}")
    column = page.locator(f".cal-col[data-doctor='{doctor_id}']")
    first_hour = int(column.get_attribute("data-first-hour"))
    rows = int(column.get_attribute("data-rows"))
    box = column.bounding_box()
    row = ((new.hour - first_hour) * 60 + new.minute) // 15
    target = {"x": box["width"] / 2, "y": (row + 0.5) * box["height"] / rows}
    page.get_by_test_id(f"cal-{ref}").drag_to(column, target_position=target)
    expect(page).to_have_url(re.compile(r"/coordinator/bookings/\d+/move\?start="))
    expect(page.get_by_test_id("new-time")).to_contain_text(new.strftime("%-I:%M"))
    expect(page.get_by_text("is emailed the new time")).to_be_visible()
    page.screenshot(path=shot("calendar-move-laptop.png"), full_page=True)
    page.get_by_role("button", name="Move and tell the patient").click()
    expect(page.get_by_text(f"Booking {ref} is moved")).to_be_visible()
    expect(page.get_by_test_id(f"cal-{ref}")).to_contain_text(new.strftime("%-I:%M"))
    assert problems == [], problems
    context.close()
