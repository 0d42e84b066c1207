"""The trip page as the patient and the clinic use it: planning a trip from a booking, each
section saved or refused with what was typed kept, the passport stored sealed, warnings, the
itinerary and its calendar file, and who may see what."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select, text

from booking.core.audit import AuditEvent
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.scheduling import services as scheduling
from booking.travel.models import Companion, Trip
from tests.conftest import csrf_token, post_form
from tests.scheduling.helpers import first_free, hold, user
from tests.travel.helpers import make_trip

FUTURE = date.today() + timedelta(days=3 * 365)


def _trip_id(ctx_app) -> int:
    with ctx_app.app_context():
        return db.session.scalar(select(Trip.id))


def _post(client, trip_id: int, path: str, data: dict):
    return client.post(f"/trips/{trip_id}{path}",
                       data={**data, "csrf_token": csrf_token(client, f"/trips/{trip_id}")})


@pytest.fixture()
def trip_id(app, demo) -> int:
    with app.app_context():
        trip = make_trip(flights=False, passport=False)
        return trip.id


def test_patient_plans_a_trip_from_the_booking_page(app, demo, as_role):
    with app.app_context():
        booking = hold(confirm=True, mode="in_person")
        booking_id = booking.id
    patient = as_role("patient")
    page = patient.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Plan your trip" in page
    response = post_form(patient, f"/bookings/{booking_id}/trip", {},
                         token_from=f"/bookings/{booking_id}")
    assert response.status_code == 302
    trip_path = response.headers["Location"]
    assert re.search(r"/trips/\d+$", trip_path)
    page = patient.get(trip_path).get_data(as_text=True)
    assert "Your trip to Bangkok" in page and "Your flight to Bangkok" in page
    # Planning again from the same booking opens the same trip.
    again = post_form(patient, f"/bookings/{booking_id}/trip", {},
                      token_from=f"/bookings/{booking_id}")
    assert again.headers["Location"] == trip_path
    assert "Open the trip" in patient.get(f"/bookings/{booking_id}").get_data(as_text=True)


def test_flights_saved_show_in_the_itinerary_in_bangkok_and_home_time(app, trip_id, as_role):
    patient = as_role("patient")
    with app.app_context():
        trip = db.session.get(Trip, trip_id)
        day = trip.bookings[0].starts_at.astimezone(CLINIC_ZONE).date()
    landing = day - timedelta(days=1)
    response = _post(patient, trip_id, "/flights/arrival", {
        "arrival-flight": "tg917", "arrival-airport": "BKK",
        "arrival-date": landing.isoformat(), "arrival-time": "07:30"})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = patient.get(f"/trips/{trip_id}").get_data(as_text=True)
    assert "TG 917" in page
    assert "7:30" in page or "07:30" in page
    assert "in New York" in page  # the patient's own zone beside Bangkok
    with app.app_context():
        flight = db.session.get(Trip, trip_id).arrival
        assert flight.scheduled_at.astimezone(CLINIC_ZONE).hour == 7


@pytest.mark.parametrize(("data", "message"), [
    ({"arrival-flight": "917", "arrival-date": "+1", "arrival-time": "07:30"},
     "two-character code"),
    ({"arrival-flight": "TG 917", "arrival-date": "-3", "arrival-time": "07:30"},
     "already passed"),
    ({"arrival-flight": "TG 917", "arrival-date": "+1", "arrival-time": ""},
     "Give the time"),
    ({"arrival-flight": "TG\x00917", "arrival-date": "+1", "arrival-time": "07:30"}, ""),
    ({"arrival-flight": "T" * 100_000, "arrival-date": "+1", "arrival-time": "07:30"}, ""),
])
def test_a_bad_flight_is_refused_beside_its_field_and_what_was_typed_is_kept(
        app, trip_id, as_role, data, message):
    patient = as_role("patient")
    data = dict(data)
    offset = data["arrival-date"]
    data["arrival-date"] = (date.today() + timedelta(days=int(offset))).isoformat()
    data["arrival-airport"] = "DMK"
    response = _post(patient, trip_id, "/flights/arrival", data)
    assert 400 <= response.status_code < 500
    body = response.get_data(as_text=True)
    if message:
        assert message in body
        assert data["arrival-date"] in body  # kept as typed
    with app.app_context():
        assert db.session.get(Trip, trip_id).arrival is None


def test_departure_before_arrival_is_refused(app, demo, as_role):
    with app.app_context():
        trip = make_trip(flights=False)
        trip_id = trip.id
    landing = date.today() + timedelta(days=20)
    patient = as_role("patient")
    assert _post(patient, trip_id, "/flights/arrival", {
        "arrival-flight": "TG 917", "arrival-airport": "BKK",
        "arrival-date": landing.isoformat(), "arrival-time": "20:00"}).status_code == 302
    response = _post(patient, trip_id, "/flights/departure", {
        "departure-flight": "TG 918", "departure-airport": "BKK",
        "departure-date": landing.isoformat(), "departure-time": "10:00"})
    assert response.status_code == 422
    assert "leaves before your flight to Bangkok lands" in response.get_data(as_text=True)


def test_passport_number_is_sealed_masked_and_each_full_view_audited(app, trip_id, as_role):
    patient = as_role("patient")
    response = _post(patient, trip_id, "/passport", {
        "passport-nationality": "US", "passport-passport_number": "x 1234 5678",
        "passport-passport_expiry": FUTURE.isoformat()})
    assert response.status_code == 302
    with app.app_context():
        raw = db.session.execute(text("SELECT passport_number_sealed FROM trip")).scalar()
        assert "X12345678" not in raw and "12345678" not in raw
    page = patient.get(f"/trips/{trip_id}").get_data(as_text=True)
    assert "X12345678" not in page and "678" in page
    revealed = patient.get(f"/trips/{trip_id}?reveal=passports").get_data(as_text=True)
    assert "X12345678" in revealed
    coordinator = as_role("coordinator")
    assert "X12345678" in coordinator.get(
        f"/trips/{trip_id}?reveal=passports").get_data(as_text=True)
    admin = as_role("admin")
    assert "X12345678" not in admin.get(f"/trips/{trip_id}").get_data(as_text=True)
    assert admin.get(f"/trips/{trip_id}?reveal=passports").status_code == 403
    with app.app_context():
        views = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "passport.viewed")).all()
        assert sorted(v.actor_label for v in views) == sorted(
            [demo_email for demo_email in ("patient@example.com",
                                           "coordinator@sukhumvit-spine.example.com")])


def test_expired_passport_refused_and_soon_expiring_one_warned(app, trip_id, as_role):
    patient = as_role("patient")
    expired = _post(patient, trip_id, "/passport", {
        "passport-nationality": "US", "passport-passport_number": "X12345678",
        "passport-passport_expiry": (date.today() - timedelta(days=1)).isoformat()})
    assert expired.status_code == 422
    assert "This passport has expired" in expired.get_data(as_text=True)
    soon = _post(patient, trip_id, "/passport", {
        "passport-nationality": "US", "passport-passport_number": "X12345678",
        "passport-passport_expiry": (date.today() + timedelta(days=60)).isoformat()})
    assert soon.status_code == 302
    page = patient.get(f"/trips/{trip_id}").get_data(as_text=True)
    assert 'data-testid="warning-passport_expiring"' in page
    assert "less than 6 months" in page


def test_up_to_four_companions(app, trip_id, as_role):
    patient = as_role("patient")
    for n in range(4):
        response = _post(patient, trip_id, "/companions", {
            "companion-name": f"สมชาย ใจดี {n}", "companion-relationship": "friend",
            "companion-nationality": "TH", "companion-passport_number": f"AA{n}234567",
            "companion-passport_expiry": FUTURE.isoformat()})
        assert response.status_code == 302
    fifth = _post(patient, trip_id, "/companions", {
        "companion-name": "One Too Many", "companion-relationship": "friend",
        "companion-nationality": "TH", "companion-passport_number": "AA9234567",
        "companion-passport_expiry": FUTURE.isoformat()})
    assert fifth.status_code == 409
    assert "up to 4 companions" in fifth.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Companion).where(Companion.name == "One Too Many")) is None
        assert len(db.session.get(Trip, trip_id).companions) == 4


def test_hotel_partner_or_own_and_pickup(app, trip_id, as_role):
    patient = as_role("patient")
    page = patient.get(f"/trips/{trip_id}").get_data(as_text=True)
    hotel_id = re.search(r'value="partner-(\d+)"', page).group(1)
    assert "a night" in page
    response = _post(patient, trip_id, "/hotel", {"hotel-hotel_choice": f"partner-{hotel_id}"})
    assert response.status_code == 302
    missing = _post(patient, trip_id, "/hotel", {"hotel-hotel_choice": "own",
                                                 "hotel-own_hotel_name": "My Airbnb"})
    assert missing.status_code == 422
    assert "so the driver can find it" in missing.get_data(as_text=True)
    assert "My Airbnb" in missing.get_data(as_text=True)
    pickup = _post(patient, trip_id, "/pickup", {"pickup-wanted": "y", "pickup-vehicle": "van",
                                                 "pickup-wheelchair": "y", "pickup-luggage": "3"})
    assert pickup.status_code == 302
    with app.app_context():
        trip = db.session.get(Trip, trip_id)
        assert trip.partner_hotel_id == int(hotel_id)
        assert (trip.pickup_status, trip.pickup_vehicle, trip.pickup_wheelchair,
                trip.pickup_luggage) == ("requested", "van", True, 3)


def test_another_clinics_hotel_is_refused(app, trip_id, as_role):
    from booking.catalogue.models import Clinic
    from booking.travel.models import PartnerHotel

    with app.app_context():
        other = db.session.scalar(select(PartnerHotel).join(Clinic).where(
            Clinic.slug == "silom-pain-rehab"))
        other_id = other.id
    patient = as_role("patient")
    response = _post(patient, trip_id, "/hotel", {"hotel-hotel_choice": f"partner-{other_id}"})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Trip, trip_id).partner_hotel_id is None


def test_landing_late_and_leaving_too_soon_are_warned(app, demo, as_role):
    with app.app_context():
        trip = make_trip()
        booking = trip.bookings[0]
        start = booking.starts_at.astimezone(CLINIC_ZONE)
        trip_id = trip.id
    patient = as_role("patient")
    _post(patient, trip_id, "/flights/arrival", {
        "arrival-flight": "TG 917", "arrival-airport": "BKK",
        "arrival-date": (start - timedelta(hours=4)).date().isoformat(),
        "arrival-time": (start - timedelta(hours=4)).strftime("%H:%M")})
    _post(patient, trip_id, "/flights/departure", {
        "departure-flight": "TG 918", "departure-airport": "BKK",
        "departure-date": (start + timedelta(days=1)).date().isoformat(),
        "departure-time": "23:00"})
    with app.app_context():
        treatment_id = db.session.get(Trip, trip_id).clinic.treatments[0].id
    _post(patient, trip_id, "/needs", {"needs-treatment": str(treatment_id),
                                       "needs-interpreter_language": "ar"})
    page = patient.get(f"/trips/{trip_id}").get_data(as_text=True)
    assert 'data-testid="warning-landing_close"' in page
    assert 'data-testid="warning-leaving_too_soon"' in page
    assert "or later" in page


def test_moving_the_consultation_updates_itinerary_and_ics(app, demo, as_role):
    with app.app_context():
        trip = make_trip()
        trip_id, booking_id = trip.id, trip.bookings[0].id
        old_start = trip.bookings[0].starts_at
        sequence = trip.ics_sequence
    patient = as_role("patient")
    before = Calendar.from_ical(patient.get(f"/trips/{trip_id}/itinerary.ics").data)
    uids = {str(e["uid"]) for e in before.walk("VEVENT")}
    assert f"trip-{trip_id}-booking-{booking_id}@spinebridge" in uids
    with app.app_context():
        from booking.scheduling.models import Booking

        booking = db.session.get(Booking, booking_id)
        slot = first_free(booking.consultation_type, after=old_start + timedelta(hours=2),
                          doctor_id=booking.doctor_id)
        scheduling.reschedule(user("patient@example.com"), booking, start=slot.start)
        db.session.commit()
        new_start = slot.start
    after = Calendar.from_ical(patient.get(f"/trips/{trip_id}/itinerary.ics").data)
    event = next(e for e in after.walk("VEVENT")
                 if str(e["uid"]) == f"trip-{trip_id}-booking-{booking_id}@spinebridge")
    assert event.decoded("dtstart") == new_start
    assert int(event["sequence"]) > sequence
    assert {str(e["uid"]) for e in after.walk("VEVENT")} == uids  # the same events, updated
    with app.app_context():
        from booking.notifications.models import OutboxMessage
        kinds = db.session.scalars(select(OutboxMessage.kind).where(
            OutboxMessage.subject_type == "trip", OutboxMessage.status == "pending")).all()
        assert "trip_itinerary_changed" in kinds


@pytest.mark.parametrize("path", ["", "/itinerary", "/itinerary.ics"])
@pytest.mark.parametrize("role", ["patient2", "other_coordinator"])
def test_another_patient_and_another_clinic_get_404(app, demo, trip_id, path, role):
    from tests.conftest import login

    client = app.test_client()
    login(client, demo[role], demo["password"])
    assert client.get(f"/trips/{trip_id}{path}").status_code == 404


@pytest.mark.parametrize("role", ["patient2", "other_coordinator"])
def test_others_cannot_change_a_trip(app, demo, trip_id, role):
    from tests.conftest import login

    client = app.test_client()
    login(client, demo[role], demo["password"])
    token = csrf_token(client, "/")
    response = client.post(f"/trips/{trip_id}/passport", data={
        "csrf_token": token, "passport-nationality": "US",
        "passport-passport_number": "Z99999999",
        "passport-passport_expiry": FUTURE.isoformat()})
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Trip, trip_id).passport_number_sealed is None


def test_anonymous_is_sent_to_sign_in(client, trip_id):
    response = client.get(f"/trips/{trip_id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_coordinator_edits_and_admin_only_reads(app, trip_id, as_role):
    coordinator = as_role("coordinator")
    page = coordinator.get(f"/trips/{trip_id}").get_data(as_text=True)
    assert "Save flight" in page
    admin = as_role("admin")
    page = admin.get(f"/trips/{trip_id}").get_data(as_text=True)
    assert "Save flight" not in page
    token = csrf_token(admin, f"/trips/{trip_id}")
    response = admin.post(f"/trips/{trip_id}/pickup", data={
        "csrf_token": token, "pickup-wanted": "y", "pickup-vehicle": "van",
        "pickup-luggage": "1"})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(Trip, trip_id).pickup_status == "not_wanted"


def test_one_open_trip_and_a_closed_one_cannot_change(app, demo, as_role):
    with app.app_context():
        trip = make_trip()
        trip_id = trip.id
    patient = as_role("patient")
    assert _post(patient, trip_id, "/close", {}).status_code == 302
    response = _post(patient, trip_id, "/pickup", {"pickup-wanted": "y",
                                                   "pickup-vehicle": "van",
                                                   "pickup-luggage": "1"})
    assert response.status_code == 409
    assert "This trip is closed" in response.get_data(as_text=True)


@pytest.mark.parametrize(("path", "field"), [
    ("/passport", "passport-passport_number"),
    ("/passport", "passport-nationality"),
    ("/companions", "companion-name"),
    ("/companions", "companion-relationship"),
    ("/hotel", "hotel-own_hotel_name"),
    ("/hotel", "hotel-own_hotel_address"),
    ("/hotel", "hotel-hotel_choice"),
    ("/pickup", "pickup-vehicle"),
    ("/pickup", "pickup-luggage"),
    ("/needs", "needs-mobility_needs"),
    ("/needs", "needs-dietary_needs"),
    ("/needs", "needs-interpreter_language"),
    ("/needs", "needs-treatment"),
])
@pytest.mark.parametrize("value", ["x" * 100_000, "bad\x00value", "-1", "🙂" * 300])
def test_bad_input_on_every_trip_field_is_a_clear_4xx(app, trip_id, as_role, path, field,
                                                        value):
    patient = as_role("patient")
    base = {"passport-nationality": "US", "passport-passport_number": "X1234567",
            "passport-passport_expiry": FUTURE.isoformat(), "companion-name": "Tom",
            "companion-relationship": "friend", "companion-nationality": "US",
            "companion-passport_number": "Y1234567",
            "companion-passport_expiry": FUTURE.isoformat(), "hotel-hotel_choice": "own",
            "hotel-own_hotel_name": "Home", "hotel-own_hotel_address": "1 Road",
            "pickup-vehicle": "van", "pickup-luggage": "2", "needs-mobility_needs": ""}
    response = _post(patient, trip_id, path, {**base, field: value})
    assert response.status_code in (302, 400, 409, 413, 422), response.status_code
    if response.status_code != 302:
        body = response.get_data(as_text=True)
        assert "Traceback" not in body


def test_my_bookings_leads_to_the_open_trip(app, trip_id, as_role):
    patient = as_role("patient")
    page = patient.get("/bookings").get_data(as_text=True)
    assert 'data-testid="my-trip"' in page and f"/trips/{trip_id}" in page
    assert patient.get("/trips").headers["Location"].endswith(f"/trips/{trip_id}")
    assert 'data-testid="my-trip"' not in as_role("patient2").get("/bookings").get_data(
        as_text=True)


def test_a_second_consultation_joins_the_open_trip(app, demo, as_role):
    from booking.scheduling import services as scheduling_services
    from tests.scheduling.helpers import ctype_for

    with app.app_context():
        trip = make_trip(flights=False, passport=False)
        trip_id, first_id = trip.id, trip.bookings[0].id
        ctype = ctype_for("sukhumvit-spine", "in_person")
        slot = first_free(ctype, after=trip.bookings[0].starts_at + timedelta(days=1))
        patient = user("patient@example.com")
        second = scheduling_services.place_hold(patient, patient=patient, ctype=ctype,
                                                doctor_id=slot.doctor_id, start=slot.start)
        db.session.commit()
        second_id = second.id
    patient_client = as_role("patient")
    page = patient_client.get(f"/bookings/{second_id}").get_data(as_text=True)
    assert "Add to your trip" in page
    response = post_form(patient_client, f"/bookings/{second_id}/trip", {},
                         token_from=f"/bookings/{second_id}")
    assert response.headers["Location"].endswith(f"/trips/{trip_id}")
    with app.app_context():
        assert [b.id for b in db.session.get(Trip, trip_id).bookings] == [first_id, second_id]
