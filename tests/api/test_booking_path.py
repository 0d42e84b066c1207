"""The whole booking path through the API (screening, availability, hold, consents) and the
rules the pages enforce: the screening gate, unlisted clinics, who staff may book for."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from booking.accounts.models import User
from booking.catalogue.models import Clinic, Condition
from booking.core.types import utcnow
from booking.extensions import db
from booking.scheduling.consent import CONSENTS
from booking.scheduling.models import Booking
from booking.screening.models import Screening
from tests.api.helpers import api, assert_error_shape
from tests.scheduling.helpers import ctype_for, first_free, hold, user

ODI = {"pain": 2, "care": 1, "lifting": 3, "walking": 1, "sitting": 2, "standing": 2,
       "sleeping": 1, "social": 2, "travel": 3}
ANSWERS = {"pain_months": 18, "prior_treatments": ["physiotherapy", "medication"],
           "prior_surgery": False, "nrs": 6, "odi_answers": ODI, "imaging_available": True,
           "red_flags": []}
CURRENT = [{"kind": kind, "version": text.version} for kind, text in CONSENTS.items()]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


@pytest.fixture()
def newcomer(app, demo) -> str:
    """A bearer token of a patient who just registered (and has answered no questions)."""
    from booking.accounts import services as accounts

    with app.app_context():
        patient = accounts.register_patient({
            "email": "newcomer@example.com", "name": "Nia Newcomer", "password": "x" * 12,
            "timezone": "Europe/London", "language": "en"}).user
        patient.email_verified_at = utcnow()
        token = accounts.create_api_token(patient)
        db.session.commit()
    return token


def test_an_api_client_walks_the_whole_path_to_nothing_missing(client, app, newcomer):
    token = newcomer
    with app.app_context():
        ctype_id = ctype_for("sukhumvit-spine", "video").id
    assert api(client, "get", "/screenings/latest", token).status_code == 404
    screened = api(client, "post", "/screenings", token, json=ANSWERS)
    assert screened.status_code == 201, screened.json
    assert screened.json["outcome"] == "eligible" and screened.json["advice"] is None
    assert screened.json["odi_score"] == round(17 * 100 / 45)  # "sex" left out of the maximum
    assert api(client, "get", "/screenings/latest", token).json["id"] == screened.json["id"]

    day = (utcnow() + timedelta(days=3)).date().isoformat()
    free = api(client, "get", f"/availability?consultation_type={ctype_id}&from={day}"
                              "&tz=Europe/London", token)
    assert free.status_code == 200 and free.json["timezone"] == "Europe/London"
    first = free.json["slots"][0]
    held = api(client, "post", "/bookings", token, json={
        "consultation_type": ctype_id, "doctor": first["doctor"], "start": first["start"],
        "timezone": "Europe/London"})
    assert held.status_code == 201, held.json
    assert held.json["missing"] == ["consent:informed", "consent:pdpa"]
    assert [(c["kind"], c["given_at"]) for c in held.json["required_consents"]] == [
        ("informed", None), ("pdpa", None)]
    booking_id = held.json["id"]

    consented = api(client, "post", f"/bookings/{booking_id}/consents", token,
                    json={"consents": CURRENT})
    assert consented.status_code == 200, consented.json
    shown = api(client, "get", f"/bookings/{booking_id}", token).json
    assert shown["missing"] == []
    assert all(c["given_at"] for c in shown["required_consents"])
    assert {c["version"] for c in shown["required_consents"]} == {"2026-11.1"}


def test_a_patient_without_a_screening_cannot_hold(client, app, newcomer):
    token = newcomer
    with app.app_context():
        ctype = ctype_for()
        s = first_free(ctype)
        body = {"consultation_type": ctype.id, "doctor": s.doctor_id,
                "start": s.start.isoformat()}
    error = assert_error_shape(api(client, "post", "/bookings", token, json=body), 422)
    assert error["code"] == "screening_required"
    with app.app_context():
        assert _count(Booking) == 0


def test_red_flags_refer_with_advice_and_no_hold(client, tokens, slot, app):
    answers = {**ANSWERS, "red_flags": ["fever", "weakness", "fever"]}
    referred = api(client, "post", "/screenings", tokens["patient"], json=answers)
    assert referred.status_code == 201
    assert referred.json["outcome"] == "refer"
    assert [f["key"] for f in referred.json["red_flags"]] == ["fever", "weakness"]
    assert referred.json["red_flags"][0]["label"].startswith("Fever")
    assert "emergency department" in referred.json["advice"]
    refused = api(client, "post", "/bookings", tokens["patient"], json=slot)
    assert assert_error_shape(refused, 422)["code"] == "screening_referred"


def test_screening_answers_are_checked_like_the_form(client, tokens, app):
    def post(**changes):
        return api(client, "post", "/screenings", tokens["patient"],
                   json={**ANSWERS, **changes})

    with app.app_context():
        before = _count(Screening)
        condition_id = db.session.scalar(select(Condition.id))
    bad = {
        "odi_answers.pain": post(odi_answers={k: v for k, v in ODI.items() if k != "pain"}),
        "odi_answers.walking": post(odi_answers={**ODI, "walking": 6}),
        "odi_answers.mood": post(odi_answers={**ODI, "mood": 1}),
        "nrs": post(nrs=11),
        "prior_surgery": post(prior_surgery="no"),
        "red_flags.0": post(red_flags=["headache"]),
        "prior_treatments.0": post(prior_treatments=["surgery"]),
        "pain_months": post(pain_months=-1),
        "condition_id": post(condition_id=2**31 - 1),
    }
    for field, response in bad.items():
        assert list(assert_error_shape(response, 422)["fields"]) == [field], field
    with app.app_context():
        assert _count(Screening) == before
    assert post(odi_answers={**ODI, "sex": 0}, condition_id=condition_id).status_code == 201
    assert post(odi_answers={**ODI, "sex": None}).status_code == 201


def test_screenings_are_for_patients(client, tokens):
    for role in ("coordinator", "admin"):
        response = api(client, "post", "/screenings", tokens[role], json=ANSWERS)
        assert assert_error_shape(response, 403)["code"] == "forbidden"
        assert_error_shape(api(client, "get", "/screenings/latest", tokens[role]), 403)
    assert_error_shape(api(client, "post", "/screenings", json=ANSWERS), 401)


def test_consents_need_every_kind_at_its_current_version(client, tokens, slot, app):
    booking_id = api(client, "post", "/bookings", tokens["patient"], json=slot).json["id"]
    path = f"/bookings/{booking_id}/consents"
    stale = [{**CURRENT[0], "version": "2025-01.1"}, CURRENT[1]]
    error = assert_error_shape(api(client, "post", path, tokens["patient"],
                                   json={"consents": stale}), 409)
    assert error["code"] == "consent_outdated" and "2026-11.1" in error["message"]
    partial = api(client, "post", path, tokens["patient"], json={"consents": CURRENT[:1]})
    assert list(assert_error_shape(partial, 422)["fields"]) == ["consents"]
    unknown = api(client, "post", path, tokens["patient"],
                  json={"consents": [*CURRENT, {"kind": "marketing", "version": "1"}]})
    assert_error_shape(unknown, 422)
    # Only the booking's own patient: another patient does not see it, staff may not consent.
    assert_error_shape(api(client, "post", path, tokens["patient2"],
                           json={"consents": CURRENT}), 404)
    assert_error_shape(api(client, "post", path, tokens["coordinator"],
                           json={"consents": CURRENT}), 403)
    shown = api(client, "get", f"/bookings/{booking_id}", tokens["patient"]).json
    assert shown["missing"] == ["consent:informed", "consent:pdpa"]


def test_an_unlisted_clinic_is_not_offered_through_the_api(client, tokens, app):
    with app.app_context():
        ctype = ctype_for("silom-pain-rehab", "video")
        s = first_free(ctype)
        body = {"consultation_type": ctype.id, "doctor": s.doctor_id,
                "start": s.start.isoformat()}
        clinic_id, ctype_id = ctype.clinic_id, ctype.id
        db.session.get(Clinic, clinic_id).active = False
        db.session.commit()
    listed = client.get("/api/v1/consultation-types").json["consultation_types"]
    assert listed and all(t["clinic"] != clinic_id for t in listed)
    assert client.get(f"/api/v1/consultation-types?clinic={clinic_id}").json == {
        "consultation_types": []}
    assert_error_shape(client.get(f"/api/v1/availability?consultation_type={ctype_id}"), 404)
    assert_error_shape(api(client, "post", "/bookings", tokens["patient"], json=body), 404)
    with app.app_context():
        assert _count(Booking) == 0


def test_a_coordinator_never_reaches_a_patient_by_id_who_never_booked_there(
        client, tokens, app, demo):
    """Silom's coordinator names Jane (who booked only with Sukhumvit) by id: 404, nothing
    held; on a Sukhumvit consultation type they manage nothing: 403."""
    with app.app_context():
        hold(demo["patient"], "sukhumvit-spine")
        jane = user(demo["patient"]).id
        silom = ctype_for("silom-pain-rehab", "video")
        s = first_free(silom)
        body = {"consultation_type": silom.id, "doctor": s.doctor_id,
                "start": s.start.isoformat(), "patient": jane}
        sukhumvit = ctype_for("sukhumvit-spine", "in_person")
        s2 = first_free(sukhumvit, after=utcnow() + timedelta(days=6))  # clear of her hold
        elsewhere = {"consultation_type": sukhumvit.id, "doctor": s2.doctor_id,
                     "start": s2.start.isoformat(), "patient": jane}
        before = _count(Booking)
    refused = api(client, "post", "/bookings", tokens["other_coordinator"], json=body)
    assert assert_error_shape(refused, 404)["code"] == "patient_not_found"
    assert_error_shape(api(client, "post", "/bookings", tokens["other_coordinator"],
                           json=elsewhere), 403)
    # The patient's own coordinator may: Jane has a booking with Sukhumvit.
    assert api(client, "post", "/bookings", tokens["coordinator"], json=elsewhere
               ).status_code == 201
    with app.app_context():
        assert _count(Booking) == before + 1


def test_staff_name_a_patient_by_exact_email(client, tokens, app, demo):
    with app.app_context():
        ctype = ctype_for("silom-pain-rehab", "video")
        s = first_free(ctype)
        slot = {"consultation_type": ctype.id, "doctor": s.doctor_id,
                "start": s.start.isoformat()}
    coordinator = tokens["other_coordinator"]
    near = api(client, "post", "/bookings", coordinator,
               json={**slot, "patient_email": "patient2@example.org"})
    assert assert_error_shape(near, 404)["code"] == "patient_not_found"
    both = api(client, "post", "/bookings", coordinator,
               json={**slot, "patient": 1, "patient_email": demo["patient2"]})
    assert list(assert_error_shape(both, 422)["fields"]) == ["patient_email"]
    nobody = api(client, "post", "/bookings", coordinator, json=slot)
    assert list(assert_error_shape(nobody, 422)["fields"]) == ["patient"]
    made = api(client, "post", "/bookings", coordinator,
               json={**slot, "patient_email": demo["patient2"]})
    assert made.status_code == 201, made.json
    with app.app_context():
        booking = db.session.get(Booking, made.json["id"])
        assert booking.patient_id == user(demo["patient2"]).id
        assert booking.created_by_id == db.session.scalar(select(User.id).where(
            User.email == demo["other_coordinator"]))


def test_a_patient_cannot_name_another_patient(client, tokens, slot, app, demo):
    with app.app_context():
        other = user(demo["patient2"]).id
    for extra in ({"patient": other}, {"patient_email": demo["patient2"]}):
        response = api(client, "post", "/bookings", tokens["patient"], json={**slot, **extra})
        assert list(assert_error_shape(response, 422)["fields"]) == ["patient"]
    with app.app_context():
        assert _count(Booking) == 0
