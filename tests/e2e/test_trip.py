"""The trip, end to end in a browser: the patient plans it on a phone from their booking, adds
flights, a hotel and a companion, and sees the itinerary in Bangkok time and theirs; the clinic
issues and revokes the visa letter an embassy checks; the travel desk lists the arrival."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from icalendar import Calendar
from playwright.sync_api import Browser, expect
from sqlalchemy import select, text

from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.scheduling import services as scheduling
from booking.scheduling.models import Booking
from booking.travel.models import VisaLetter
from tests.e2e.test_deposit import _sign_in
from tests.e2e.test_patient_and_coordinator import LAPTOP, PHONE, _watch_console
from tests.payments.conftest import stripe_quiet  # noqa: F401 (a fixture)
from tests.scheduling.helpers import first_free, hold, user
from tests.travel.helpers import paid_booking


def test_patient_plans_a_trip_on_a_phone(browser: Browser, app, live_server, demo, shot):
    with app.app_context():
        # Far enough ahead that landing two days before it is still to come.
        booking = hold(demo["patient"], confirm=True, mode="in_person",
                       after=utcnow() + timedelta(days=4))
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


def test_trip_letter_desk_and_itinerary_end_to_end(browser: Browser, app, live_server, demo,
                                                    as_role, stripe_quiet, shot):  # noqa: F811
    """The whole path: flights, hotel and a companion on a phone; the letter requested,
    issued by the coordinator, downloaded, verified, then revoked; the arrivals board lists
    the patient; moving the consultation changes the itinerary and its .ics; others get 404."""
    booking_id = paid_booking(app, as_role, stripe_quiet)
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        day = booking.starts_at.astimezone(CLINIC_ZONE).date()
        doctor_id, ctype_id, old_start = (booking.doctor_id, booking.consultation_type_id,
                                          booking.starts_at)
    phone = browser.new_context(**PHONE, timezone_id="America/New_York", accept_downloads=True)
    page = phone.new_page()
    problems = _watch_console(page)
    _sign_in(page, live_server, demo["patient"], demo["password"])
    page.goto(f"{live_server}/bookings/{booking_id}")
    page.get_by_test_id("plan-trip").click()
    trip_url = page.url.split("#")[0]
    trip_id = int(trip_url.rstrip("/").rsplit("/", 1)[1])
    for direction, code, when, clock in (("arrival", "TG 917", day - timedelta(days=1), "07:30"),
                                         ("departure", "TG 918", day + timedelta(days=5),
                                          "23:55")):
        form = page.get_by_test_id(f"flight-{direction}")
        form.get_by_label("Flight number").fill(code)
        form.get_by_label("Date (Bangkok)").fill(when.isoformat())
        form.get_by_label("Time (Bangkok)").fill(clock)
        form.get_by_role("button", name="Save flight").click()
        expect(page.get_by_text("is saved")).to_be_visible()
    passport = page.locator("#passport")
    passport.get_by_label("Passport issued by").select_option("US")
    passport.get_by_label("Passport number").fill("X12345678")
    passport.get_by_label("Expiry date").fill((date.today() + timedelta(days=1500)).isoformat())
    page.get_by_role("button", name="Save passport").click()
    page.locator("#hotel .hotel-option").first.locator("input").check()
    page.get_by_role("button", name="Save where I stay").click()
    page.get_by_text("Add a companion").click()
    companions = page.locator("#companions")
    companions.get_by_label("Full name, as in the passport").fill("王小明")
    companions.get_by_label("Relationship to you").select_option("spouse")
    companions.get_by_label("Passport issued by").select_option("CN")
    companions.get_by_label("Passport number").fill("E12345678")
    companions.get_by_label("Expiry date").fill((date.today() + timedelta(days=1500)).isoformat())
    companions.get_by_role("button", name="Add companion").click()
    expect(page.get_by_test_id("companion")).to_contain_text("王小明")
    page.locator("#pickup").get_by_label("Yes, meet me at the airport").check()
    page.get_by_role("button", name="Save pickup").click()
    page.get_by_test_id("letter-request").click()
    expect(page.get_by_test_id("letter-state")).to_be_visible()
    page.screenshot(path=shot("trip-letter-requested-phone.png"), full_page=True)

    laptop = browser.new_context(**LAPTOP, timezone_id="Asia/Bangkok")
    desk = laptop.new_page()
    desk_problems = _watch_console(desk)
    _sign_in(desk, live_server, demo["coordinator"], demo["password"])
    desk.get_by_role("link", name="Travel", exact=True).click()
    arrival = desk.get_by_test_id(f"arrival-{trip_id}")
    for _week in range(3):  # the landing may be in a later week
        if arrival.count():
            break
        desk.get_by_test_id("next-week").click()
    expect(arrival).to_contain_text("Jane Miller")
    expect(arrival).to_contain_text("TG 917")
    expect(desk.get_by_test_id("letters")).to_contain_text("Jane Miller")
    desk.screenshot(path=shot("travel-desk-laptop.png"), full_page=True)
    desk.get_by_test_id("letters").get_by_role("link", name="Review").first.click()
    desk.get_by_test_id("letter-issue").click()
    expect(desk.get_by_test_id("letter-state")).to_contain_text("Issued")

    page.goto(trip_url)
    with page.expect_download() as download:
        page.get_by_test_id("letter-download").click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    verify_url = page.get_by_test_id("letter-verify-link").get_attribute("href")
    embassy = browser.new_context(**PHONE).new_page()  # not signed in
    embassy.goto(verify_url if verify_url.startswith("http") else live_server + verify_url)
    expect(embassy.get_by_test_id("verify-status")).to_contain_text("VALID")
    expect(embassy.get_by_test_id("verify-people")).to_contain_text("王小明")
    embassy.screenshot(path=shot("verify-valid-phone.png"), full_page=True)

    desk.get_by_test_id("letter-revoke").locator("summary").click()
    desk.get_by_label("Reason:").fill("The patient cancelled the treatment.")
    desk.get_by_role("button", name="Revoke the letter").click()
    expect(desk.get_by_test_id("letter-state")).to_contain_text("Revoked")
    embassy.reload()
    expect(embassy.get_by_test_id("verify-status")).to_contain_text("REVOKED")
    embassy.screenshot(path=shot("verify-revoked-phone.png"), full_page=True)

    # The clinic moves the consultation: the itinerary and its calendar file follow.
    ics_before = Calendar.from_ical(page.request.get(f"{trip_url}/itinerary.ics").body())
    uid = f"trip-{trip_id}-booking-{booking_id}@spinebridge"
    sequence = next(int(e["sequence"]) for e in ics_before.walk("VEVENT") if str(e["uid"]) == uid)
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        slot = first_free(booking.consultation_type, after=old_start + timedelta(hours=3),
                          doctor_id=doctor_id)
        scheduling.reschedule(user(demo["coordinator"]), booking, start=slot.start)
        db.session.commit()
        new_start = slot.start
    page.goto(trip_url)
    expect(page.get_by_test_id(f"event-booking-{booking_id}")).to_contain_text(
        new_start.astimezone(CLINIC_ZONE).strftime("%-I:%M"))
    ics_after = Calendar.from_ical(page.request.get(f"{trip_url}/itinerary.ics").body())
    moved = next(e for e in ics_after.walk("VEVENT") if str(e["uid"]) == uid)
    assert moved.decoded("dtstart") == new_start and int(moved["sequence"]) > sequence
    page.screenshot(path=shot("trip-after-move-phone.png"), full_page=True)
    assert problems == [] and desk_problems == [], (problems, desk_problems)

    # Another patient and another clinic's coordinator find nothing, pages and API alike.
    with app.app_context():
        letter_id = db.session.scalar(select(VisaLetter.id).where(VisaLetter.trip_id == trip_id))
        raw = db.session.execute(text("SELECT passport_number_sealed FROM trip")).scalar()
        assert "X12345678" not in raw  # not readable in the database
        assert ctype_id  # (the booking's type stayed)
    for role in ("patient2", "other_coordinator"):
        other = browser.new_context(**LAPTOP)
        stranger = other.new_page()
        _sign_in(stranger, live_server, demo[role], demo["password"])
        for path in (f"/trips/{trip_id}", f"/trips/{trip_id}/itinerary",
                     f"/trips/{trip_id}/itinerary.ics", f"/trips/{trip_id}/letter",
                     f"/letters/{letter_id}.pdf", f"/api/v1/trips/{trip_id}",
                     f"/api/v1/trips/{trip_id}/itinerary"):
            assert stranger.request.get(live_server + path).status == 404, (role, path)
        other.close()
    phone.close()
    laptop.close()
