"""Booking through the pages: patient holds and cancels; the coordinator sees and confirms;
lapsed holds are freed by the worker's sweep; the API description matches the routes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from booking.core.types import utcnow
from booking.extensions import db
from booking.scheduling.models import Booking
from booking.scheduling.tasks import expire_holds
from tests.conftest import csrf_token, post_form
from tests.scheduling.helpers import ctype_for, first_free, hold, screen, user


def test_patient_holds_a_slot_from_the_slot_page(as_role, app):
    with app.app_context():
        screen()
        ctype = ctype_for()
        slot = first_free(ctype)
        ctype_id, start, doctor = ctype.id, slot.start.isoformat(), slot.doctor_id
    client = as_role("patient")
    page = client.get(f"/book/{ctype_id}").get_data(as_text=True)
    assert start in page  # the slot is offered as a button
    response = post_form(client, f"/book/{ctype_id}/hold",
                         {"start": start, "doctor": str(doctor), "tz": "America/New_York"},
                         token_from=f"/book/{ctype_id}")
    assert response.status_code == 302
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Held — awaiting deposit" in detail
    assert "In Bangkok:" in detail and "pay the deposit of" in detail
    # Taken now: a second try says so kindly and goes back to the times.
    again = post_form(client, f"/book/{ctype_id}/hold",
                      {"start": start, "doctor": str(doctor)}, token_from=f"/book/{ctype_id}")
    assert again.status_code == 302 and f"/book/{ctype_id}" in again.headers["Location"]
    assert "not available" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_cancel_needs_a_confirmation_step(as_role, app):
    with app.app_context():
        booking_id = hold().id
    client = as_role("patient")
    confirm_page = client.get(f"/bookings/{booking_id}/cancel")
    assert confirm_page.status_code == 200
    assert "Yes, cancel this booking" in confirm_page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Booking, booking_id).state == "held"  # GET changed nothing
    done = post_form(client, f"/bookings/{booking_id}/cancel", {"reason": "Too far"})
    assert done.status_code == 302
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert (booking.state, booking.cancel_reason) == ("cancelled_by_patient", "Too far")
    # Asked again (an old email's link, a second tab): no second form, a plain answer.
    again = client.get(f"/bookings/{booking_id}/cancel", follow_redirects=True)
    page = again.get_data(as_text=True)
    assert again.status_code == 200 and "Yes, cancel this booking" not in page
    assert "This booking is already cancelled." in page and "Cancel booking" not in page


def test_coordinator_sees_the_hold_in_the_week_and_confirms_it(as_role, app):
    with app.app_context():
        booking = hold(consented=True)
        booking_id, week = booking.id, booking.starts_at.date().isoformat()
    coordinator = as_role("coordinator")
    html = coordinator.get(f"/coordinator/week?start={week}").get_data(as_text=True)
    assert "Jane Miller" in html and "Held — awaiting deposit" in html
    confirmed = post_form(coordinator, f"/coordinator/bookings/{booking_id}/confirm", {},
                          token_from=f"/bookings/{booking_id}")
    assert confirmed.status_code == 302
    with app.app_context():
        assert db.session.get(Booking, booking_id).state == "confirmed"
    page = as_role("patient").get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Your consultation is confirmed" in page
    # When the reminders will come, in the patient's own zone.
    assert "Reminder emails (America/New York):" in page and "2 hours before" in page


def test_other_clinic_coordinator_cannot_act_on_a_booking(app, demo):
    from tests.conftest import login

    with app.app_context():
        booking_id = hold().id
    client = app.test_client()
    login(client, demo["other_coordinator"], demo["password"])
    assert client.get(f"/bookings/{booking_id}").status_code == 404
    token = csrf_token(client, "/coordinator/")
    response = client.post(f"/coordinator/bookings/{booking_id}/confirm",
                           data={"csrf_token": token})
    assert response.status_code == 404
    html = client.get("/coordinator/week").get_data(as_text=True)
    assert "Jane Miller" not in html


def test_lapsed_holds_are_expired_by_the_sweep_and_free_the_slot(app, demo):
    with app.app_context():
        booking = hold()
        booking.hold_expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
        booking_id = booking.id
        assert expire_holds.run() == 1
        assert expire_holds.run() == 0
        db.session.remove()
        expired = db.session.get(Booking, booking_id)
        assert expired.state == "expired" and expired.hold_expires_at is None
        again = hold("patient2@example.com")  # the same first free slot is offered again
        assert (again.starts_at, again.doctor_id) == (expired.starts_at, expired.doctor_id)


def test_openapi_lists_exactly_the_api_routes(client, app):
    doc = client.get("/api/v1/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    base = doc.get("servers", [{"url": ""}])[0]["url"].rstrip("/")
    verbs = {"get", "post", "put", "patch", "delete"}
    documented = {(base + path, method.upper()) for path, ops in doc["paths"].items()
                  for method in ops if method in verbs}
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            # "<int:trip_id>" and "<any(arrival, departure):direction>" are "{trip_id}",
            # "{direction}" in the document.
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((path, method))
    assert documented == routes


def test_api_token_cli_prints_a_working_token(app, demo, client):
    result = app.test_cli_runner().invoke(args=["api-token", "create", demo["patient"]])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    with app.app_context():
        booking_id = hold().id
    response = client.get(f"/api/v1/bookings/{booking_id}",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    bad = client.get(f"/api/v1/bookings/{booking_id}",
                     headers={"Authorization": "Bearer sbk_wrong"})
    assert bad.status_code == 401
    with app.app_context():
        assert db.session.scalar(select(Booking.id)) == booking_id


def test_coordinator_books_for_a_patient_and_confirms(as_role, app, demo):
    with app.app_context():
        ctype = ctype_for()
        slot = first_free(ctype)
        ctype_id, start, doctor = ctype.id, slot.start.isoformat(), slot.doctor_id
    coordinator = as_role("coordinator")
    unknown = post_form(coordinator, "/coordinator/book",
                        {"email": "nobody@example.org", "consultation_type": str(ctype_id)})
    assert unknown.status_code == 422
    assert "No patient account uses this email" in unknown.get_data(as_text=True)
    found = post_form(coordinator, "/coordinator/book",
                      {"email": demo["patient2"], "consultation_type": str(ctype_id)})
    assert found.status_code == 302
    page = coordinator.get(found.headers["Location"]).get_data(as_text=True)
    assert "Booking on behalf of Oliver Brown" in page
    assert "Australia/Sydney".replace("_", " ") in page  # the patient's own zone
    patient_id = found.headers["Location"].split("patient=")[1]
    held = post_form(coordinator, f"/coordinator/book/{ctype_id}/hold",
                     {"start": start, "doctor": str(doctor), "patient": patient_id},
                     token_from=found.headers["Location"])
    assert held.status_code == 302
    booking_id = int(held.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.patient.email == demo["patient2"] and booking.state == "held"
        assert booking.patient_timezone == "Australia/Sydney"
        assert booking.created_by_id != booking.patient_id
    assert as_role("patient2").get(f"/bookings/{booking_id}").status_code == 200


def test_patient_moves_a_confirmed_booking_from_its_page(as_role, app):
    with app.app_context():
        booking = hold(confirm=True)
        booking_id, old_start = booking.id, booking.starts_at
        new = first_free(ctype_for(), doctor_id=booking.doctor_id)
    client = as_role("patient")
    assert "Change time" in client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    page = client.get(f"/bookings/{booking_id}/reschedule").get_data(as_text=True)
    assert "Moving booking" in page and new.start.isoformat() in page
    moved = post_form(client, f"/bookings/{booking_id}/reschedule",
                      {"start": new.start.isoformat(), "doctor": str(new.doctor_id)})
    assert moved.status_code == 302
    assert "is moved" in client.get(moved.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.starts_at == new.start and booking.state == "confirmed"
        assert booking.events[-1].detail.startswith(old_start.isoformat())
    # Another patient cannot move it.
    assert as_role("patient2").get(f"/bookings/{booking_id}/reschedule").status_code == 404


def test_a_held_booking_cannot_be_moved_yet(as_role, app):
    with app.app_context():
        booking_id = hold().id
    response = as_role("patient").get(f"/bookings/{booking_id}/reschedule")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        f"/bookings/{booking_id}")


def test_choosing_a_condition_narrows_the_clinics(as_role, app):
    from booking.catalogue.models import Condition, Treatment

    with app.app_context():
        # Treated only by the soft-tissue injection: Sukhumvit and Silom offer it, Chao Phraya not.
        soft = db.session.scalar(select(Treatment).where(
            Treatment.slug == "uc-msc-soft-tissue-injection"))
        db.session.add(Condition(slug="facet-pain", name="Facet joint pain", treatments=[soft]))
        db.session.commit()
    client = as_role("patient")
    everything = client.get("/book").get_data(as_text=True)
    assert all(name in everything for name in ("Sukhumvit", "Chao Phraya", "Silom"))
    facet = client.get("/book?condition=facet-pain").get_data(as_text=True)
    assert "Sukhumvit" in facet and "Silom" in facet and "Chao Phraya" not in facet


def test_outcome_is_recorded_only_once_the_consultation_has_started(as_role, app):
    with app.app_context():
        booking = hold(confirm=True)
        booking_id = booking.id
    coordinator = as_role("coordinator")
    page = coordinator.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Mark completed" not in page  # it is in the future
    early = post_form(coordinator, f"/coordinator/bookings/{booking_id}/outcome",
                      {"outcome": "completed"}, token_from=f"/bookings/{booking_id}")
    assert early.status_code == 302
    assert "has not started yet" in coordinator.get(early.headers["Location"]).get_data(
        as_text=True)
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.state == "confirmed"
        # The consultation took place an hour ago.
        shift = booking.starts_at - (utcnow() - timedelta(hours=1))
        for name in ("starts_at", "ends_at", "blocked_from", "blocked_until"):
            setattr(booking, name, getattr(booking, name) - shift)
        db.session.commit()
    assert "Mark completed" in coordinator.get(f"/bookings/{booking_id}").get_data(as_text=True)
    done = post_form(coordinator, f"/coordinator/bookings/{booking_id}/outcome",
                     {"outcome": "completed"}, token_from=f"/bookings/{booking_id}")
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Booking, booking_id).state == "completed"


def test_a_coordinator_never_reaches_a_patient_by_id(as_role, app, demo):
    """The slot page once showed any patient's name and email for ?patient=<id>."""
    with app.app_context():
        ctype_id = ctype_for().id
        patient2 = user(demo["patient2"])
        patient2_id = patient2.id
        from booking.scheduling import services

        other_clinic_ref = services.patient_ref(patient2, ctype_for("silom-pain-rehab").clinic_id)
    coordinator = as_role("coordinator")
    for value in (str(patient2_id), other_clinic_ref, "garbage"):
        page = coordinator.get(f"/coordinator/book/{ctype_id}?patient={value}")
        assert page.status_code == 404
        assert "Oliver Brown" not in page.get_data(as_text=True)
        assert demo["patient2"] not in page.get_data(as_text=True)
    with app.app_context():
        start = first_free(ctype_for())
    held = post_form(coordinator, f"/coordinator/book/{ctype_id}/hold",
                     {"start": start.start.isoformat(), "doctor": str(start.doctor_id),
                      "patient": str(patient2_id)}, token_from="/coordinator/book")
    assert held.status_code == 404
    with app.app_context():
        assert db.session.scalar(select(Booking.id)) is None


def test_a_booking_made_for_a_patient_is_confirmed_only_after_their_screening_and_consent(
        as_role, app, demo, mail_sink):
    from booking.notifications import services as outbox
    from booking.screening.models import Screening
    from tests.mailsink import text_of

    with app.app_context():
        db.session.execute(Screening.__table__.delete())  # a patient who has not answered yet
        db.session.commit()
        ctype = ctype_for()
        slot = first_free(ctype)
        ctype_id = ctype.id
    coordinator = as_role("coordinator")
    found = post_form(coordinator, "/coordinator/book",
                      {"email": demo["patient2"], "consultation_type": str(ctype_id)})
    ref = found.headers["Location"].split("patient=")[1]
    held = post_form(coordinator, f"/coordinator/book/{ctype_id}/hold",
                     {"start": slot.start.isoformat(), "doctor": str(slot.doctor_id),
                      "patient": ref}, token_from=found.headers["Location"])
    booking_id = int(held.headers["Location"].rsplit("/", 1)[1])
    with app.app_context():
        outbox.dispatch_due()
    [email] = mail_sink.wait_for(demo["patient2"])
    assert "answer the health questions" in text_of(email)
    assert f"/bookings/{booking_id}" in text_of(email)  # the link that gets them there
    staff_page = coordinator.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "It cannot be confirmed yet" in staff_page
    assert "the health questions" in staff_page and "Informed consent" in staff_page
    assert "Confirm: deposit received" not in staff_page
    refused = post_form(coordinator, f"/coordinator/bookings/{booking_id}/confirm", {},
                        token_from=f"/bookings/{booking_id}")
    assert refused.status_code == 302
    with app.app_context():
        assert db.session.get(Booking, booking_id).state == "held"
    # The patient answers from their booking page and comes back to it.
    patient = as_role("patient2")
    page = patient.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Answer the health questions" in page
    from tests.screening.test_screening import answers

    screened = post_form(patient, f"/book/{ctype_id}/screening?booking={booking_id}", answers())
    assert screened.status_code == 302
    assert screened.headers["Location"].endswith(f"/bookings/{booking_id}")
    consented = post_form(patient, f"/bookings/{booking_id}/consent",
                          {"consent": ["informed", "pdpa"]}, token_from=f"/bookings/{booking_id}")
    assert consented.status_code == 302
    staff_page = coordinator.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "It cannot be confirmed yet" not in staff_page
    # The clinic reads the answers as a summary, not as raw data.
    assert "Oswestry disability" in staff_page and "60 %" in staff_page
    confirmed = post_form(coordinator, f"/coordinator/bookings/{booking_id}/confirm", {},
                          token_from=f"/bookings/{booking_id}")
    assert confirmed.status_code == 302
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert booking.state == "confirmed" and booking.screening_id is not None


def test_a_too_long_cancel_reason_is_refused_and_kept(as_role, app):
    with app.app_context():
        booking_id = hold().id
    client = as_role("patient")
    reason = "x" * 1001
    refused = post_form(client, f"/bookings/{booking_id}/cancel", {"reason": reason})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "under 1000 characters" in html and reason in html
    with app.app_context():
        assert db.session.get(Booking, booking_id).state == "held"


def test_a_patient_without_a_passed_screening_cannot_hold_through_the_service(app, demo):
    from booking.core.errors import Unprocessable
    from booking.scheduling import services
    from booking.screening.models import Screening

    with app.app_context():
        db.session.execute(Screening.__table__.delete())
        db.session.commit()
        ctype, patient = ctype_for(), user(demo["patient"])
        slot = first_free(ctype)
        with pytest.raises(Unprocessable) as refused:
            services.place_hold(patient, patient=patient, ctype=ctype, doctor_id=slot.doctor_id,
                                start=slot.start)
        assert refused.value.code == "screening_required"


def _sent_back_holding_nothing(client, app, ctype_id: int, data: dict) -> str:  # noqa: ANN001
    """Post `data` to the hold form: the patient is sent back to the times, nothing is held;
    the page they land on."""
    response = post_form(client, f"/book/{ctype_id}/hold", data,
                         token_from=f"/book/{ctype_id}")
    assert response.status_code == 302 and f"/book/{ctype_id}" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Booking).where(
            Booking.patient_id == user("patient@example.com").id)) is None
    return page


@pytest.mark.parametrize("start", ["9999-12-31T23:30:00-05:00", "0001-01-01T00:30:00+07:00",
                                   "2027-01-04T09:00:00", "yesterday"])
def test_a_slot_time_out_of_range_or_without_a_zone_sends_the_patient_back_to_the_times(
        as_role, app, start):
    with app.app_context():
        screen()
        ctype = ctype_for()
        ctype_id, doctor = ctype.id, first_free(ctype).doctor_id
    page = _sent_back_holding_nothing(as_role("patient"), app, ctype_id,
                                      {"start": start, "doctor": str(doctor)})
    assert "Please choose one of the times shown." in page


@pytest.mark.parametrize(("role", "first", "second"), [
    ("patient", "when-local", "when-bangkok"),
    ("coordinator", "when-bangkok", "when-local"),
    ("admin", "when-bangkok", "when-local")])
def test_the_booking_time_leads_with_the_viewers_clock(as_role, app, role, first, second):
    """Patients read their own time first; staff keep one clock, Bangkok, with the
    patient's beside it."""
    with app.app_context():
        booking_id = hold().id
    page = as_role(role).get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert page.index(f'data-testid="{first}"') < page.index(f'data-testid="{second}"')
    if role != "patient":
        local = page[page.index('data-testid="when-local"'):][:200]
        assert "Patient's time:" in local and "(America/New York)" in local


@pytest.mark.parametrize("kind", ["garbage", "no doctor", "other clinic's doctor", "100 KB",
                                  "emoji", "only a bar"])
def test_a_bad_slot_button_value_sends_the_patient_back_to_the_times(as_role, app, kind):
    """The slot page's buttons send slot=start|doctor: anything else is a clear message."""
    with app.app_context():
        screen()
        ctype = ctype_for()
        slot = first_free(ctype)
        other = first_free(ctype_for("silom-pain-rehab")).doctor_id
        ctype_id, start = ctype.id, slot.start.isoformat()
    value = {"garbage": "not-a-time|1", "no doctor": f"{start}|",
             "other clinic's doctor": f"{start}|{other}", "100 KB": start + "|" + "9" * 100_000,
             "emoji": "🦴|🦴", "only a bar": "|"}[kind]
    page = _sent_back_holding_nothing(as_role("patient"), app, ctype_id, {"slot": value})
    assert "alert-danger" in page


def test_the_slot_button_value_holds_that_time(as_role, app):
    with app.app_context():
        screen()
        ctype = ctype_for()
        slot = first_free(ctype)
        ctype_id, value = ctype.id, f"{slot.start.isoformat()}|{slot.doctor_id}"
        wanted = (slot.start, slot.doctor_id)
    client = as_role("patient")
    response = post_form(client, f"/book/{ctype_id}/hold", {"slot": value},
                         token_from=f"/book/{ctype_id}")
    assert response.status_code == 302 and "/bookings/" in response.headers["Location"]
    with app.app_context():
        held = db.session.scalar(select(Booking).where(
            Booking.patient_id == user("patient@example.com").id))
        assert (held.starts_at, held.doctor_id) == wanted
