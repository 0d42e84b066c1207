"""Every state change under concurrent requests: ten at once apply it once, the rest get a
clean 409, and nothing is sent twice. Each thread is its own client and database connection."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from booking.accounts import services as accounts
from booking.core.audit import AuditEvent
from booking.extensions import db
from booking.notifications.models import OutboxMessage
from booking.scheduling import plans
from booking.scheduling.models import Booking, BookingConsent, BookingEvent
from tests.conftest import csrf_token, login
from tests.scheduling.helpers import ctype_for, first_free, hold, user

TIMES = 10


def at_once(count: int, request: Callable[[int], object]) -> list:
    """Run `request(i)` in `count` threads released together; their results, in any order."""
    barrier = threading.Barrier(count)
    results: list = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        result = request(i)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == count, "a request hung"
    return results


def signed_in_clients(app, email: str, password: str, count: int):
    """`count` clients sharing one signed-in browser session (a double-click, many tabs)."""
    first = app.test_client()
    assert login(first, email, password).status_code == 302
    token = csrf_token(first, "/")
    clients = []
    for _ in range(count):
        c = app.test_client()
        for name in ("session", "remember_token"):
            cookie = first.get_cookie(name)
            if cookie is not None:
                c.set_cookie(name, cookie.value)
        clients.append(c)
    return clients, token


def bearer(app, email: str) -> dict:
    with app.app_context():
        token = accounts.create_api_token(user(email))
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def messages(booking_id: int) -> Counter:
    return Counter(db.session.scalars(select(OutboxMessage.kind).where(
        OutboxMessage.about("booking", booking_id))))


def test_ten_simultaneous_confirms_confirm_once_and_send_once(app, demo):
    with app.app_context():
        booking_id = hold(consented=True).id
    clients, token = signed_in_clients(app, demo["coordinator"], demo["password"], TIMES)
    statuses = at_once(TIMES, lambda i: clients[i].post(
        f"/coordinator/bookings/{booking_id}/confirm", data={"csrf_token": token}).status_code)
    assert statuses == [302] * TIMES  # each one back to the booking page, none a 500
    with app.app_context():
        assert db.session.get(Booking, booking_id).state == "confirmed"
        assert count(BookingEvent, BookingEvent.booking_id == booking_id,
                     BookingEvent.to_state == "confirmed") == 1
        assert count(AuditEvent, AuditEvent.action == "booking.confirmed") == 1
        sent = messages(booking_id)
        assert sent["booking_confirmed"] == 1
        assert 1 <= sent["reminder"] <= 4  # one set of reminders, not one per request
    page = clients[0].get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Confirm: deposit received" not in page


def test_ten_simultaneous_cancels_answer_one_200_and_nine_409(app, demo):
    with app.app_context():
        booking_id = hold(confirm=True).id
    headers = bearer(app, demo["patient"])
    responses = at_once(TIMES, lambda i: app.test_client().post(
        f"/api/v1/bookings/{booking_id}/cancel", headers=headers, json={"reason": f"try {i}"}))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * (TIMES - 1)
    refused = [r.json for r in responses if r.status_code == 409]
    assert all(body["error"]["code"] == "already_done" for body in refused)
    assert all("already cancelled" in body["error"]["message"] for body in refused)
    with app.app_context():
        assert count(BookingEvent, BookingEvent.booking_id == booking_id,
                     BookingEvent.to_state == "cancelled_by_patient") == 1
        assert messages(booking_id)["booking_cancelled"] == 1


def test_ten_reschedules_into_the_same_slot_record_one_move(app, demo):
    with app.app_context():
        booking = hold(confirm=True)
        booking_id = booking.id
        new = first_free(ctype_for(), after=booking.ends_at, doctor_id=booking.doctor_id)
        body = {"start": new.start.isoformat(), "doctor": new.doctor_id}
    headers = bearer(app, demo["patient"])
    responses = at_once(TIMES, lambda i: app.test_client().post(
        f"/api/v1/bookings/{booking_id}/reschedule", headers=headers, json=body))
    assert sorted(r.status_code for r in responses) == [200] + [409] * (TIMES - 1)
    with app.app_context():
        assert db.session.get(Booking, booking_id).starts_at == new.start
        moves = count(BookingEvent, BookingEvent.booking_id == booking_id,
                      BookingEvent.from_state == "confirmed",
                      BookingEvent.to_state == "confirmed")
        assert moves == 1
        assert messages(booking_id)["booking_rescheduled"] == 1


def test_ten_simultaneous_consents_record_each_consent_once(app, demo):
    with app.app_context():
        booking_id = hold().id
    clients, token = signed_in_clients(app, demo["patient"], demo["password"], TIMES)
    statuses = at_once(TIMES, lambda i: clients[i].post(
        f"/bookings/{booking_id}/consent",
        data={"csrf_token": token, "consent": ["informed", "pdpa"]}).status_code)
    assert statuses == [302] * TIMES
    with app.app_context():
        kinds = Counter(db.session.scalars(select(BookingConsent.kind).where(
            BookingConsent.booking_id == booking_id)))
        assert kinds == Counter({"informed": 1, "pdpa": 1})


def test_a_patient_cannot_hold_two_overlapping_times_at_two_clinics(app, demo):
    """Both Thursday 8 PM: one hold, and the other answers 409 patient_overlap."""
    with app.app_context():
        here, there = ctype_for("sukhumvit-spine"), ctype_for("silom-pain-rehab")
        slots_here = {s.start: s for s in _slots(here)}
        both = next(s for s in _slots(there) if s.start in slots_here)
        bodies = [{"consultation_type": here.id, "doctor": slots_here[both.start].doctor_id,
                   "start": both.start.isoformat()},
                  {"consultation_type": there.id, "doctor": both.doctor_id,
                   "start": both.start.isoformat()}]
    headers = bearer(app, demo["patient"])
    responses = at_once(2, lambda i: app.test_client().post(
        "/api/v1/bookings", headers=headers, json=bodies[i]))
    assert sorted(r.status_code for r in responses) == [201, 409]
    [refused] = [r.json for r in responses if r.status_code == 409]
    assert refused["error"]["code"] == "patient_overlap"
    with app.app_context():
        assert count(Booking) == 1


def test_concurrent_holds_by_one_patient_stop_at_the_cap(app, demo):
    with app.app_context():
        ctype = ctype_for()
        limit = app.config["MAX_ACTIVE_HOLDS"]
        starts = [{"consultation_type": ctype.id, "doctor": s.doctor_id,
                   "start": s.start.isoformat()} for s in _apart(_slots(ctype), 5)]
    headers = bearer(app, demo["patient"])
    responses = at_once(5, lambda i: app.test_client().post(
        "/api/v1/bookings", headers=headers, json=starts[i]))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * limit + [409] * (5 - limit)
    assert {r.json["error"]["code"] for r in responses if r.status_code == 409} == {"hold_limit"}
    with app.app_context():
        assert count(Booking, Booking.state == "held") == limit


@pytest.mark.parametrize("state", ["cancelled", "expired"])
def test_a_finished_hold_leaves_room_under_the_cap(app, demo, state):
    from booking.core.types import utcnow
    from booking.scheduling import services

    with app.app_context():
        ctype, patient = ctype_for(), user(demo["patient"])
        apart = _apart(_slots(ctype), 3)
        first, second = (services.place_hold(patient, patient=patient, ctype=ctype,
                                             doctor_id=s.doctor_id, start=s.start)
                         for s in apart[:2])
        db.session.commit()
        with pytest.raises(services.HoldLimit):
            services.place_hold(patient, patient=patient, ctype=ctype,
                                doctor_id=apart[2].doctor_id, start=apart[2].start)
        db.session.rollback()
        first = db.session.get(Booking, first.id)
        if state == "cancelled":
            services.cancel(patient, first)
        else:
            first.hold_expires_at = utcnow()  # lapsed, not yet swept
        db.session.commit()
        third = services.place_hold(patient, patient=patient, ctype=ctype,
                                    doctor_id=apart[2].doctor_id, start=apart[2].start)
        db.session.commit()
        assert third.state == "held"


def _apart(slots, n: int) -> list:
    """`n` slots at least an hour apart (a patient cannot be in two places at once)."""
    chosen: list = []
    for s in slots:
        if all(abs((s.start - c.start).total_seconds()) >= 3600 for c in chosen):
            chosen.append(s)
        if len(chosen) == n:
            return chosen
    raise AssertionError("the demo plan should leave separate free slots")


def _slots(ctype):
    from datetime import timedelta

    from booking.core.types import utcnow
    from booking.scheduling.availability import find_slots

    start = utcnow() + timedelta(days=2)
    return find_slots(ctype, start=start, end=start + timedelta(days=14), now=utcnow())


def test_ten_simultaneous_adds_and_removes_of_one_holiday_apply_once(app, demo):
    """A double-click on "Add holiday" or "Remove" (or two admins at once): one row, one audit
    entry, and the other requests get the page with a clear answer, never a 500."""
    from booking.scheduling.models import Holiday

    clients, token = signed_in_clients(app, demo["admin"], demo["password"], TIMES)
    added = at_once(TIMES, lambda i: clients[i].post("/admin/holidays", data={
        "day": "2031-05-01", "name": "Labour Day", "csrf_token": token}).status_code)
    assert sorted(added) == [302] + [422] * (TIMES - 1), added
    with app.app_context():
        holiday_id = db.session.scalar(select(Holiday.id).where(Holiday.name == "Labour Day"))
        assert count(AuditEvent, AuditEvent.action == "holiday.added") == 1
    removed = at_once(TIMES, lambda i: clients[i].post(f"/admin/holidays/{holiday_id}/remove",
                                                       data={"csrf_token": token}).status_code)
    # The first removes it; the others find it gone: when they read it (404) or when they
    # delete it (back to the list, told it was already removed).
    assert set(removed) <= {302, 404} and 302 in removed, removed
    with app.app_context():
        assert count(Holiday, Holiday.id == holiday_id) == 0
        assert count(AuditEvent, AuditEvent.action == "holiday.removed") == 1


def test_ten_simultaneous_removals_of_one_leave_entry_apply_once(app, demo):
    from datetime import UTC, datetime

    from booking.scheduling.models import ScheduleException

    with app.app_context():
        coordinator = user(demo["coordinator"])
        exc = plans.add_exception(
            coordinator, clinic_id=coordinator.clinic_id,
            doctor_id=coordinator.clinic.doctors[0].id, kind="leave",
            starts_at=datetime(2031, 2, 1, tzinfo=UTC), ends_at=datetime(2031, 2, 3, tzinfo=UTC))
        db.session.commit()
        exc_id = exc.id
    clients, token = signed_in_clients(app, demo["coordinator"], demo["password"], TIMES)
    removed = at_once(TIMES, lambda i: clients[i].post(
        f"/coordinator/exceptions/{exc_id}/delete", data={"csrf_token": token}).status_code)
    assert set(removed) <= {302, 404} and 302 in removed, removed
    with app.app_context():
        assert count(ScheduleException, ScheduleException.id == exc_id) == 0
        assert count(AuditEvent, AuditEvent.action == "schedule.leave_removed") == 1
