"""The coordinators' travel desk: the arrivals board for the coming 7 days (Bangkok days),
departures, letters to review, confirming pickups and setting the hotel's status (refused with
what was typed kept), the CSV, who may see and do what, concurrency and the query count."""

from __future__ import annotations

import csv
import io
import secrets
import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, func, select

from booking.accounts import services as accounts
from booking.catalogue.models import Clinic
from booking.core import crypto
from booking.core.audit import AuditEvent
from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.notifications.models import OutboxMessage
from booking.travel import services
from booking.travel.models import (
    Companion,
    Flight,
    HotelChoice,
    PartnerHotel,
    PickupStatus,
    Trip,
    VisaLetter,
)
from tests.conftest import csrf_token, location_path, login
from tests.scheduling.helpers import screen, user
from tests.travel.helpers import bangkok, make_trip

COORDINATOR = "coordinator@sukhumvit-spine.example.com"


def today() -> date:
    return utcnow().astimezone(CLINIC_ZONE).date()


def new_patient(name: str, email: str) -> str:
    """A patient account made through the accounts service (the demo has two); commits."""
    accounts.register_patient({"email": email, "name": name, "password": "a long passphrase 1",
                               "timezone": "Europe/Berlin", "language": "en", "country": "DE"})
    db.session.commit()
    screen(email)  # a patient answers the health questions before holding a time
    return email


def plan(email: str = "patient@example.com", clinic: str = "sukhumvit-spine", *,
         landing: datetime, leaving: datetime | None = None, code: str = "TG 917",
         pickup: bool = True, wheelchair: bool = False, interpreter: str | None = None,
         vehicle: str = "van", luggage: int = 3, partner_hotel: bool = True,
         companion: bool = False) -> int:
    """A confirmed booking's trip with the flights, pickup, needs and hotel asked for, all
    through the services as the patient fills them in; commits; the trip's id."""
    trip = make_trip(email, clinic, flights=False, passport=False, companion=companion)
    patient = user(email)
    services.save_flight(patient, trip, "arrival", code=code, airport="BKK",
                         scheduled_at=landing)
    services.save_flight(patient, trip, "departure", code="TG 918", airport="BKK",
                         scheduled_at=leaving or landing + timedelta(days=10))
    if pickup:
        services.save_pickup(patient, trip, wanted=True, vehicle=vehicle,
                             wheelchair=wheelchair, luggage=luggage)
    services.save_needs(patient, trip, interpreter_language=interpreter, mobility_needs="",
                        dietary_needs="")
    if partner_hotel:
        hotel = services.partner_hotels(trip.clinic_id)[0]
        services.save_hotel(patient, trip, choice="partner", partner_hotel_id=hotel.id)
    db.session.commit()
    return trip.id


def in_days(days: int, hour: int = 7, minute: int = 30) -> datetime:
    return bangkok(today() + timedelta(days=days), hour, minute)


def confirm(client, trip_id: int, **fields):  # type: ignore[no-untyped-def]
    data = {"driver": "Somchai Jaidee", "driver_phone": "081 234 5678",
            "vehicle_plate": "1กข 2345", **fields}
    return client.post(f"/clinic/travel/trips/{trip_id}/pickup",
                       data={**data, "csrf_token": csrf_token(client, "/clinic/travel")})


def trip_row(trip_id: int) -> Trip:
    db.session.expire_all()
    return db.session.get(Trip, trip_id)


def audits(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == action))


@pytest.fixture()
def two_days(app, demo) -> int:
    """Jane lands in 2 days at 07:30 Bangkok, wheelchair and a German interpreter asked."""
    with app.app_context():
        return plan(landing=in_days(2), wheelchair=True, interpreter="de", companion=True)


@pytest.fixture()
def three_days(app, demo) -> int:
    """Jane lands in 3 days at 07:30 Bangkok: her pickup notice (48 h before) is still to come
    at any hour the tests run (with 2 days it is due, and sent, after 07:30 Bangkok)."""
    with app.app_context():
        return plan(landing=in_days(3), wheelchair=True, interpreter="de", companion=True)


# The board -------------------------------------------------------------------------------

def test_board_lists_a_trip_landing_in_two_days_with_flight_bangkok_time_and_needs(
        as_role, two_days):
    page = as_role("coordinator").get("/clinic/travel")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    card = html.split(f'data-testid="arrival-{two_days}"')[1].split("</article>")[0]
    assert ">07:30<" in card  # the landing in Bangkok time
    assert "TG 917" in card and "BKK" in card
    assert "Pickup requested: to confirm" in card
    assert 'data-testid="wheelchair"' in card
    assert "Interpreter: German" in card
    assert "+ 1 companion" in card and "3 bags" in card and "Van" in card
    assert f'href="/trips/{two_days}"' in card
    day = (today() + timedelta(days=2))
    assert f"{day:%A}, {day:%B} {day.day}" in html.split(f'data-testid="arrival-{two_days}"')[0]
    assert "Sukhumvit Garden Residence (demo)" in card and "Not booked yet" in card


def test_a_trip_landing_in_nine_days_shows_only_on_the_next_week(app, as_role, demo):
    with app.app_context():
        later = plan(landing=in_days(9, 22, 15), code="EK 384")
    coordinator = as_role("coordinator")
    assert f"arrival-{later}" not in coordinator.get("/clinic/travel").get_data(as_text=True)
    html = coordinator.get("/clinic/travel").get_data(as_text=True)
    assert "Nobody lands in Bangkok" in html  # said kindly, with what will appear
    nxt = (today() + timedelta(days=7)).isoformat()
    assert f"/clinic/travel?start={nxt}" in html
    week = coordinator.get(f"/clinic/travel?start={nxt}").get_data(as_text=True)
    assert f'data-testid="arrival-{later}"' in week and ">22:15<" in week and "EK 384" in week


def test_another_clinics_trip_is_not_on_the_board(app, as_role, demo):
    with app.app_context():
        theirs = plan("patient2@example.com", "silom-pain-rehab", landing=in_days(1))
    html = as_role("coordinator").get("/clinic/travel").get_data(as_text=True)
    assert f"arrival-{theirs}" not in html
    other = as_role("other_coordinator").get("/clinic/travel").get_data(as_text=True)
    assert f'data-testid="arrival-{theirs}"' in other


def test_patient_gets_403_and_anonymous_a_login_redirect(as_role, demo):
    assert as_role("patient").get("/clinic/travel").status_code == 403
    assert as_role("patient").get("/clinic/travel.csv").status_code == 403
    anonymous = as_role("anonymous").get("/clinic/travel")
    assert anonymous.status_code == 302 and location_path(anonymous) == "/login"


def test_admin_chooses_the_clinic_and_sees_no_forms(app, as_role, demo):
    with app.app_context():
        theirs = plan("patient2@example.com", "silom-pain-rehab", landing=in_days(1))
        silom = db.session.scalar(select(Clinic.id).where(Clinic.slug == "silom-pain-rehab"))
    admin = as_role("admin")
    html = admin.get(f"/clinic/travel?clinic={silom}").get_data(as_text=True)
    assert f'data-testid="arrival-{theirs}"' in html and 'id="clinic"' in html
    assert "/pickup" not in html and "Confirm pickup" not in html  # admins look
    assert confirm(admin, theirs).status_code == 403


def test_a_bad_start_date_is_said_not_a_500(as_role, demo):
    page = as_role("coordinator").get("/clinic/travel?start=2026-13-45")
    assert page.status_code == 200
    assert "must be a date written YYYY-MM-DD" in page.get_data(as_text=True)


def test_the_nav_and_the_dashboard_lead_to_the_desk(as_role, two_days):
    coordinator = as_role("coordinator")
    dashboard = coordinator.get("/coordinator/").get_data(as_text=True)
    assert 'href="/clinic/travel"' in dashboard
    entry = dashboard.split('data-testid="travel-needing"')[1].split("</section>")[0]
    assert "Arrivals that need you" in entry
    assert f'data-testid="travel-pickup-{two_days}"' in entry
    assert "7:30" in entry and "TG 917" in entry and "pickup to confirm" in entry
    assert 'href="/clinic/travel"' in as_role("admin").get("/").get_data(as_text=True)


def test_dashboard_has_no_travel_entry_when_nothing_waits(as_role, demo):
    html = as_role("coordinator").get("/coordinator/").get_data(as_text=True)
    assert 'data-testid="travel-needing"' not in html
    assert 'data-testid="travel-letters"' not in html


# Letters to review -----------------------------------------------------------------------

def _letter(trip_id: int, state: str = "requested") -> int:
    trip = db.session.get(Trip, trip_id)
    letter = VisaLetter(trip_id=trip.id, state=state, number=f"SBV-T-{secrets.token_hex(4)}",
                        token=secrets.token_urlsafe(24), requested_by_id=trip.patient_id)
    db.session.add(letter)
    db.session.commit()
    return letter.id


def test_letters_to_review_oldest_first_on_the_desk_and_counted_on_the_dashboard(
        app, as_role, demo, two_days):
    with app.app_context():
        new_patient("Ana Pereira", "ana@example.com")
        second = plan("ana@example.com", landing=in_days(3))
        first_letter = _letter(two_days)
        second_letter = _letter(second)
        theirs = plan("patient2@example.com", "silom-pain-rehab", landing=in_days(1))
        _letter(theirs)
    coordinator = as_role("coordinator")
    html = coordinator.get("/clinic/travel").get_data(as_text=True)
    letters = html.split('data-testid="letters"')[1]
    assert letters.index(f"letter-{first_letter}") < letters.index(f"letter-{second_letter}")
    assert letters.count('data-testid="letter-') == 2
    assert f'href="/trips/{second}"' in letters
    dashboard = coordinator.get("/coordinator/").get_data(as_text=True)
    assert "Visa letters to review" in dashboard
    assert "2 patients are waiting for a visa support letter." in dashboard


# Confirming a pickup ---------------------------------------------------------------------

def test_confirming_the_pickup_stores_driver_audits_and_queues_the_pickup_notice(
        app, as_role, three_days):
    coordinator = as_role("coordinator")
    done = confirm(coordinator, three_days)
    assert done.status_code == 303
    assert done.headers["Location"].endswith(f"/clinic/travel#trip-{three_days}")
    with app.app_context():
        trip = trip_row(three_days)
        assert trip.pickup_status == PickupStatus.CONFIRMED
        assert (trip.pickup_driver, trip.pickup_driver_phone, trip.pickup_vehicle_plate) == (
            "Somchai Jaidee", "+66812345678", "1กข 2345")
        event_row = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "trip.pickup_confirmed"))
        assert event_row.object_id == str(three_days) and event_row.actor_label == COORDINATOR
        assert event_row.after["driver_phone"] == "+66812345678"
        notices = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.about("trip", three_days),
            OutboxMessage.kind == "trip_pickup_details")).all()
        pending = [m for m in notices if m.status == "pending"]
        assert len(pending) == 1 and "Somchai Jaidee" in pending[0].payload["key"]
        landing = trip.arrival.scheduled_at
        assert abs((pending[0].due_at - max(utcnow(), landing - timedelta(hours=48)))
                   .total_seconds()) < 60
        assert any(m.kind == "trip_itinerary_changed" and m.status == "pending"
                   for m in db.session.scalars(select(OutboxMessage).where(
                       OutboxMessage.about("trip", three_days))))
    html = coordinator.get("/clinic/travel").get_data(as_text=True)
    card = html.split(f'data-testid="arrival-{three_days}"')[1].split("</article>")[0]
    assert "Pickup confirmed" in card and "Somchai Jaidee" in card and "1กข 2345" in card
    assert "Confirm pickup" not in card and "Change the driver" in card
    assert confirm(coordinator, three_days).status_code == 303  # already done: said, not redone
    with app.app_context():
        assert audits("trip.pickup_confirmed") == 1


def test_a_confirmed_pickup_gets_another_driver_and_the_patient_new_details(
        app, as_role, three_days):
    coordinator = as_role("coordinator")
    assert confirm(coordinator, three_days).status_code == 303
    changed = confirm(coordinator, three_days, driver="Anan Rungruang")
    assert changed.status_code == 303
    with app.app_context():
        trip = trip_row(three_days)
        assert trip.pickup_status == PickupStatus.CONFIRMED
        assert trip.pickup_driver == "Anan Rungruang"
        assert audits("trip.pickup_confirmed") == 2
        [pending] = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.about("trip", three_days), OutboxMessage.kind == "trip_pickup_details",
            OutboxMessage.status == "pending")).all()
        assert "Anan Rungruang" in pending.payload["key"]


def test_another_clinics_coordinator_cannot_confirm_and_nothing_changes(app, as_role,
                                                                         two_days):
    other = as_role("other_coordinator")
    assert confirm(other, two_days).status_code == 404
    token = csrf_token(other, "/clinic/travel")
    assert other.post(f"/clinic/travel/trips/{two_days}/hotel",
                      data={"hotel_status": "booked", "csrf_token": token}).status_code == 404
    with app.app_context():
        trip = trip_row(two_days)
        assert trip.pickup_status == PickupStatus.REQUESTED and trip.pickup_driver == ""
        assert trip.hotel_status == "pending"
        assert audits("trip.pickup_confirmed") == 0


def test_a_changed_arrival_flight_after_confirmation_shows_reconfirm(app, as_role, two_days):
    coordinator = as_role("coordinator")
    confirm(coordinator, two_days)
    with app.app_context():
        trip = trip_row(two_days)
        services.save_flight(user("patient@example.com"), trip, "arrival", code="TG 915",
                             airport="BKK", scheduled_at=in_days(2, 13, 5))
        db.session.commit()
    html = coordinator.get("/clinic/travel").get_data(as_text=True)
    card = html.split(f'data-testid="arrival-{two_days}"')[1].split("</article>")[0]
    assert "Flight changed: reconfirm pickup" in card and ">13:05<" in card and "TG 915" in card
    assert "Confirm again" in card and "old flight" in card
    assert 'value="Somchai Jaidee"' in card  # the same driver, to confirm again in one click
    assert confirm(coordinator, two_days).status_code == 303
    with app.app_context():
        assert trip_row(two_days).pickup_status == PickupStatus.CONFIRMED
        assert audits("trip.pickup_confirmed") == 2


def test_a_bad_phone_number_keeps_what_was_typed_and_says_why(app, as_role, two_days):
    page = confirm(as_role("coordinator"), two_days, driver="Somchai <b>J</b>",
                   driver_phone="12", vehicle_plate="1กข 2345")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    card = html.split(f'data-testid="arrival-{two_days}"')[1].split("</article>")[0]
    assert 'value="Somchai &lt;b&gt;J&lt;/b&gt;"' in card and 'value="12"' in card
    assert 'value="1กข 2345"' in card
    assert f'id="driver_phone-{two_days}-error"' in card
    assert "not a phone number we can call" in card
    assert 'aria-invalid="true"' in card
    with app.app_context():
        assert trip_row(two_days).pickup_status == PickupStatus.REQUESTED


@pytest.mark.parametrize("field", ["driver", "driver_phone", "vehicle_plate"])
def test_a_missing_field_is_said_beside_it(as_role, two_days, field):
    page = confirm(as_role("coordinator"), two_days, **{field: "  "})
    assert page.status_code == 422
    assert f'id="{field}-{two_days}-error"' in page.get_data(as_text=True)


@pytest.mark.parametrize("field", ["driver", "driver_phone", "vehicle_plate"])
def test_nul_bytes_and_100_kb_inputs_are_refused_without_a_500(app, as_role, two_days, field):
    coordinator = as_role("coordinator")
    assert confirm(coordinator, two_days, **{field: "Som\x00chai"}).status_code == 400
    huge = confirm(coordinator, two_days, **{field: "9" * 100_000})
    assert huge.status_code == 422
    assert len(huge.get_data()) < 200_000  # not echoed back whole
    with app.app_context():
        assert trip_row(two_days).pickup_status == PickupStatus.REQUESTED


def test_two_simultaneous_confirms_apply_once(app, demo, three_days):
    first = app.test_client()
    assert login(first, COORDINATOR, demo["password"]).status_code == 302
    token = csrf_token(first, "/clinic/travel")
    clients = []
    for _ in range(4):
        c = app.test_client()
        c.set_cookie("session", first.get_cookie("session").value)
        clients.append(c)
    barrier = threading.Barrier(len(clients))
    codes: list[int] = []

    def send(c) -> None:  # type: ignore[no-untyped-def]
        barrier.wait()
        codes.append(c.post(f"/clinic/travel/trips/{three_days}/pickup", data={
            "driver": "Somchai Jaidee", "driver_phone": "081 234 5678",
            "vehicle_plate": "1กข 2345", "csrf_token": token}).status_code)

    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert codes == [303] * 4
    with app.app_context():
        assert audits("trip.pickup_confirmed") == 1
        assert db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.about("trip", three_days), OutboxMessage.kind == "trip_pickup_details",
            OutboxMessage.status == "pending")) == 1


# Hotel status ----------------------------------------------------------------------------

def test_hotel_status_is_set_for_a_partner_hotel_audited_and_told(app, as_role, two_days):
    coordinator = as_role("coordinator")
    token = csrf_token(coordinator, "/clinic/travel")
    done = coordinator.post(f"/clinic/travel/trips/{two_days}/hotel",
                            data={"hotel_status": "booked", "csrf_token": token})
    assert done.status_code == 303
    with app.app_context():
        assert trip_row(two_days).hotel_status == "booked"
        assert audits("trip.hotel_status_set") == 1
    refused = coordinator.post(f"/clinic/travel/trips/{two_days}/hotel",
                               data={"hotel_status": "sold", "csrf_token": token})
    assert refused.status_code == 422
    assert f'id="hotel_status-{two_days}-error"' in refused.get_data(as_text=True)


def test_own_hotel_has_no_status_for_the_clinic(app, as_role, demo):
    with app.app_context():
        trip_id = plan(landing=in_days(1), partner_hotel=False)
        services.save_hotel(user("patient@example.com"), db.session.get(Trip, trip_id),
                            choice="own", own_name="Hotel Ibis", own_address="1 Sukhumvit Rd")
        db.session.commit()
    coordinator = as_role("coordinator")
    html = coordinator.get("/clinic/travel").get_data(as_text=True)
    card = html.split(f'data-testid="arrival-{trip_id}"')[1].split("</article>")[0]
    assert "Hotel Ibis" in card and "the patient books it" in card and "hotel-status" not in card
    token = csrf_token(coordinator, "/clinic/travel")
    refused = coordinator.post(f"/clinic/travel/trips/{trip_id}/hotel",
                               data={"hotel_status": "booked", "csrf_token": token})
    assert refused.status_code == 303
    assert "books their own hotel" in coordinator.get("/clinic/travel").get_data(as_text=True)


# CSV -------------------------------------------------------------------------------------

def test_csv_has_the_weeks_arrivals_and_departures_in_bangkok_time_formulas_quoted(
        app, as_role, demo, two_days):
    with app.app_context():
        new_patient("=HYPERLINK(\"http://x\")", "formula@example.com")
        sly = plan("formula@example.com", landing=in_days(4, 23, 50),
                   leaving=in_days(6, 1, 10), pickup=False)
        plan("patient2@example.com", "silom-pain-rehab", landing=in_days(1))
    response = as_role("coordinator").get("/clinic/travel.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0])[:6] == ["direction", "date_bangkok", "time_bangkok", "flight",
                                 "airport", "patient"]
    assert [(r["direction"], r["trip_id"]) for r in rows] == [
        ("arrival", str(two_days)), ("arrival", str(sly)), ("departure", str(sly))]
    jane, formula, leaving = rows
    assert (jane["date_bangkok"], jane["time_bangkok"], jane["flight"]) == (
        (today() + timedelta(days=2)).isoformat(), "07:30", "TG 917")
    assert jane["pickup"] == "requested" and jane["wheelchair"] == "yes"
    assert jane["interpreter"] == "de" and jane["companions"] == "1"
    assert formula["patient"] == "'=HYPERLINK(\"http://x\")"
    assert formula["time_bangkok"] == "23:50"  # 16:50 UTC: Bangkok's day, not UTC's
    assert (leaving["date_bangkok"], leaving["time_bangkok"]) == (
        (today() + timedelta(days=6)).isoformat(), "01:10")


# Queries ---------------------------------------------------------------------------------

def _bulk_trips(n: int, clinic_slug: str = "sukhumvit-spine") -> None:
    """n open trips landing in the coming week, written as rows (the board's reads are what
    is measured, not how trips are made); each patient its own account."""
    clinic = db.session.scalar(select(Clinic).where(Clinic.slug == clinic_slug))
    hotel = db.session.scalar(select(PartnerHotel).where(PartnerHotel.clinic_id == clinic.id))
    existing = db.session.scalar(select(func.count()).select_from(Trip))
    template = user("patient@example.com")
    for i in range(existing, existing + n):
        patient = type(template)(email=f"bulk{i}@example.com", name=f"Bulk Patient {i}",
                                 role="patient", timezone="UTC", language="en",
                                 currency="USD", password_hash=template.password_hash)
        db.session.add(patient)
        db.session.flush()
        trip = Trip(patient_id=patient.id, clinic_id=clinic.id,
                    pickup_status=PickupStatus.REQUESTED if i % 2 else PickupStatus.CONFIRMED,
                    pickup_driver="" if i % 2 else "Driver", hotel_choice=HotelChoice.PARTNER,
                    partner_hotel_id=hotel.id, interpreter_language="de" if i % 3 else None)
        db.session.add(trip)
        db.session.flush()
        db.session.add_all([
            Flight(trip_id=trip.id, direction="arrival", airline="TG", number=str(100 + i),
                   airport="BKK", scheduled_at=in_days(i % 7, 6 + i % 12)),
            Flight(trip_id=trip.id, direction="departure", airline="TG", number=str(500 + i),
                   airport="BKK", scheduled_at=in_days(i % 7, 20) + timedelta(days=2)),
            Companion(trip_id=trip.id, name=f"Companion {i}", relationship_to_patient="spouse",
                      nationality="DE", passport_number_sealed=crypto.seal("C1234567"),
                      passport_expiry=date.today() + timedelta(days=2000)),
            VisaLetter(trip_id=trip.id, number=f"SBV-B-{i:05d}", token=f"bulk-token-{i}",
                       requested_by_id=patient.id),
        ])
    db.session.commit()


def test_the_board_reads_the_same_number_of_queries_for_3_and_30_trips(app, as_role, demo):
    coordinator = as_role("coordinator")

    def statements(path: str) -> int:
        seen: list[str] = []
        with app.app_context():
            engine = db.engine
        listener = lambda conn, cursor, statement, *args: seen.append(statement)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            response = coordinator.get(path)
            assert response.status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    with app.app_context():
        _bulk_trips(3)
    few = {path: statements(path) for path in ("/clinic/travel", "/clinic/travel.csv",
                                                "/coordinator/")}
    with app.app_context():
        _bulk_trips(27)
    many = {path: statements(path) for path in few}
    html = coordinator.get("/clinic/travel").get_data(as_text=True)
    assert html.count('data-testid="arrival-') == 30
    assert many == few, (few, many)
    print("\nstatements per request (3 trips == 30 trips):", few)
