"""The coordinator's calendar grid: entries where they fall in Bangkok time, holds with their
expiry, leave beside bookings with the conflict marked, working hours behind, and the same
number of queries however many bookings the week holds."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import event, select

from booking.catalogue.models import Doctor
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.scheduling import grid
from booking.scheduling.models import Booking, ScheduleException
from tests.scheduling.helpers import first_free, hold, user


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=CLINIC_ZONE).astimezone(UTC)


def test_layout_places_rows_lanes_and_conflicts():
    day = date(2027, 3, 9)
    booking = Booking(reference="SB-T", state="confirmed", doctor_id=1,
                      starts_at=_at(day, 9, 30), ends_at=_at(day, 10))
    leave = ScheduleException(kind="leave", doctor_id=1, starts_at=_at(day, 9),
                              ends_at=_at(day, 12))
    column = grid.Column(day=day, title="Dr A", doctor_id=1)
    built = grid.build([column], [booking], [leave], {(day, 1): [(_at(day, 9), _at(day, 17))]})
    assert (built.first_hour, built.last_hour, built.rows) == (8, 18, 40)
    entries = {e.kind: e for e in built.columns[0].entries}
    assert (entries["booking"].row, entries["booking"].span) == (7, 2)  # 09:30, 30 minutes
    assert (entries["leave"].row, entries["leave"].span) == (5, 12)
    assert entries["booking"].conflict and built.columns[0].lanes == 2
    assert entries["booking"].lane != entries["leave"].lane
    assert (entries["work"].row, entries["work"].span) == (5, 32)
    early = Booking(reference="SB-E", state="held", doctor_id=1, starts_at=_at(day, 6, 45),
                    ends_at=_at(day, 7, 15))
    widened = grid.build([grid.Column(day=day, title="Dr A", doctor_id=1)], [early], [], {})
    assert widened.first_hour == 6 and widened.columns[0].entries[0].row == 4


def test_day_grid_shows_the_hold_with_its_expiry_and_links_to_it(as_role, app):
    with app.app_context():
        booking = hold()
        day = booking.starts_at.astimezone(CLINIC_ZONE).date()
        ref, booking_id = booking.reference, booking.id
        ends = booking.hold_expires_at.astimezone(CLINIC_ZONE)
    html = as_role("coordinator").get(f"/coordinator/day?date={day}").get_data(as_text=True)
    entry = re.search(rf'<a class="cal-entry cal-booking state-held[^"]*"\s+'
                      rf'href="/bookings/{booking_id}" data-testid="cal-{ref}"', html)
    assert entry, "the hold is on the grid and opens the booking"
    hour = ends.strftime("%-I:%M")
    assert f"Hold until {hour}" in html


def test_week_grid_queries_do_not_grow_with_bookings(as_role, app):
    coordinator = as_role("coordinator")
    with app.app_context():
        first = hold()
        monday = first.starts_at.astimezone(CLINIC_ZONE).date()
        monday -= timedelta(days=monday.weekday())
    path = f"/coordinator/week?start={monday}"
    coordinator.get(path)

    def count() -> int:
        seen = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args, **kwargs: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert coordinator.get(path).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    few = count()
    with app.app_context():
        patient = user("patient2@example.com")
        doctor = db.session.scalar(select(Doctor).where(Doctor.clinic_id == first.clinic_id))
        rows = [{"reference": f"SB-Q{n:05d}", "patient_id": patient.id,
                 "clinic_id": first.clinic_id, "doctor_id": doctor.id,
                 "consultation_type_id": first.consultation_type_id, "state": "completed",
                 "starts_at": _at(monday + timedelta(days=n % 7), 0) + timedelta(minutes=n),
                 "ends_at": _at(monday + timedelta(days=n % 7), 0) + timedelta(minutes=n + 1),
                 "blocked_from": _at(monday + timedelta(days=n % 7), 0) + timedelta(minutes=n),
                 "blocked_until": _at(monday + timedelta(days=n % 7), 0)
                 + timedelta(minutes=n + 1),
                 "patient_timezone": "UTC", "deposit_minor": 1, "currency": "THB",
                 "cancel_reason": "", "created_at": _at(monday, 0), "updated_at": _at(monday, 0)}
                for n in range(200)]
        db.session.execute(Booking.__table__.insert(), rows)
        db.session.commit()
    coordinator.get(path + "&all=1")
    many_path = path + "&all=1"
    path = many_path
    assert count() <= few + 1  # the same queries, whatever the week holds


def test_a_busy_week_of_all_doctors_is_counted_per_hour(as_role, app):
    with app.app_context():
        first = hold()
        monday = first.starts_at.astimezone(CLINIC_ZONE).date()
        monday -= timedelta(days=monday.weekday())
        patient = user("patient2@example.com")
        rows = [{"reference": f"SB-B{n:05d}", "patient_id": patient.id,
                 "clinic_id": first.clinic_id, "doctor_id": first.doctor_id,
                 "consultation_type_id": first.consultation_type_id, "state": "completed",
                 "starts_at": _at(monday, 10) + timedelta(minutes=n // 10),
                 "ends_at": _at(monday, 10) + timedelta(minutes=n // 10 + 1),
                 "blocked_from": _at(monday, 10), "blocked_until": _at(monday, 11),
                 "patient_timezone": "UTC", "deposit_minor": 1, "currency": "THB",
                 "cancel_reason": "", "created_at": _at(monday, 0), "updated_at": _at(monday, 0)}
                for n in range(320)]
        db.session.execute(Booking.__table__.insert(), rows)
        db.session.commit()
        doctor_id = first.doctor_id
    coordinator = as_role("coordinator")
    html = coordinator.get(f"/coordinator/week?start={monday}&all=1").get_data(as_text=True)
    assert 'data-testid="by-hour"' in html and "320 bookings" in html
    assert "SB-B00001" not in html
    one = coordinator.get(f"/coordinator/week?start={monday}&all=1&doctor={doctor_id}")
    assert 'data-testid="cal-SB-B00001"' in one.get_data(as_text=True)  # one doctor: each


def test_moving_from_the_calendar_asks_first_then_uses_the_reschedule_rule(as_role, app,
                                                                           mail_sink):
    from tests.conftest import csrf_token

    with app.app_context():
        booking = hold(confirm=True)
        booking_id, old_start = booking.id, booking.starts_at
        free = first_free(booking.consultation_type, after=booking.starts_at + timedelta(days=1),
                          doctor_id=booking.doctor_id)
        new_local = free.start.astimezone(CLINIC_ZONE)
        day, clock = new_local.date(), new_local.strftime("%H:%M")
    coordinator = as_role("coordinator")
    html = coordinator.get(f"/coordinator/day?date={old_start.astimezone(CLINIC_ZONE).date()}")
    assert f'data-move="/coordinator/bookings/{booking_id}/move"' in html.get_data(as_text=True)
    target = f"/coordinator/bookings/{booking_id}/move?start={day}T{clock}"
    page = coordinator.get(target)
    assert page.status_code == 200 and "is emailed the new time" in page.get_data(as_text=True)
    with app.app_context():  # a GET never moves anything
        assert db.session.get(Booking, booking_id).starts_at == old_start
    token = csrf_token(coordinator, target)
    moved = coordinator.post(f"/coordinator/bookings/{booking_id}/move",
                             data={"csrf_token": token, "start": f"{day}T{clock}"})
    assert moved.status_code == 302, moved.get_data(as_text=True)[:300]
    with app.app_context():
        now_at = db.session.get(Booking, booking_id).starts_at.astimezone(CLINIC_ZONE)
        assert (now_at.date(), now_at.strftime("%H:%M")) == (day, clock)
    # A time the doctor does not work is refused by the same rule, with the reason.
    refused = coordinator.post(f"/coordinator/bookings/{booking_id}/move",
                               data={"csrf_token": token, "start": f"{day}T03:00"})
    assert refused.status_code == 409
    assert 'data-testid="move-refused"' in refused.get_data(as_text=True)
    other = as_role("other_coordinator").get(target)
    assert other.status_code == 404
    # Another clinic's doctor is never offered: the move stays with the booking's own doctor.
    with app.app_context():
        foreign = db.session.scalar(select(Doctor.id).where(
            Doctor.clinic_id != db.session.get(Booking, booking_id).clinic_id))
        own = db.session.get(Booking, booking_id).doctor.name
        foreign_name = db.session.get(Doctor, foreign).name
    page = coordinator.get(f"{target}&doctor={foreign}").get_data(as_text=True)
    assert own in page and foreign_name not in page
