"""Slot search: plan, buffers, holidays, leave, extra hours, closures, notice and horizon, and
correct local times for patients across their DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from booking.catalogue.models import Doctor
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.scheduling import plans, services
from booking.scheduling.availability import find_slots
from booking.scheduling.models import Holiday
from tests.scheduling.helpers import ctype_for, screen, user

NOW = datetime(2027, 3, 1, tzinfo=UTC)
MONDAY = date(2027, 3, 8)


def bkk(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=CLINIC_ZONE).astimezone(UTC)


def day_slots(ctype, day: date, doctor_id: int):
    return [s.start.astimezone(CLINIC_ZONE).strftime("%H:%M") for s in find_slots(
        ctype, start=bkk(day, 0), end=bkk(day + timedelta(days=1), 0), now=NOW,
        doctor_ids=[doctor_id])]


@pytest.fixture()
def setup(ctx, demo):
    ctype = ctype_for("sukhumvit-spine", "video")  # 30 min + 10 min buffer after
    doctor = db.session.scalar(select(Doctor).where(Doctor.name == "Dr. Anan Srisuk"))
    coordinator = user("coordinator@sukhumvit-spine.example.com")
    return ctype, doctor, coordinator


def test_weekly_plan_with_buffers_gives_the_expected_slots(setup):
    ctype, doctor, _ = setup
    assert day_slots(ctype, MONDAY, doctor.id) == [
        "09:00", "09:40", "10:20", "11:00", "13:00", "13:40", "14:20", "15:00", "15:40", "16:20"]
    assert day_slots(ctype, MONDAY + timedelta(days=5), doctor.id) == [
        "09:00", "09:40", "10:20", "11:00"]  # Saturday morning only
    assert day_slots(ctype, MONDAY + timedelta(days=6), doctor.id) == []  # Sunday


def test_holidays_leave_closures_and_extra_hours(setup):
    ctype, doctor, coordinator = setup
    db.session.add(Holiday(day=MONDAY, name="Test holiday"))
    tuesday, wednesday, thursday = (MONDAY + timedelta(days=n) for n in (1, 2, 3))
    plans.add_exception(coordinator, clinic_id=doctor.clinic_id, doctor_id=doctor.id,
                           kind="leave", starts_at=bkk(tuesday, 0), ends_at=bkk(tuesday, 23))
    plans.add_exception(coordinator, clinic_id=doctor.clinic_id, doctor_id=None,
                           kind="block", starts_at=bkk(wednesday, 13), ends_at=bkk(wednesday, 17))
    plans.add_exception(coordinator, clinic_id=doctor.clinic_id, doctor_id=doctor.id,
                           kind="extra", starts_at=bkk(thursday, 18), ends_at=bkk(thursday, 19))
    db.session.flush()
    assert day_slots(ctype, MONDAY, doctor.id) == []
    assert day_slots(ctype, tuesday, doctor.id) == []
    assert day_slots(ctype, wednesday, doctor.id) == ["09:00", "09:40", "10:20", "11:00"]
    assert day_slots(ctype, thursday, doctor.id)[-1] == "18:00"


def test_a_booking_takes_its_time_and_buffers(setup):
    ctype, doctor, _ = setup
    patient = user("patient@example.com")
    services.place_hold(patient, patient=patient, ctype=ctype, doctor_id=doctor.id,
                        start=bkk(MONDAY, 9, 40), now=NOW)
    assert "09:40" not in day_slots(ctype, MONDAY, doctor.id)
    assert day_slots(ctype, MONDAY, doctor.id)[:3] == ["09:00", "10:20", "11:00"]


def test_notice_and_horizon_limit_the_window(setup):
    ctype, doctor, _ = setup
    soon = find_slots(ctype, start=NOW, end=NOW + timedelta(days=3), now=NOW,
                      doctor_ids=[doctor.id])
    assert soon and min(s.start for s in soon) >= NOW + timedelta(hours=24)
    late = find_slots(ctype, start=NOW + timedelta(days=119), end=NOW + timedelta(days=130),
                      now=NOW, doctor_ids=[doctor.id])
    assert late and max(s.start for s in late) <= NOW + timedelta(days=120)


def test_plan_change_lists_bookings_it_no_longer_covers(setup):
    ctype, doctor, coordinator = setup
    patient = user("patient@example.com")
    booking = services.place_hold(patient, patient=patient, ctype=ctype, doctor_id=doctor.id,
                                  start=bkk(MONDAY, 15), now=NOW)
    mornings_only = [(day, time(9), time(12)) for day in range(5)]
    outside = plans.set_weekly_plan(coordinator, doctor, mornings_only)
    assert [b.id for b in outside] == [booking.id]
    assert booking.state == "held"  # kept for the coordinator to handle, never silently dropped
    assert day_slots(ctype, MONDAY, doctor.id) == ["09:00", "09:40", "10:20", "11:00"]


@pytest.mark.parametrize(("zone", "before_day", "after_day", "offsets", "local_hours"), [
    # New York springs forward on 14 March 2027: EST (-5) → EDT (-4).
    ("America/New_York", date(2027, 3, 12), date(2027, 3, 15), ("-05:00", "-04:00"), (21, 22)),
    # Sydney falls back on 4 April 2027: AEDT (+11) → AEST (+10).
    ("Australia/Sydney", date(2027, 4, 2), date(2027, 4, 5), ("+11:00", "+10:00"), (13, 12)),
    # Sydney springs forward on 3 October 2027: AEST (+10) → AEDT (+11).
    ("Australia/Sydney", date(2027, 10, 1), date(2027, 10, 4), ("+10:00", "+11:00"), (12, 13)),
])
def test_api_shows_local_times_correctly_across_dst(client, app, demo, zone, before_day,
                                                    after_day, offsets, local_hours):
    with app.app_context():
        ctype = ctype_for("sukhumvit-spine", "video")
        ctype.horizon_days = 400
        ctype_id = ctype.id
        db.session.commit()
    for day, offset, hour in zip((before_day, after_day), offsets, local_hours, strict=True):
        response = client.get("/api/v1/availability", query_string={
            "consultation_type": ctype_id, "tz": zone,
            "from": bkk(day, 0).isoformat(), "to": bkk(day, 12).isoformat()})
        assert response.status_code == 200, response.json
        first = response.json["slots"][0]
        # 09:00 in Bangkok is always 02:00 UTC; only the patient's wall clock moves.
        assert first["start"] == f"{day.isoformat()}T02:00:00Z"
        assert first["start_bangkok"] == f"{day.isoformat()}T09:00:00+07:00"
        assert first["start_local"].endswith(offset)
        assert datetime.fromisoformat(first["start_local"]).hour == hour


def test_slot_page_spells_out_the_patients_time_and_bangkok_time(as_role, app):
    with app.app_context():
        ctype_id = ctype_for("sukhumvit-spine", "video").id
        screen()
    client = as_role("patient")  # demo patient lives in America/New_York
    html = client.get(f"/book/{ctype_id}?week=2027-03-11").get_data(as_text=True)
    assert "Thursday, March 11, 2027" in html
    assert "9:00\u202fPM" in html or "9:00 PM" in html  # 09:00 Bangkok on the 12th
    assert "Bangkok 9:00\u202fAM" in html or "Bangkok 9:00 AM" in html
    sydney = client.get(f"/book/{ctype_id}?week=2027-03-11&tz=Australia/Sydney").get_data(
        as_text=True)
    assert "1:00\u202fPM" in sydney or "1:00 PM" in sydney


@pytest.mark.parametrize(("zone", "repeated"), [
    ("Asia/Bangkok", False), ("Asia/Jakarta", False),  # the same clock as Bangkok
    ("America/New_York", True), ("Asia/Tokyo", True)])
def test_bangkok_time_is_shown_beside_a_slot_only_where_it_differs(as_role, app, zone,
                                                                   repeated):
    with app.app_context():
        ctype_id = ctype_for("sukhumvit-spine", "video").id
        screen()
    html = as_role("patient").get(f"/book/{ctype_id}?week=2027-03-11&tz={zone}").get_data(
        as_text=True)
    slots = html.count('class="btn btn-outline-primary slot-button')
    assert slots > 0
    assert html.count('data-testid="bangkok-time"') == (slots if repeated else 0)
    note = html[html.index('data-testid="zone-note"'):][:200]
    assert ("and yours" in note) is (zone == "Asia/Bangkok")
