"""Signed-in pages kept per sign-in (booking/core/personal_pages.py) and sign-ins read without
SQL: both only while nothing in the database changed. Every write, from any path, shows on the
next request; a sign-out or a suspension stops the very next one."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
import redis
from sqlalchemy import select, text, update

from booking.accounts import services as accounts
from booking.catalogue.models import Doctor
from booking.core import personal_pages
from booking.extensions import db
from tests.conftest import bump_in_another_process, login, post_form, sql_statements
from tests.scheduling.helpers import hold, screen, user

pytestmark = pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"),
                                reason="the write generation lives in Redis")


def test_a_repeated_page_runs_no_sql_and_a_new_hold_shows_at_once(as_role, app):
    coordinator = as_role("coordinator")
    first = coordinator.get("/coordinator/")
    assert first.status_code == 200 and "No holds are waiting" in first.get_data(as_text=True)
    with sql_statements(app) as seen:
        again = coordinator.get("/coordinator/")
    assert again.status_code == 200 and seen == []  # neither the sign-in nor the page read
    assert again.get_data() == first.get_data()
    assert again.headers["Cache-Control"] == "no-store"
    with app.app_context():  # a write from outside any request (as a worker's would be)
        screen("patient2@example.com")
        booking = hold("patient2@example.com")
        ref = booking.reference
    page = coordinator.get("/coordinator/").get_data(as_text=True)
    assert f"waiting-{ref}" in page and "No holds are waiting" not in page


def test_a_core_statement_counts_as_a_write(as_role, app):
    coordinator = as_role("coordinator")
    assert "Dr. Renamed Person" not in coordinator.get("/coordinator/week").get_data(as_text=True)
    with app.app_context():
        clinic_id = user("coordinator@sukhumvit-spine.example.com").clinic_id
        db.session.execute(update(Doctor).where(Doctor.clinic_id == clinic_id)
                           .values(name="Dr. Renamed Person"))
        db.session.commit()
    assert "Dr. Renamed Person" in coordinator.get("/coordinator/week").get_data(as_text=True)
    with app.app_context():  # and plain SQL through a bare connection
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE doctor SET name = 'Dr. Plain Statement' "
                              "WHERE clinic_id = :c"), {"c": clinic_id})
    assert "Dr. Plain Statement" in coordinator.get("/coordinator/week").get_data(as_text=True)


def test_a_write_committed_by_another_process_shows_within_moments(as_role, app, monkeypatch):
    """Another process (a worker, the other web server) commits and moves the generation; this
    process knows the generation without asking Redis each request, and is told it moved."""
    now = personal_pages.utcnow()
    monkeypatch.setattr(personal_pages, "utcnow", lambda: now)  # no new minute mid-test
    coordinator = as_role("coordinator")
    coordinator.get("/coordinator/week")
    with app.app_context():
        clinic_id = user("coordinator@sukhumvit-spine.example.com").clinic_id
        raw = db.engine.raw_connection()  # not this process's engine events: as elsewhere
        try:
            raw.cursor().execute("UPDATE doctor SET name = 'Dr. Elsewhere' WHERE clinic_id = "
                                 + str(int(clinic_id)))
            raw.commit()
        finally:
            raw.close()
    assert "Dr. Elsewhere" not in coordinator.get("/coordinator/week").get_data(as_text=True)
    bump_in_another_process(app.config["REDIS_URL"], personal_pages.GENERATION_KEY, "set",
                            "moved-elsewhere")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and "Dr. Elsewhere" not in (
            page := coordinator.get("/coordinator/week").get_data(as_text=True)):
        time.sleep(0.01)
    assert "Dr. Elsewhere" in page


def test_reading_moves_nothing_and_a_rolled_back_write_moves_nothing(as_role, app):
    coordinator = as_role("coordinator")
    coordinator.get("/coordinator/")
    with app.app_context():
        stored = redis.Redis.from_url(app.config["REDIS_URL"])
        before = stored.get(personal_pages.GENERATION_KEY)
        db.session.scalars(select(Doctor)).all()
        db.session.commit()  # a read-only transaction
        db.session.execute(update(Doctor).values(name="Never"))
        db.session.rollback()
        after = stored.get(personal_pages.GENERATION_KEY)
    assert before == after
    with sql_statements(app) as seen:
        coordinator.get("/coordinator/")
    assert seen == []


def test_sign_out_and_suspension_stop_the_next_request(app, demo):
    laptop, phone = app.test_client(), app.test_client()
    for device in (laptop, phone):
        assert login(device, demo["coordinator"], demo["password"]).status_code == 302
        assert device.get("/coordinator/week").status_code == 200
        assert device.get("/coordinator/week").status_code == 200  # now kept
    # Signing out the laptop leaves the phone signed in, and the laptop out.
    assert post_form(laptop, "/logout", {}, token_from="/coordinator/week").status_code == 302
    assert laptop.get("/coordinator/week").status_code == 302
    assert phone.get("/coordinator/week").status_code == 200
    with app.app_context():
        accounts.set_active(user(demo["admin"]), user(demo["coordinator"]), False)
        db.session.commit()
    answer = phone.get("/coordinator/week")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_a_changed_role_and_name_show_on_the_next_request(app, demo, as_role):
    patient = as_role("patient")
    assert patient.get("/bookings").status_code == 200
    assert patient.get("/bookings").status_code == 200
    with app.app_context():
        user(demo["patient"]).name = "Jane Renamed"
        db.session.commit()
    page = patient.get("/bookings").get_data(as_text=True)
    assert "Jane Renamed" in page
    with app.app_context():
        user(demo["patient"]).role = "admin"
        db.session.commit()
    assert patient.get("/bookings").status_code == 403  # a patient's page, no longer theirs


def test_each_person_and_session_gets_their_own_page(as_role, app, demo):
    ours, theirs = as_role("coordinator"), as_role("other_coordinator")
    with app.app_context():
        screen()
        ref = hold().reference  # at the first clinic
    for _ in range(2):
        assert f"waiting-{ref}" in ours.get("/coordinator/").get_data(as_text=True)
        assert f"waiting-{ref}" not in theirs.get("/coordinator/").get_data(as_text=True)
    # Another language chosen in the session is another page.
    english = ours.get("/coordinator/").get_data(as_text=True)
    ours.get("/language/th?next=/coordinator/")
    thai = ours.get("/coordinator/").get_data(as_text=True)
    assert 'lang="th"' in thai and 'lang="en"' in english


def test_a_waiting_message_is_shown_not_cached(as_role, app):
    coordinator = as_role("coordinator")
    coordinator.get("/coordinator/")
    with coordinator.session_transaction() as session:
        session["_flashes"] = [("success", "Saved a thing")]
    assert "Saved a thing" in coordinator.get("/coordinator/").get_data(as_text=True)
    assert "Saved a thing" not in coordinator.get("/coordinator/").get_data(as_text=True)


def test_a_new_minute_builds_the_page_again(as_role, app, monkeypatch):
    coordinator = as_role("coordinator")
    coordinator.get("/coordinator/")
    later = personal_pages.utcnow() + timedelta(minutes=1)
    monkeypatch.setattr(personal_pages, "utcnow", lambda: later)
    with sql_statements(app) as seen:
        assert coordinator.get("/coordinator/").status_code == 200
    assert seen  # read again


def test_without_redis_nothing_is_kept(as_role, app, monkeypatch):
    coordinator = as_role("coordinator")
    monkeypatch.setitem(app.config, "PERSONAL_PAGE_CACHE", False)
    coordinator.get("/coordinator/")
    with sql_statements(app) as seen:
        assert coordinator.get("/coordinator/").status_code == 200
    assert seen


def test_a_page_that_shows_a_message_as_it_is_built_is_not_kept(app, demo, tmp_path):
    from flask import flash, get_flashed_messages

    from booking import create_app
    from booking.core.policy import coordinator_required
    from tests.conftest import make_config

    other = create_app(make_config(str(tmp_path), SQLALCHEMY_DATABASE_URI=app.config[
        "SQLALCHEMY_DATABASE_URI"], ENCRYPTION_KEYS=app.config["ENCRYPTION_KEYS"]))
    shown = iter(range(1000))

    @other.get("/noted")
    @coordinator_required
    @personal_pages.personal_page
    def noted():
        if next(shown) == 0:
            flash("Only once")
        return f"{get_flashed_messages()} {next(shown)}"

    client = other.test_client()
    assert login(client, demo["coordinator"], demo["password"]).status_code == 302
    first = client.get("/noted").get_data(as_text=True)
    second = client.get("/noted").get_data(as_text=True)
    third = client.get("/noted").get_data(as_text=True)
    assert "Only once" in first and "Only once" not in second
    assert third == second  # an ordinary page is kept


def test_a_kept_page_ends_with_its_sign_in(app, as_role, monkeypatch):
    import time

    from booking.accounts.models import LoginSession

    coordinator = as_role("coordinator")
    with app.app_context():
        created = db.session.scalar(select(LoginSession.created_at))
    monkeypatch.setitem(app.config, "REMEMBER_COOKIE_DURATION",
                        personal_pages.utcnow() - created + timedelta(seconds=2))
    assert coordinator.get("/coordinator/").status_code == 200  # kept until the age limit
    time.sleep(2.5)
    answer = coordinator.get("/coordinator/")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_a_kept_page_is_only_ever_served_to_its_own_session(app, as_role, demo):
    coordinator = as_role("coordinator")
    assert coordinator.get("/coordinator/").status_code == 200
    # The same page for someone signed in as a patient, or not at all, is refused as before.
    patient = as_role("patient")
    assert patient.get("/coordinator/").status_code == 403
    stranger = app.test_client()
    assert stranger.get("/coordinator/").status_code == 302
