"""The bookings API: holds, 409 on a taken slot, privacy, validation, cancel and reschedule
(moved from tests/scheduling/test_bookings_api.py; the patients have a passed screening)."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from booking.core.audit import AuditEvent
from booking.extensions import db
from booking.scheduling.consent import CONSENTS
from booking.scheduling.models import Booking, BookingEvent
from tests.api.helpers import api
from tests.conftest import ON_POSTGRES
from tests.scheduling.helpers import ctype_for, first_free, user


def test_hold_answers_201_with_the_booking(client, tokens, slot):
    response = api(client, "post", "/bookings", tokens["patient"], json=slot)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["state"] == "held" and body["reference"].startswith("SB-")
    assert body["start"] == slot["start"] and body["hold_expires_at"]
    assert body["start_local"].endswith(("-05:00", "-04:00"))  # the patient's New York time
    assert body["deposit"] == {"amount_minor": 150000, "currency": "THB"}
    again = api(client, "get", f"/bookings/{body['id']}", tokens["patient"])
    assert again.status_code == 200 and again.json["id"] == body["id"]


def test_second_hold_on_same_slot_gets_409(client, tokens, slot):
    assert api(client, "post", "/bookings", tokens["patient"], json=slot).status_code == 201
    taken = api(client, "post", "/bookings", tokens["patient2"], json=slot)
    assert taken.status_code == 409
    assert taken.json["error"]["code"] == "slot_taken"


def test_other_peoples_bookings_are_not_found(client, tokens, slot, as_role, app):
    booking_id = api(client, "post", "/bookings", tokens["patient"], json=slot).json["id"]
    assert api(client, "get", f"/bookings/{booking_id}", tokens["patient2"]).status_code == 404
    assert api(client, "get", f"/bookings/{booking_id}",
               tokens["other_coordinator"]).status_code == 404
    assert api(client, "get", f"/bookings/{booking_id}", tokens["coordinator"]).status_code == 200
    assert api(client, "post", f"/bookings/{booking_id}/cancel",
               tokens["patient2"]).status_code == 404
    # The web pages say the same.
    assert as_role("patient2").get(f"/bookings/{booking_id}").status_code == 404
    assert as_role("coordinator").get(f"/bookings/{booking_id}").status_code == 200


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"doctor": 1, "start": "2027-03-01T02:00:00Z"}, 422, "invalid_field"),
    ({"consultation_type": "x", "doctor": 1, "start": "2027-03-01T02:00:00Z"}, 422,
     "invalid_field"),
    ({"consultation_type": 1, "doctor": 1, "start": "next tuesday"}, 422, "invalid_field"),
    ({"consultation_type": 1, "doctor": 1, "start": "2027-03-01T09:00:00"}, 422,
     "invalid_field"),
    ("not an object", 400, "invalid_request"),
])
def test_bad_input_gets_a_json_4xx(client, tokens, body, status, code):
    response = api(client, "post", "/bookings", tokens["patient"], json=body)
    assert response.status_code == status
    assert response.json["error"]["code"] == code and response.json["error"]["message"]


def test_a_time_outside_the_plan_is_refused(client, tokens, slot):
    # Seven minutes past a slot's start (the old ":00:00Z" replace missed slots at :20 or :40).
    start = datetime.fromisoformat(slot["start"]) + timedelta(minutes=7)
    odd = {**slot, "start": start.isoformat().replace("+00:00", "Z")}
    response = api(client, "post", "/bookings", tokens["patient"], json=odd)
    assert response.status_code == 409 and response.json["error"]["code"] == "slot_taken"


def test_anonymous_writes_get_401_and_session_writes_need_csrf(client, slot, as_role):
    assert api(client, "post", "/bookings", json=slot).status_code == 401
    browser = as_role("patient")
    refused = browser.post("/api/v1/bookings", json=slot)
    assert refused.status_code == 400 and refused.json["error"]["code"] == "csrf_failed"


def test_cancel_then_the_slot_is_free_again(client, tokens, slot, app):
    booking_id = api(client, "post", "/bookings", tokens["patient"], json=slot).json["id"]
    cancelled = api(client, "post", f"/bookings/{booking_id}/cancel", tokens["patient"],
                    json={"reason": "Plans changed"})
    assert cancelled.status_code == 200 and cancelled.json["state"] == "cancelled_by_patient"
    assert [h["to"] for h in cancelled.json["history"]] == ["held", "cancelled_by_patient"]
    twice = api(client, "post", f"/bookings/{booking_id}/cancel", tokens["patient"])
    # Cancelling twice is "already_done" since the lead's lifecycle change (5b58871).
    assert twice.status_code == 409 and twice.json["error"]["code"] == "already_done"
    assert api(client, "post", "/bookings", tokens["patient2"], json=slot).status_code == 201
    with app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "Booking", AuditEvent.object_id == str(booking_id))).all()
        assert sorted(actions) == ["booking.cancelled_by_patient", "booking.created"]


def test_reschedule_moves_a_confirmed_booking_and_keeps_history(client, tokens, slot, app):
    booking_id = api(client, "post", "/bookings", tokens["patient"], json=slot).json["id"]
    with app.app_context():
        new_slot = first_free(ctype_for("sukhumvit-spine", "video"),
                              doctor_id=slot["doctor"])
        new_start = new_slot.start.isoformat().replace("+00:00", "Z")
    held = api(client, "post", f"/bookings/{booking_id}/reschedule", tokens["patient"],
               json={"start": new_start})
    assert held.status_code == 409  # only confirmed bookings move
    # The clinic confirms only once the patient has consented (through the API here).
    consented = api(client, "post", f"/bookings/{booking_id}/consents", tokens["patient"],
                    json={"consents": [{"kind": kind, "version": text.version}
                                       for kind, text in CONSENTS.items()]})
    assert consented.status_code == 200, consented.json
    with app.app_context():
        from booking.scheduling import services

        booking = db.session.get(Booking, booking_id)
        services.confirm_by_hand(user("coordinator@sukhumvit-spine.example.com"), booking)
        db.session.commit()
    moved = api(client, "post", f"/bookings/{booking_id}/reschedule", tokens["patient"],
                json={"start": new_start})
    assert moved.status_code == 200, moved.json
    assert moved.json["start"] == new_start and moved.json["state"] == "confirmed"
    assert [h["to"] for h in moved.json["history"]] == ["held", "confirmed", "confirmed"]
    assert moved.json["history"][-1]["detail"].startswith(slot["start"].replace("Z", "+00:00"))
    # The old time is free again.
    assert api(client, "post", "/bookings", tokens["patient2"], json=slot).status_code == 201


def test_availability_validates_its_query(client, demo, app):
    with app.app_context():
        ctype_id = ctype_for().id
    assert client.get("/api/v1/availability").status_code == 422
    assert client.get(f"/api/v1/availability?consultation_type={ctype_id}&tz=Mars/Base"
                      ).status_code == 422
    wide = client.get(f"/api/v1/availability?consultation_type={ctype_id}"
                      "&from=2027-01-01&to=2027-06-01")
    assert wide.status_code == 422 and "62 days" in wide.json["error"]["message"]
    assert client.get("/api/v1/availability?consultation_type=99999").status_code == 404


def test_a_query_asked_again_is_parsed_once_and_errors_each_time(client, demo, app,
                                                                  monkeypatch):
    """errors.JsonObjectParser keeps a successful parse of a text-only query schema."""
    from booking.api.errors import Blueprint
    from booking.api.schemas import AvailabilityQuerySchema

    Blueprint.ARGUMENTS_PARSER._parsed.clear()  # (kept per process, across tests)
    loads: list[dict] = []
    original = AvailabilityQuerySchema.load

    def counted(self, data, **kwargs):  # type: ignore[no-untyped-def]
        loads.append(dict(data))
        return original(self, data, **kwargs)

    monkeypatch.setattr(AvailabilityQuerySchema, "load", counted)
    with app.app_context():
        ctype_id = ctype_for().id
    query = f"/api/v1/availability?consultation_type={ctype_id}&tz=Asia/Tokyo&from=2031-01-06"
    first, second = client.get(query), client.get(query)
    assert first.status_code == second.status_code == 200
    assert first.json == second.json and first.json["timezone"] == "Asia/Tokyo"
    assert len(loads) == 1
    other = client.get(query.replace("Asia/Tokyo", "Europe/Paris"))
    assert other.status_code == 200 and other.json["timezone"] == "Europe/Paris"
    assert len(loads) == 2
    bad = query.replace("2031-01-06", "2031-13-06")
    for language in ("en", "th"):
        refused = client.get(bad, headers={"Accept-Language": language})
        assert refused.status_code == 422 and "from" in refused.json["error"]["fields"]
    assert len(loads) == 4  # an error is worked out (and worded) each time
    padded = query + "&pad=" + "x" * 600  # unknown fields are dropped: still a 200
    for _ in range(2):
        assert client.get(padded).status_code == 200
    assert len(loads) == 6  # too long to keep: parsed each time


def test_fifty_concurrent_holds_on_one_slot_give_one_booking(app, tokens, slot):
    """Each thread is its own client and database connection, as 50 patients would be."""
    barrier = threading.Barrier(50)
    results: list[int] = []
    lock = threading.Lock()

    def attempt() -> None:
        client = app.test_client()
        barrier.wait()
        response = api(client, "post", "/bookings", tokens["patient"], json=slot)
        with lock:
            results.append(response.status_code)

    threads = [threading.Thread(target=attempt) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [201] + [409] * 49
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Booking)) == 1
        assert db.session.scalar(select(func.count()).select_from(BookingEvent)) == 1


@pytest.mark.skipif(not ON_POSTGRES, reason="the exclusion constraint is PostgreSQL's")
def test_database_refuses_overlap_even_without_the_service_check(ctx, demo):
    """Bypass the availability check: the exclusion constraint still says no (23P01)."""
    from sqlalchemy.exc import IntegrityError

    ctype = ctype_for()
    s = first_free(ctype)
    patient = user("patient@example.com")
    common = dict(patient_id=patient.id, clinic_id=ctype.clinic_id, doctor_id=s.doctor_id,
                  consultation_type_id=ctype.id, state="held", patient_timezone="UTC",
                  deposit_minor=1, currency="THB")
    db.session.add(Booking(reference="SB-AAAAAA", starts_at=s.start, ends_at=s.end,
                           blocked_from=s.start, blocked_until=s.end, **common))
    db.session.flush()
    db.session.add(Booking(reference="SB-BBBBBB", starts_at=s.start + timedelta(minutes=10),
                           ends_at=s.end + timedelta(minutes=10),
                           blocked_from=s.start + timedelta(minutes=10),
                           blocked_until=s.end + timedelta(minutes=10), **common))
    with pytest.raises(IntegrityError) as caught:
        db.session.flush()
    assert caught.value.orig.sqlstate == "23P01"
    db.session.rollback()


def test_someone_elses_booking_cannot_be_changed_through_the_api(client, tokens, slot, app):
    """The writes, with valid JSON bodies, as the other patient and another clinic's
    coordinator: 404 (or 403 where only the patient may act), and the booking is unchanged."""
    booking_id = api(client, "post", "/bookings", tokens["patient"], json=slot).json["id"]
    consents = {"consents": [{"kind": kind, "version": text.version}
                             for kind, text in CONSENTS.items()]}
    for role, expected in (("patient2", 404), ("other_coordinator", 404)):
        for action, body in (("cancel", {"reason": "no"}),
                             ("reschedule", {"start": slot["start"]}),
                             ("consents", consents)):
            response = api(client, "post", f"/bookings/{booking_id}/{action}", tokens[role],
                           json=body)
            status = 403 if (role, action) == ("other_coordinator", "consents") else expected
            assert response.status_code == status, (role, action, response.json)
    shown = api(client, "get", f"/bookings/{booking_id}", tokens["patient"]).json
    assert shown["state"] == "held" and shown["missing"] == ["consent:informed", "consent:pdpa"]
    assert [h["to"] for h in shown["history"]] == ["held"]


def test_each_answer_says_what_the_caller_may_do_now(client, tokens, slot, app):
    """The same rule as the booking page's buttons: the patient may consent, pay and cancel a hold;
    the clinic's coordinator may confirm it, set the video link or cancel; an admin cancel."""
    booking = api(client, "post", "/bookings", tokens["patient"], json=slot).json
    assert booking["actions"] == ["consent", "cancel", "pay"]
    as_clinic = api(client, "get", f"/bookings/{booking['id']}", tokens["coordinator"]).json
    assert as_clinic["actions"] == ["cancel", "confirm", "set_video_link"]
    assert api(client, "get", f"/bookings/{booking['id']}",
               tokens["admin"]).json["actions"] == ["cancel"]
    consented = api(client, "post", f"/bookings/{booking['id']}/consents", tokens["patient"],
                    json={"consents": [{"kind": kind, "version": text.version}
                                       for kind, text in CONSENTS.items()]})
    assert consented.json["actions"] == ["cancel", "pay"]  # nothing left to consent to
    cancelled = api(client, "post", f"/bookings/{booking['id']}/cancel", tokens["patient"],
                    json={})
    assert cancelled.status_code == 200 and cancelled.json["actions"] == []
