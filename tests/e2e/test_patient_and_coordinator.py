"""A patient registers, confirms their email, signs in and reads a treatment's evidence; a
coordinator signs in to their clinic. Screenshots go to the test's output folder."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import run_axe
from tests.mailsink import first_link

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True}
LAPTOP = {"viewport": {"width": 1366, "height": 900}}


def _watch_console(page) -> list[str]:
    """Script errors, CSP violations and failed loads (a 422 form answer is expected)."""
    problems: list[str] = []

    def on_console(message) -> None:
        if message.type == "error" and "status of 422" not in message.text:
            problems.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda e: problems.append(str(e)))
    return problems


def open_menu(page) -> None:  # type: ignore[no-untyped-def]
    """Open the phone menu and wait until Bootstrap's collapse has finished (`.show`): a click
    on a link while the menu is still sliding open was sometimes lost in a busy full run."""
    page.get_by_role("button", name="Open menu").click()
    expect(page.locator("#mainnav.show")).to_be_visible()


def test_patient_registers_verifies_and_reads_evidence_then_coordinator_signs_in(
        browser: Browser, live_server, demo, mail_sink, shot):
    context = browser.new_context(**PHONE, timezone_id="America/New_York", locale="en-US")
    page = context.new_page()
    problems = _watch_console(page)

    page.goto(live_server + "/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Chronic back pain")
    page.screenshot(path=shot("home-phone.png"), full_page=True)

    open_menu(page)
    page.get_by_role("link", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/register"))
    # The browser's zone is pre-selected on a fresh form.
    expect(page.get_by_label("Your time zone")).to_have_value("America/New_York")
    page.get_by_label("Full name").fill("Alex Rivera")
    page.get_by_label("Email").fill("alex.rivera@example.org")
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Repeat password").fill("short")
    page.get_by_label("Country you live in").select_option("US")
    page.get_by_label("Phone (with country code)").fill("+1 415 555 0123")
    page.get_by_role("button", name="Create account").click()
    # A clear error, and what was typed is still there.
    expect(page.get_by_text("Use at least 10 characters.")).to_be_visible()
    expect(page.get_by_label("Full name")).to_have_value("Alex Rivera")
    expect(page.get_by_label("Your time zone")).to_have_value("America/New_York")
    page.screenshot(path=shot("register-error-phone.png"), full_page=True)

    page.get_by_label("Password", exact=True).fill("a-good-long-password")
    page.get_by_label("Repeat password").fill("a-good-long-password")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    link = first_link(mail_sink.wait_for("alex.rivera@example.org")[0], "/verify/")
    page.goto(link)
    expect(page.get_by_text("your email is confirmed")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("alex.rivera@example.org")
    page.get_by_label("Password").fill("a-good-long-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="My bookings")).to_be_visible()

    page.goto(live_server + "/treatments")
    page.get_by_role("link", name="UC-MSC intradiscal injection").first.click()
    evidence = page.get_by_test_id("evidence")
    expect(evidence).to_contain_text("Approved research protocol")
    expect(evidence).to_contain_text("no large randomised trials")
    expect(page.get_by_role("heading", name="Who is not a candidate")).to_be_visible()
    page.screenshot(path=shot("treatment-phone.png"), full_page=True)

    # Book: consultation → time (shown in New York time with Bangkok beside) → hold.
    open_menu(page)
    page.get_by_role("link", name="My bookings").click()
    page.get_by_role("link", name="Book a consultation").click()
    page.get_by_role("region", name=re.compile("Sukhumvit")).get_by_role(
        "link", name=re.compile("Video consultation")).click()
    # Health questions come before any time is held.
    expect(page.get_by_role("heading", name="A few health questions")).to_be_visible()
    page.get_by_label("How many months have you had this pain?").fill("18")
    page.locator("#nrs-6").check()
    page.locator("#prior_surgery-1").check()
    page.locator("#imaging_available-0").check()
    for section in ["pain", "care", "lifting", "walking", "sitting", "standing", "sleeping",
                    "social", "travel"]:
        page.locator(f"#odi_{section}-2").check()
    page.screenshot(path=shot("screening-phone.png"), full_page=True)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Times are shown in America/New York")).to_be_visible()
    page.screenshot(path=shot("slots-phone.png"), full_page=False)
    first_slot = page.locator("button.slot-button").first
    label = first_slot.get_attribute("aria-label")
    first_slot.click()
    expect(page.get_by_test_id("state")).to_have_text("Held — awaiting deposit")
    local_when = page.get_by_test_id("when-local").inner_text()
    bangkok_when = page.get_by_test_id("when-bangkok").inner_text()
    assert "America/New York" in local_when and "In Bangkok:" in bangkok_when
    # Review and consent (versioned), recorded on the held booking.
    page.get_by_label(re.compile("Informed consent")).check()
    page.get_by_label(re.compile("Health data consent")).check()
    page.get_by_role("button", name="I agree").click()
    expect(page.get_by_text("Your consent is recorded.")).to_be_visible()
    expect(page.get_by_role("heading", name="Consents given")).to_be_visible()
    page.screenshot(path=shot("booking-held-phone.png"), full_page=True)
    assert problems == [], problems  # no CSP violation or script error on the way
    patient_page, patient_problems = page, problems

    staff = browser.new_context(**LAPTOP, timezone_id="Asia/Bangkok")
    page = staff.new_page()
    problems = _watch_console(page)
    page.goto(live_server + "/login")
    page.get_by_label("Email").fill(demo["coordinator"])
    page.get_by_label("Password").fill(demo["password"])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/coordinator/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sukhumvit Spine")
    page.screenshot(path=shot("coordinator-laptop.png"), full_page=True)
    # The patient's hold appears on the clinic's week, at its Bangkok time.
    bangkok_clock = re.search(r"\((\d{1,2}:\d{2}\s?[AP]M) in Bangkok\)", label).group(1)
    page.get_by_role("link", name="Week", exact=True).click()
    booked_day = re.search(r"In Bangkok: (\w+, \w+ \d+, \d{4})", bangkok_when).group(1)
    from datetime import datetime as _dt

    day = _dt.strptime(booked_day, "%A, %B %d, %Y").date()
    page.goto(f"{live_server}/coordinator/week?start={day.isoformat()}")
    entry = page.locator(".cal-booking", has_text="Alex Rivera")
    expect(entry).to_contain_text(bangkok_clock)
    expect(entry).to_contain_text("Hold until")
    page.screenshot(path=shot("coordinator-week-laptop.png"), full_page=True)
    # Opened from the calendar: the message timeline shows the "held" email went out.
    entry.click()
    expect(page.get_by_role("heading", name="Message timeline")).to_be_visible()
    expect(page.get_by_test_id("message-hold_placed")).to_contain_text("sent")
    held_mail = [m for m in mail_sink.to("alex.rivera@example.org")
                 if "Your time is held" in m["Subject"]]
    assert len(held_mail) == 1
    page.screenshot(path=shot("coordinator-booking-laptop.png"), full_page=True)
    # Deposit arrived by transfer: confirm, then give the video consultation its meeting link.
    page.get_by_role("button", name="Confirm: deposit received").click()
    expect(page.get_by_test_id("state")).to_have_text("Confirmed")
    booking_url = page.url
    # The dashboard now flags the confirmed video consultation that has no meeting link yet.
    page.get_by_role("link", name="My clinic").click()
    flagged = page.get_by_role("region", name=re.compile("Video consultations without a link"))
    expect(flagged).to_contain_text("Alex Rivera")
    page.screenshot(path=shot("coordinator-dashboard-laptop.png"), full_page=True)
    page.goto(booking_url)
    page.get_by_label("Video call link").fill("meet.example.org/room-1")  # no https://
    page.get_by_role("button", name="Save link").click()
    expect(page.get_by_text("starting with https://")).to_be_visible()
    expect(page.get_by_label("Video call link")).to_have_value("meet.example.org/room-1")
    page.get_by_label("Video call link").fill("https://meet.example.org/room-1")
    page.get_by_role("button", name="Save link").click()
    expect(page.get_by_text("The video link is saved and emailed to the patient")).to_be_visible()
    expect(page.get_by_test_id("message-video_link")).to_contain_text("sent")
    link_mail = [m for m in mail_sink.to("alex.rivera@example.org")
                 if "Video link for your consultation" in m["Subject"]]
    assert len(link_mail) == 1
    page.screenshot(path=shot("coordinator-booking-confirmed-laptop.png"), full_page=True)
    # The patient, back on their phone, sees the confirmation and the way into the call.
    patient_page.reload()
    expect(patient_page.get_by_test_id("state")).to_have_text("Confirmed")
    expect(patient_page.get_by_test_id("join-video")).to_have_attribute(
        "href", "https://meet.example.org/room-1")
    expect(patient_page.get_by_test_id("message-video_link")).to_be_visible()
    patient_page.screenshot(path=shot("booking-confirmed-phone.png"), full_page=True)
    assert patient_problems == [], patient_problems
    context.close()
    assert problems == [], problems
    staff.close()


PUBLIC_PAGES = ["/", "/conditions", "/conditions/degenerative-disc-disease", "/treatments",
                "/treatments/uc-msc-intradiscal-injection", "/clinics",
                "/clinics/sukhumvit-spine", "/register", "/login", "/forgot-password",
                "/no-such-page"]


@pytest.mark.parametrize("language", ["en", "th"])
def test_public_pages_have_no_serious_accessibility_violations(
        browser: Browser, live_server, demo, language, shot):
    # axe is injected as a script, which the strict CSP rightly blocks; bypass it for the audit.
    context = browser.new_context(**PHONE, bypass_csp=True)
    page = context.new_page()
    page.goto(f"{live_server}/language/{language}")
    found = {}
    for path in PUBLIC_PAGES:
        page.goto(live_server + path)
        violations = run_axe(page)
        if violations:
            found[path] = violations
    page.goto(live_server + "/treatments/uc-msc-intradiscal-injection")
    page.screenshot(path=shot(f"treatment-{language}.png"), full_page=True)
    context.close()
    assert found == {}


def test_staff_pages_have_no_serious_accessibility_violations(
        browser: Browser, live_server, demo, shot):
    context = browser.new_context(**LAPTOP, bypass_csp=True)
    page = context.new_page()
    found = {}
    for email, pages in [(demo["admin"], ["/admin/", "/admin/clinics", "/admin/treatments",
                                          "/admin/users", "/admin/exchange-rates",
                                          "/admin/audit", "/admin/holidays",
                                          "/admin/clinics/new", "/admin/outbox",
                                          "/coordinator/payments", "/account"]),
                         (demo["coordinator"], ["/coordinator/", "/coordinator/week",
                                                "/coordinator/day", "/coordinator/payments",
                                                "/coordinator/refund-policy",
                                                "/coordinator/book", "/account"])]:
        page.goto(live_server + "/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(demo["password"])
        page.get_by_role("button", name="Sign in").click()
        for path in pages:
            page.goto(live_server + path)
            violations = run_axe(page)
            if violations:
                found[path] = violations
            name = path.strip("/").replace("/", "-") or "home"
            page.screenshot(path=shot(f"staff-{name}.png"), full_page=True)
        page.get_by_role("button", name="Sign out").click()
    context.close()
    assert found == {}
