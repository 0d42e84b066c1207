"""A patient pays the deposit on a phone through the Stripe stand-in's hosted checkout page and
sees the booking confirmed; the receipt arrives; the coordinator sees it on the payments page."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.e2e.test_patient_and_coordinator import LAPTOP, PHONE, _watch_console
from tests.mailsink import text_of
from tests.payments.helpers import held


def mailed_day(app, booking_id: int) -> str:
    from booking.core.zones import CLINIC_ZONE
    from booking.extensions import db
    from booking.scheduling.models import Booking

    with app.app_context():
        return db.session.get(Booking, booking_id).starts_at.astimezone(CLINIC_ZONE).date() \
            .isoformat()


def _sign_in(page, live_server: str, email: str, password: str) -> None:
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    # Wait for the sign-in to land before going elsewhere (a goto would abort its POST).
    expect(page).not_to_have_url(re.compile(r"/login"))


def test_patient_pays_the_deposit_on_the_hosted_page_and_is_confirmed(
        browser: Browser, app, live_server, demo, mail_sink, stripe_live, shot):
    booking_id = held(app)
    phone = browser.new_context(**PHONE, timezone_id="America/New_York")
    page = phone.new_page()
    problems = _watch_console(page)
    _sign_in(page, live_server, demo["patient"], demo["password"])
    page.goto(f"{live_server}/bookings/{booking_id}")
    expect(page.get_by_test_id("state")).to_have_text("Held — awaiting deposit")
    expect(page.get_by_test_id("policy")).to_contain_text("7 days or more before")
    usd = page.get_by_label(re.compile(r"\$43\.50 · US Dollar"))
    expect(usd).to_be_checked()  # the patient's own currency first
    page.screenshot(path=shot("deposit-pay-phone.png"), full_page=True)
    assert problems == [], problems
    page.get_by_test_id("pay").click()
    expect(page).to_have_url(re.compile(re.escape(stripe_live.url) + r"/pay/cs_"))
    expect(page.locator("#pay")).to_contain_text("43.50")
    page.locator("#cardNumber").fill("4000 0000 0000 0002")
    page.locator("#cardExpiry").fill("12 / 34")
    page.locator("#cardCvc").fill("123")
    page.locator("#billingName").fill("Jane Miller")
    page.locator("#pay").click()
    expect(page.get_by_text("Your card was declined.")).to_be_visible()
    page.screenshot(path=shot("deposit-checkout-declined-phone.png"), full_page=True)
    page.locator("#cardNumber").fill("4242 4242 4242 4242")
    page.locator("#cardExpiry").fill("12 / 34")
    page.locator("#cardCvc").fill("123")
    page.locator("#pay").click()
    expect(page).to_have_url(re.compile(rf"/bookings/{booking_id}/paid\?session_id=cs_"))
    problems.clear()  # the stand-in's own page (its 402 for the declined card) is not ours
    expect(page.get_by_test_id("paid-confirmed")).to_contain_text("your booking is confirmed")
    expect(page.get_by_test_id("paid-confirmed")).to_contain_text("$43.50")
    page.screenshot(path=shot("deposit-paid-phone.png"), full_page=True)
    page.get_by_role("link", name="Open your booking").click()
    expect(page.get_by_test_id("state")).to_have_text("Confirmed")
    expect(page.get_by_test_id("payment-status")).to_have_text("Paid")
    page.screenshot(path=shot("deposit-receipt-phone.png"), full_page=True)
    subjects = [m["Subject"] for m in mail_sink.wait_for(demo["patient"], count=3)]
    assert any(s.startswith("Deposit received") for s in subjects), subjects
    assert problems == [], problems

    # From the email, on another phone, without signing in: cancel after a confirmation that
    # says what comes back (10 days ahead: everything).
    mails = mail_sink.to(demo["patient"])
    link = next(m for m in (re.search(r"http://\S+/manage/[\w.\-]+", text_of(mail))
                            for mail in reversed(mails)) if m).group(0)
    other_phone = browser.new_context(**PHONE, timezone_id="America/New_York")
    mailed = other_phone.new_page()
    mailed.goto(link)
    expect(mailed.get_by_test_id("state")).to_have_text("Confirmed")
    mailed.get_by_test_id("manage-cancel").click()
    expect(mailed.get_by_test_id("cancel-refund")).to_contain_text(
        "You get back the whole deposit: $43.50")
    mailed.screenshot(path=shot("manage-cancel-phone.png"), full_page=True)
    mailed.get_by_role("button", name="Yes, cancel this booking").click()
    expect(mailed.get_by_test_id("state")).to_have_text("Cancelled by the patient")
    stripe_live.flush()
    other_phone.close()

    staff = browser.new_context(**LAPTOP, timezone_id="Asia/Bangkok")
    desk = staff.new_page()
    _sign_in(desk, live_server, demo["coordinator"], demo["password"])
    desk.goto(live_server + "/coordinator/payments")
    expect(desk.get_by_test_id("ledger-row")).to_have_count(2)  # the deposit and its refund
    expect(desk.get_by_test_id("ledger-row").first).to_contain_text("Refund")
    desk.screenshot(path=shot("payments-laptop.png"), full_page=True)
    # The day on the calendar, doctor by doctor, the cancelled booking shown as ended.
    day = mailed_day(app, booking_id)
    desk.goto(f"{live_server}/coordinator/day?date={day}&all=1")
    expect(desk.get_by_test_id("calendar")).to_be_visible()
    expect(desk.locator(".cal-booking.ended")).to_have_count(1)
    desk.screenshot(path=shot("calendar-day-laptop.png"), full_page=True)
    phone.close()
    staff.close()
