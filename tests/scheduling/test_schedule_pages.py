"""Coordinators manage plans, exceptions and holidays from the schedule page."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from booking.catalogue.models import Doctor
from booking.core.audit import AuditEvent
from booking.core.errors import NotAllowed
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.scheduling import plans, services
from booking.scheduling.models import Holiday, ScheduleException, WorkingInterval
from tests.conftest import post_form
from tests.scheduling.helpers import hold, user

COORDINATOR = "coordinator@sukhumvit-spine.example.com"
WEEK = {day: "09:00-12:00, 13:00-17:00" for day in ("mon", "tue", "wed", "thu", "fri")}


def _doctor_id(app, name="Dr. Anan Srisuk") -> int:
    with app.app_context():
        return db.session.scalar(select(Doctor.id).where(Doctor.name == name))


def test_schedule_page_shows_the_plan_in_bangkok_time(as_role):
    html = as_role("coordinator").get("/coordinator/schedule").get_data(as_text=True)
    assert "Dr. Anan Srisuk" in html and "09:00-12:00, 13:00-17:00" in html
    assert "Dr. Somchai" not in html  # another clinic's doctor


def test_editing_a_plan_lists_bookings_it_no_longer_covers(as_role, app):
    with app.app_context():
        booking = hold(confirm=True)
        doctor_id, reference = booking.doctor_id, booking.reference
    coordinator = as_role("coordinator")
    form = {day: "" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    response = post_form(coordinator, f"/coordinator/doctors/{doctor_id}/plan",
                         {**form, "mon": "10:00-11:00"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and reference in html
    assert "outside the working hours" in html
    with app.app_context():
        rows = db.session.scalars(select(WorkingInterval).where(
            WorkingInterval.doctor_id == doctor_id)).all()
        assert [(r.weekday, str(r.start_time), str(r.end_time)) for r in rows] == [
            (0, "10:00:00", "11:00:00")]
        assert db.session.scalar(select(AuditEvent.action).where(
            AuditEvent.action == "schedule.plan_replaced"))


def test_bad_plan_text_is_explained_and_kept(as_role, app):
    doctor_id = _doctor_id(app)
    response = post_form(as_role("coordinator"), f"/coordinator/doctors/{doctor_id}/plan",
                         {"mon": "9 to 5", "tue": "13:00-12:00", "wed": "09:00-12:00"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'value="9 to 5"' in html and "Write times like" in html


def test_other_clinics_doctors_are_out_of_reach(as_role, app):
    doctor_id = _doctor_id(app, "Dr. Somchai Wattanakul")
    assert as_role("coordinator").get(f"/coordinator/doctors/{doctor_id}/plan").status_code == 404


def test_leave_closure_and_holiday_round_trip(as_role, app):
    coordinator = as_role("coordinator")
    doctor_id = _doctor_id(app)
    leave = post_form(coordinator, "/coordinator/exceptions", {
        "exc-doctor_id": str(doctor_id), "exc-kind": "leave",
        "exc-starts_at": "2027-02-01T00:00", "exc-ends_at": "2027-02-05T23:59",
        "exc-note": "Conference"}, token_from="/coordinator/schedule")
    assert leave.status_code == 302
    backwards = post_form(coordinator, "/coordinator/exceptions", {
        "exc-doctor_id": "0", "exc-kind": "block", "exc-starts_at": "2027-02-10T12:00",
        "exc-ends_at": "2027-02-10T09:00"}, token_from="/coordinator/schedule")
    assert backwards.status_code == 422
    assert "The end must be after the start." in backwards.get_data(as_text=True)
    # Public holidays close every clinic: an admin's list, which a coordinator only reads.
    holiday = post_form(coordinator, "/coordinator/holidays", {
        "holiday-day": "2027-02-15", "holiday-name": "Clinic anniversary"},
        token_from="/coordinator/schedule")
    assert holiday.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Holiday.name).where(
            Holiday.name == "Clinic anniversary")) is None
        with pytest.raises(NotAllowed):
            plans.add_holiday(user(COORDINATOR), date(2027, 2, 15), "Clinic anniversary")
        plans.add_holiday(user("admin@example.com"), date(2027, 2, 15), "Clinic anniversary")
        db.session.commit()
    assert "Clinic anniversary" in coordinator.get("/coordinator/schedule").get_data(as_text=True)
    with app.app_context():
        exc = db.session.scalar(select(ScheduleException))
        # 00:00 in Bangkok is 17:00 UTC the day before.
        assert exc.starts_at.isoformat() == "2027-01-31T17:00:00+00:00"
        assert exc.note == "Conference"
        assert db.session.scalar(select(Holiday.name).where(Holiday.name == "Clinic anniversary"))
        exc_id = exc.id
    removed = post_form(coordinator, f"/coordinator/exceptions/{exc_id}/delete", {},
                        token_from="/coordinator/schedule")
    assert removed.status_code == 302
    with app.app_context():
        assert db.session.get(ScheduleException, exc_id) is None
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"schedule.leave_added", "schedule.leave_removed", "holiday.added"} <= actions


def test_week_view_shows_leave_and_holidays_beside_bookings(as_role, app):
    coordinator = as_role("coordinator")
    doctor_id = _doctor_id(app)
    post_form(coordinator, "/coordinator/exceptions", {
        "exc-doctor_id": str(doctor_id), "exc-kind": "leave",
        "exc-starts_at": "2027-03-09T09:00", "exc-ends_at": "2027-03-09T12:00"},
        token_from="/coordinator/schedule")
    with app.app_context():
        plans.add_holiday(user("admin@example.com"), date(2027, 3, 10), "Staff day")
        db.session.commit()
    html = coordinator.get("/coordinator/week?start=2027-03-08").get_data(as_text=True)
    assert 'data-testid="cal-leave"' in html and "Leave · Dr. Anan Srisuk" in html
    assert "Holiday: Staff day" in html
    # With the doctor chosen, their leave and working hours are in their own column.
    doctor_week = coordinator.get(f"/coordinator/week?start=2027-03-08&doctor={doctor_id}")
    page = doctor_week.get_data(as_text=True)
    assert 'class="cal-work' in page and 'data-testid="cal-leave"' in page


def test_day_view_lists_each_doctors_bookings_with_the_patients_own_time(as_role, app):
    with app.app_context():
        booking = hold()
        from booking.core.zones import CLINIC_ZONE

        day = booking.starts_at.astimezone(CLINIC_ZONE).date().isoformat()
    html = as_role("coordinator").get(f"/coordinator/day?date={day}").get_data(as_text=True)
    assert "Jane Miller" in html and ("Patient's time" in html or "Patient&#39;s time" in html)
    assert "Dr. Malee Chaiyaporn" in html  # every doctor of the clinic has a column


def test_saving_a_plan_that_still_covers_every_booking_says_it_is_saved(as_role, app):
    """The loop variable `_` once shadowed gettext here, so this answered 500."""
    with app.app_context():
        booking = hold(confirm=True)
        doctor_id = booking.doctor_id
    coordinator = as_role("coordinator")
    plan = {**WEEK, "sat": "09:00-12:00"}
    saved = post_form(coordinator, f"/coordinator/doctors/{doctor_id}/plan", plan)
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/coordinator/schedule")
    assert "is saved" in coordinator.get("/coordinator/schedule").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(WorkingInterval.id).where(
            WorkingInterval.doctor_id == doctor_id, WorkingInterval.weekday == 5)) is not None


@pytest.mark.parametrize("who", ["doctor", "clinic"])
def test_leave_or_a_closure_over_a_confirmed_booking_lists_it(as_role, app, who):
    with app.app_context():
        booking = hold(confirm=True)
        local = booking.starts_at.astimezone(CLINIC_ZONE)
        doctor_id, reference = booking.doctor_id, booking.reference
    coordinator = as_role("coordinator")
    response = post_form(coordinator, "/coordinator/exceptions", {
        "exc-doctor_id": str(doctor_id) if who == "doctor" else "0", "exc-kind": "leave",
        "exc-starts_at": local.replace(hour=0, minute=0).strftime("%Y-%m-%dT%H:%M"),
        "exc-ends_at": local.replace(hour=23, minute=59).strftime("%Y-%m-%dT%H:%M")},
        token_from="/coordinator/schedule")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "1 booking falls in this time" in html and reference in html
    with app.app_context():  # saved, and the booking is kept for the coordinator to handle
        assert db.session.scalar(select(ScheduleException.id)) is not None
        assert services.get_booking(user(COORDINATOR), booking.id).state == "confirmed"


def test_leave_where_no_booking_falls_just_says_saved(as_role, app):
    coordinator = as_role("coordinator")
    response = post_form(coordinator, "/coordinator/exceptions", {
        "exc-doctor_id": str(_doctor_id(app)), "exc-kind": "leave",
        "exc-starts_at": "2027-05-03T09:00", "exc-ends_at": "2027-05-03T12:00"},
        token_from="/coordinator/schedule")
    assert response.status_code == 302
    assert "No booking falls in that time" in coordinator.get(
        "/coordinator/schedule").get_data(as_text=True)


@pytest.mark.parametrize("query", ["start=0001-01-01", "start=9999-12-31", "start=2027-13-01"])
def test_week_view_refuses_dates_out_of_range_with_422(as_role, query):
    response = as_role("coordinator").get(f"/coordinator/week?{query}")
    assert response.status_code == 422


def test_plan_input_accepts_what_people_type_and_names_the_wrong_part(as_role, app):
    doctor_id = _doctor_id(app)
    coordinator = as_role("coordinator")
    path = f"/coordinator/doctors/{doctor_id}/plan"
    saved = post_form(coordinator, path, {"mon": "9-12, 1pm-5:30pm", "tue": "9am to 12.30pm",
                                          "wed": "08:00 – 11:00; 14-18"})
    assert saved.status_code in (200, 302)
    with app.app_context():
        rows = db.session.scalars(select(WorkingInterval).where(
            WorkingInterval.doctor_id == doctor_id).order_by(
            WorkingInterval.weekday, WorkingInterval.start_time)).all()
        assert [(r.weekday, f"{r.start_time:%H:%M}", f"{r.end_time:%H:%M}") for r in rows] == [
            (0, "09:00", "12:00"), (0, "13:00", "17:30"), (1, "09:00", "12:30"),
            (2, "08:00", "11:00"), (2, "14:00", "18:00")]
    # Shown again the way the page writes plans.
    assert 'value="09:00-12:00, 13:00-17:30"' in coordinator.get(path).get_data(as_text=True)
    refused = post_form(coordinator, path, {"mon": "9-12, 11-13", "tue": "25-26",
                                            "wed": "13pm-2pm"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "“9-12, 11-13”: these overlap." in page and 'value="9-12, 11-13"' in page
    assert "“25-26”: that is not a time of day." in page
    assert "“13pm-2pm”: with am or pm the hour is 1 to 12." in page


def test_a_huge_or_pathological_plan_is_refused_at_once(as_role, app):
    """100 KB in a day's field (spaces between digits would make the pattern backtrack for
    minutes) is answered 422 with the text kept, not a hung worker."""
    doctor_id = _doctor_id(app)
    huge = "9" + " " * 100_000 + "x"
    response = post_form(as_role("coordinator"), f"/coordinator/doctors/{doctor_id}/plan",
                         {"mon": huge, "tue": "9-12"})
    assert response.status_code == 422
    assert "write a start and an end" in response.get_data(as_text=True)
