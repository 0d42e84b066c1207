"""The trip API (/api/v1/trips): each route's happy path, who sees what (another patient's and
another clinic's trip are a 404 on every route), validation naming the field, passports
masked in answers and sealed in the database, and two writers of one flight at once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from booking.core.audit import AuditEvent
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.scheduling import services as scheduling
from booking.travel import people, services
from booking.travel.models import Companion, Flight, PartnerHotel, Trip
from tests.api.helpers import api, assert_error_shape
from tests.scheduling.helpers import ctype_for, first_free, hold, user

PASSPORT = "X12345678"
COMPANION_PASSPORT = "Y87654321"
ROLES = ("patient", "patient2", "coordinator", "other_coordinator", "admin", "anonymous")


def _build_trip(*, flights: bool, passport: bool, companion: bool) -> dict:
    """A confirmed in-person booking and its trip, built through the services; flights land
    36 hours before the consultation (at least 12 hours from now: holds start 48 hours
    ahead) and leave five days after it, whatever the time of day the tests run."""
    booking = hold("patient@example.com", confirm=True, mode="in_person")
    patient = user("patient@example.com")
    trip = services.plan_trip(patient, booking)
    arrival_at = (booking.starts_at - timedelta(hours=36)).replace(second=0, microsecond=0)
    departure_at = booking.starts_at + timedelta(days=5)
    if flights:
        services.save_flight(patient, trip, "arrival", code="TG 917", airport="BKK",
                             scheduled_at=arrival_at)
        services.save_flight(patient, trip, "departure", code="TG 918", airport="BKK",
                             scheduled_at=departure_at)
    if passport:
        people.save_passport(patient, trip, nationality="US", number=PASSPORT,
                               expiry=date.today() + timedelta(days=3 * 365))
    if companion:
        people.add_companion(patient, trip, name="Tom Miller", relationship="spouse",
                               nationality="US", passport_number=COMPANION_PASSPORT,
                               passport_expiry=date.today() + timedelta(days=4 * 365))
    db.session.commit()
    info = {"id": trip.id, "booking_id": booking.id, "starts_at": booking.starts_at,
            "arrival_at": arrival_at, "departure_at": departure_at,
            "companion_id": trip.companions[0].id if companion else None}
    db.session.remove()
    return info


@pytest.fixture()
def trip(app, tokens) -> dict:
    """The patient's trip at Sukhumvit Spine: a confirmed in-person booking, both flights,
    a passport and a companion."""
    with app.app_context():
        return _build_trip(flights=True, passport=True, companion=True)


@pytest.fixture()
def bare_trip(app, tokens) -> dict:
    """The patient's trip with nothing filled in yet."""
    with app.app_context():
        return _build_trip(flights=False, passport=False, companion=False)


def _as(role: str, tokens: dict) -> str | None:
    return None if role == "anonymous" else tokens[role]


def _flights(app, trip_id: int) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(select(Flight.direction, Flight.airline, Flight.number,
                                         Flight.airport, Flight.scheduled_at)
                                  .where(Flight.trip_id == trip_id)
                                  .order_by(Flight.direction)).all()
        db.session.remove()
    return [tuple(r) for r in rows]


def _bkk(value: datetime, **delta: float) -> str:
    """An instant (moved by `delta`) as Bangkok wall-clock time with its +07:00 offset."""
    return (value + timedelta(**delta)).astimezone(CLINIC_ZONE).isoformat()


# Planning and reading --------------------------------------------------------------------------

def test_post_trips_answers_201_for_a_new_trip_and_200_when_it_exists(app, client, tokens):
    with app.app_context():
        booking_id = hold("patient@example.com", confirm=True, mode="in_person").id
        db.session.remove()
    first = api(client, "post", "/trips", tokens["patient"], json={"booking_id": booking_id})
    assert first.status_code == 201, first.json
    assert first.json["status"] == "open"
    assert [b["id"] for b in first.json["bookings"]] == [booking_id]
    again = api(client, "post", "/trips", tokens["patient"], json={"booking_id": booking_id})
    assert again.status_code == 200 and again.json["id"] == first.json["id"]


def test_post_trips_refuses_other_peoples_bookings_and_staff(app, client, tokens):
    with app.app_context():
        booking_id = hold("patient@example.com", confirm=True, mode="in_person").id
        db.session.remove()
    body = {"booking_id": booking_id}
    assert_error_shape(api(client, "post", "/trips", tokens["patient2"], json=body), 404)
    assert_error_shape(api(client, "post", "/trips", tokens["coordinator"], json=body), 403)
    assert_error_shape(api(client, "post", "/trips", None, json=body), 401)
    assert_error_shape(api(client, "post", "/trips", tokens["patient"],
                           json={"booking_id": booking_id, "extra": 1}), 422)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Trip)) == 0


def test_get_trip_answers_the_whole_plan(client, tokens, trip):
    response = api(client, "get", f"/trips/{trip['id']}", tokens["patient"])
    assert response.status_code == 200, response.json
    body = response.json
    assert body["clinic"]["slug"] == "sukhumvit-spine"
    booking = body["bookings"][0]
    assert booking["id"] == trip["booking_id"] and booking["start"].endswith("Z")
    assert booking["start_bangkok"].endswith("+07:00")
    assert booking["start_local"].endswith(("-05:00", "-04:00"))  # the patient's New York
    arrival = next(f for f in body["flights"] if f["direction"] == "arrival")
    assert arrival["flight"] == "TG 917" and arrival["airport"] == "BKK"
    assert arrival["scheduled_at_bangkok"] == _bkk(trip["arrival_at"])
    assert body["passport"]["nationality"] == "US"
    assert body["passport"]["number"].endswith("678") and "•" in body["passport"]["number"]
    assert body["companions"][0]["name"] == "Tom Miller"
    assert body["companions"][0]["passport_number"].endswith("321")
    assert body["hotel"] == {"choice": "undecided", "status": "pending",
                             "partner_hotel": None, "own_hotel": None}
    assert body["partner_hotels"], "the demo clinic has partner hotels"
    price = body["partner_hotels"][0]["nightly_price"]
    assert price["currency"] == "THB" and 0 <= price["min_minor"] <= price["max_minor"]
    assert body["pickup"]["status"] == "not_wanted"
    assert body["warnings"] == [] and body["letter"] is None
    assert set(body["actions"]) == {"edit", "close", "reveal_passport", "request_letter"}


def test_passport_numbers_never_appear_in_full_in_trip_answers(client, tokens, trip):
    for role in ("patient", "coordinator", "admin"):
        body = api(client, "get", f"/trips/{trip['id']}", tokens[role]).get_data(as_text=True)
        assert PASSPORT not in body and COMPANION_PASSPORT not in body
        assert PASSPORT[-3:] in body  # the masked form is there


def test_passport_numbers_are_sealed_in_the_database(app, client, tokens, trip):
    response = api(client, "put", f"/trips/{trip['id']}/passport", tokens["patient"],
                   json={"nationality": "GB", "number": "Q99887766",
                         "expiry": (date.today() + timedelta(days=2000)).isoformat()})
    assert response.status_code == 200, response.json
    with app.app_context():
        raw = db.session.execute(text(
            "SELECT passport_number_sealed FROM trip WHERE id = :id"), {"id": trip["id"]}).scalar()
        companions = db.session.execute(text(
            "SELECT passport_number_sealed FROM trip_companion WHERE trip_id = :id"),
            {"id": trip["id"]}).scalars().all()
        db.session.remove()
    assert raw and "Q99887766" not in raw and "99887766" not in raw
    assert companions and all(COMPANION_PASSPORT not in c for c in companions)


def test_list_trips_shows_each_role_what_it_may_see(client, tokens, trip):
    def ids(role: str) -> list[int]:
        response = api(client, "get", "/trips", tokens[role])
        assert response.status_code == 200, response.json
        return [t["id"] for t in response.json["trips"]]

    assert ids("patient") == [trip["id"]]
    assert ids("patient2") == []
    assert ids("coordinator") == [trip["id"]]
    assert ids("other_coordinator") == []
    assert ids("admin") == [trip["id"]]
    assert_error_shape(api(client, "get", "/trips"), 401)
    # A closed trip leaves the coordinator's list, not the patient's.
    assert api(client, "post", f"/trips/{trip['id']}/close", tokens["patient"]).status_code == 200
    assert ids("coordinator") == [] and ids("patient") == [trip["id"]]


# The route × role matrix -----------------------------------------------------------------------

VISIBLE = {"patient": 200, "patient2": 404, "coordinator": 200, "other_coordinator": 404,
           "admin": 200, "anonymous": 401}
EDIT = {**VISIBLE, "admin": 403}


@pytest.mark.parametrize("role", ROLES)
def test_get_trip_by_role(client, tokens, trip, role):
    response = api(client, "get", f"/trips/{trip['id']}", _as(role, tokens))
    assert response.status_code == VISIBLE[role], response.json
    if response.status_code != 200:
        assert_error_shape(response)


@pytest.mark.parametrize("role", ROLES)
def test_put_flight_by_role(app, client, tokens, trip, role):
    before = _flights(app, trip["id"])
    response = api(client, "put", f"/trips/{trip['id']}/flights/arrival", _as(role, tokens),
                   json={"flight": "EK 384", "airport": "DMK",
                         "scheduled_at": _bkk(trip["arrival_at"], hours=-1)})
    assert response.status_code == EDIT[role], response.json
    after = _flights(app, trip["id"])
    if response.status_code == 200:
        assert ("arrival", "EK", "384", "DMK") in [a[:4] for a in after]
    else:
        assert_error_shape(response)
        assert after == before, "a refused write changed nothing"


@pytest.mark.parametrize("role", ROLES)
def test_passport_number_by_role(app, client, tokens, trip, role):
    response = api(client, "get", f"/trips/{trip['id']}/passport-number?holder=patient",
                   _as(role, tokens))
    assert response.status_code == EDIT[role], response.json
    with app.app_context():
        viewed = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.action == "passport.viewed"))
        db.session.remove()
    if response.status_code == 200:
        assert response.json == {"holder": "patient", "number": PASSPORT}
        assert viewed == 1
    else:
        assert_error_shape(response)
        assert viewed == 0


@pytest.mark.parametrize("role", ROLES)
def test_itinerary_calendar_by_role(client, tokens, trip, role):
    response = api(client, "get", f"/trips/{trip['id']}/itinerary.ics", _as(role, tokens))
    assert response.status_code == VISIBLE[role]
    if response.status_code == 200:
        assert response.mimetype == "text/calendar"
        assert b"BEGIN:VCALENDAR" in response.data and b"TG 917" in response.data
    else:
        assert_error_shape(response)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", "", None), ("post", "/close", None), ("delete", "/flights/departure", None),
    ("put", "/passport", {"nationality": "US", "number": "Z1234567", "expiry": "2040-01-01"}),
    ("post", "/companions", {"name": "A B", "relationship": "friend", "nationality": "US",
                             "passport_number": "Z1234567", "passport_expiry": "2040-01-01"}),
    ("delete", "/companions/{companion}", None),
    ("put", "/hotel", {"choice": "own", "own_hotel_name": "X", "own_hotel_address": "Y"}),
    ("put", "/pickup", {"wanted": True}), ("put", "/needs", {"dietary_needs": "vegan"}),
    ("get", "/passport-number?holder={companion}", None), ("get", "/itinerary", None),
    ("post", "/letter", None),
])
@pytest.mark.parametrize("role", ["patient2", "other_coordinator"])
def test_every_route_hides_other_peoples_trips(app, client, tokens, trip, method, path, body,
                                               role):
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(AuditEvent))
        db.session.remove()
    url = f"/trips/{trip['id']}{path}".format(companion=trip["companion_id"])
    kwargs = {"json": body} if body is not None else {}
    response = api(client, method, url, tokens[role], **kwargs)
    assert_error_shape(response, 404)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before
        db.session.remove()


# Each route's happy path -----------------------------------------------------------------------

def test_put_and_delete_flights(app, client, tokens, bare_trip):
    url = f"/trips/{bare_trip['id']}/flights"
    landing = bare_trip["starts_at"] - timedelta(hours=30)
    arrival = api(client, "put", f"{url}/arrival", tokens["patient"], json={
        "flight": "tg917", "airport": "BKK", "scheduled_at": _bkk(landing)})
    assert arrival.status_code == 200, arrival.json
    assert arrival.json["flights"][0]["flight"] == "TG 917"
    assert arrival.json["flights"][0]["scheduled_at"] == landing.astimezone(UTC).isoformat(
    ).replace("+00:00", "Z")
    # The coordinator enters the flight home the patient phoned in.
    departure = api(client, "put", f"{url}/departure", tokens["coordinator"], json={
        "flight": "TG 918", "airport": "BKK",
        "scheduled_at": (bare_trip["starts_at"] + timedelta(days=5)).isoformat()})
    assert departure.status_code == 200, departure.json
    assert [f["direction"] for f in departure.json["flights"]] == ["arrival", "departure"]
    gone = api(client, "delete", f"{url}/departure", tokens["patient"])
    assert gone.status_code == 200 and [f["direction"] for f in gone.json["flights"]] == [
        "arrival"]
    assert_error_shape(api(client, "delete", f"{url}/departure", tokens["patient"]), 404)
    assert_error_shape(api(client, "put", f"{url}/sideways", tokens["patient"], json={}), 404)


def test_companions_are_added_up_to_four_and_removed(app, client, tokens, trip):
    url = f"/trips/{trip['id']}/companions"
    expiry = (date.today() + timedelta(days=3000)).isoformat()
    for n in range(3):
        response = api(client, "post", url, tokens["patient"], json={
            "name": f"Friend {n}", "relationship": "friend", "nationality": "gb",
            "passport_number": f"P{n}234567", "passport_expiry": expiry})
        assert response.status_code == 201, response.json
    assert len(response.json["companions"]) == 4
    fifth = api(client, "post", url, tokens["patient"], json={
        "name": "One Too Many", "relationship": "friend", "nationality": "GB",
        "passport_number": "P9234567", "passport_expiry": expiry})
    assert assert_error_shape(fifth, 409)["code"] == "too_many_companions"
    removed = api(client, "delete", f"{url}/{trip['companion_id']}", tokens["patient"])
    assert removed.status_code == 200 and len(removed.json["companions"]) == 3
    assert_error_shape(api(client, "delete", f"{url}/{trip['companion_id']}",
                           tokens["patient"]), 404)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Companion)) == 3
        db.session.remove()


def test_companion_passport_number_is_revealed_to_the_clinic(client, tokens, trip):
    url = f"/trips/{trip['id']}/passport-number?holder={trip['companion_id']}"
    response = api(client, "get", url, tokens["coordinator"])
    assert response.status_code == 200
    assert response.json == {"holder": str(trip["companion_id"]), "number": COMPANION_PASSPORT}
    assert_error_shape(api(client, "get", f"/trips/{trip['id']}/passport-number?holder=999999",
                           tokens["patient"]), 404)
    assert_error_shape(api(client, "get", f"/trips/{trip['id']}/passport-number?holder=me",
                           tokens["patient"]), 422)
    assert_error_shape(api(client, "get", f"/trips/{trip['id']}/passport-number",
                           tokens["patient"]), 422)


def test_hotel_partner_and_own(app, client, tokens, trip):
    with app.app_context():
        hotel = db.session.scalar(select(PartnerHotel).join(PartnerHotel.clinic)
                                  .where(PartnerHotel.clinic.has(slug="sukhumvit-spine")))
        other = db.session.scalar(select(PartnerHotel)
                                  .where(PartnerHotel.clinic.has(slug="silom-pain-rehab")))
        hotel_id, other_id = hotel.id, other.id if other else None
        db.session.remove()
    url = f"/trips/{trip['id']}/hotel"
    partner = api(client, "put", url, tokens["patient"],
                  json={"choice": "partner", "partner_hotel_id": hotel_id})
    assert partner.status_code == 200, partner.json
    assert partner.json["hotel"]["partner_hotel"]["id"] == hotel_id
    assert partner.json["hotel"]["partner_hotel"]["nightly_price"]["currency"] == "THB"
    if other_id is not None:
        refused = api(client, "put", url, tokens["patient"],
                      json={"choice": "partner", "partner_hotel_id": other_id})
        assert "partner_hotel_id" in assert_error_shape(refused, 422)["fields"]
    own = api(client, "put", url, tokens["patient"], json={
        "choice": "own", "own_hotel_name": "  My   Flat ", "own_hotel_address": "12 Soi 8"})
    assert own.status_code == 200
    assert own.json["hotel"]["own_hotel"] == {"name": "My Flat", "address": "12 Soi 8"}
    missing = api(client, "put", url, tokens["patient"], json={"choice": "own"})
    assert "own_hotel_name" in assert_error_shape(missing, 422)["fields"]
    itinerary = api(client, "get", f"/trips/{trip['id']}/itinerary", tokens["patient"]).json
    assert "hotel" in [e["kind"] for e in itinerary["events"]]


def test_pickup_and_needs(client, tokens, trip):
    pickup = api(client, "put", f"/trips/{trip['id']}/pickup", tokens["patient"],
                 json={"wanted": True, "vehicle": "van", "wheelchair": True, "luggage": 3})
    assert pickup.status_code == 200, pickup.json
    assert pickup.json["pickup"]["status"] == "requested"
    assert pickup.json["pickup"]["vehicle"] == "van" and pickup.json["pickup"]["luggage"] == 3
    refused = api(client, "put", f"/trips/{trip['id']}/pickup", tokens["patient"],
                  json={"wanted": "yes"})
    assert "wanted" in assert_error_shape(refused, 422)["fields"]
    needs = api(client, "put", f"/trips/{trip['id']}/needs", tokens["patient"],
                json={"interpreter_language": "ar", "mobility_needs": "A wheelchair",
                      "dietary_needs": "Halal"})
    assert needs.status_code == 200, needs.json
    assert needs.json["needs"]["interpreter_language"] == "ar"
    bad = api(client, "put", f"/trips/{trip['id']}/needs", tokens["patient"],
              json={"interpreter_language": "xx"})
    assert "interpreter_language" in assert_error_shape(bad, 422)["fields"]
    too_long = api(client, "put", f"/trips/{trip['id']}/needs", tokens["patient"],
                   json={"dietary_needs": "x" * 1001})
    assert "dietary_needs" in assert_error_shape(too_long, 422)["fields"]
    treatment = api(client, "put", f"/trips/{trip['id']}/needs", tokens["patient"],
                    json={"treatment_id": 2**31 - 1})
    assert "treatment_id" in assert_error_shape(treatment, 422)["fields"]


def test_itinerary_lists_the_events_in_time_order(client, tokens, trip):
    response = api(client, "get", f"/trips/{trip['id']}/itinerary", tokens["coordinator"])
    assert response.status_code == 200, response.json
    events = response.json["events"]
    assert [e["kind"] for e in events] == ["landing", "consultation", "departure"]
    assert events[0]["starts_at_bangkok"] == _bkk(trip["arrival_at"])
    assert events[1]["booking_id"] == trip["booking_id"]
    assert response.json["timezone"] == "America/New_York"


def test_close_trip_then_changes_are_409(client, tokens, trip):
    closed = api(client, "post", f"/trips/{trip['id']}/close", tokens["patient"])
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    assert closed.json["actions"] == ["reveal_passport"]
    again = api(client, "put", f"/trips/{trip['id']}/pickup", tokens["patient"],
                json={"wanted": True})
    assert assert_error_shape(again, 409)["code"] == "trip_closed"
    assert b"STATUS:CANCELLED" in api(client, "get", f"/trips/{trip['id']}/itinerary.ics",
                                      tokens["patient"]).data


def test_letter_request_needs_a_paid_deposit(client, tokens, trip):
    response = api(client, "post", f"/trips/{trip['id']}/letter", tokens["patient"])
    assert assert_error_shape(response, 422)["code"] == "letter_incomplete"
    assert_error_shape(api(client, "post", f"/trips/{trip['id']}/letter",
                           tokens["coordinator"]), 403)


def test_letter_request_answers_the_letter_state(app, client, tokens, trip, monkeypatch):
    from booking.travel import letters

    monkeypatch.setattr(letters, "deposit_paid", lambda trip: True)
    response = api(client, "post", f"/trips/{trip['id']}/letter", tokens["patient"])
    assert response.status_code == 201, response.json
    letter = response.json["letter"]
    assert letter["state"] == "requested" and letter["number"].startswith("SBV-")
    assert "token" not in letter and "request_letter" not in response.json["actions"]
    twice = api(client, "post", f"/trips/{trip['id']}/letter", tokens["patient"])
    assert assert_error_shape(twice, 409)["code"] == "already_requested"


# Validation ------------------------------------------------------------------------------------

def _put_arrival(client, tokens, trip, **body):
    payload = {"flight": "TG 917", "airport": "BKK",
               "scheduled_at": _bkk(trip["arrival_at"], minutes=10), **body}
    return api(client, "put", f"/trips/{trip['id']}/flights/arrival", tokens["patient"],
               json=payload)


@pytest.mark.parametrize(("body", "field", "code"), [
    ({"flight": "917"}, "flight", "invalid_flight"),
    ({"flight": "TG"}, "flight", "invalid_flight"),
    ({"flight": "12 345"}, "flight", "invalid_flight"),
    ({"airport": "LHR"}, "airport", "invalid_field"),
    ({"scheduled_at": "2027-03-01T07:30:00"}, "scheduled_at", "invalid_field"),
    ({"scheduled_at": "2020-03-01T07:30:00+07:00"}, "scheduled_at", "flight_in_past"),
    ({"scheduled_at": "next tuesday"}, "scheduled_at", "invalid_field"),
    ({"scheduled_at": "2099-03-01T07:30:00+07:00"}, "scheduled_at", "flight_too_far"),
    ({"extra": True}, "extra", "invalid_field"),
])
def test_flight_validation_names_the_field(app, client, tokens, trip, body, field, code):
    before = _flights(app, trip["id"])
    error = assert_error_shape(_put_arrival(client, tokens, trip, **body), 422)
    assert field in error["fields"] and error["code"] == code, error
    assert _flights(app, trip["id"]) == before


def test_departure_before_arrival_is_422(app, client, tokens, trip):
    response = api(client, "put", f"/trips/{trip['id']}/flights/departure", tokens["patient"],
                   json={"flight": "TG 918", "airport": "BKK",
                         "scheduled_at": _bkk(trip["arrival_at"], hours=-1)})
    error = assert_error_shape(response, 422)
    assert error["code"] == "departure_before_arrival" and "scheduled_at" in error["fields"]


@pytest.mark.parametrize(("body", "field"), [
    ({"number": "AB"}, "number"),
    ({"number": "AB12!"}, "number"),
    ({"nationality": "XX"}, "nationality"),
    ({"expiry": "2021-01-01"}, "expiry"),
    ({"expiry": "01/02/2030"}, "expiry"),
    ({"expiry": "9999-01-01"}, "expiry"),
])
def test_passport_validation_names_the_field(client, tokens, trip, body, field):
    payload = {"nationality": "US", "number": "X12345678",
               "expiry": (date.today() + timedelta(days=3000)).isoformat(), **body}
    response = api(client, "put", f"/trips/{trip['id']}/passport", tokens["patient"],
                   json=payload)
    assert field in assert_error_shape(response, 422)["fields"]


def test_a_nul_character_in_a_name_is_refused(app, client, tokens, trip):
    response = api(client, "post", f"/trips/{trip['id']}/companions", tokens["patient"], json={
        "name": "Tom\x00Miller", "relationship": "friend", "nationality": "US",
        "passport_number": "Z1234567", "passport_expiry": "2040-01-01"})
    assert_error_shape(response, 400)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Companion)) == 1
        db.session.remove()


@pytest.mark.parametrize("size", [10_000, 100_000])
def test_a_very_long_string_is_a_4xx(client, tokens, trip, size):
    response = api(client, "post", f"/trips/{trip['id']}/companions", tokens["patient"], json={
        "name": "x" * size, "relationship": "friend", "nationality": "US",
        "passport_number": "Z1234567", "passport_expiry": "2040-01-01"})
    assert_error_shape(response)
    assert response.status_code in (413, 422)
    flight = _put_arrival(client, tokens, trip, flight="T" * size)
    assert_error_shape(flight)


def test_writes_with_a_session_need_the_csrf_header(as_role, trip):
    client = as_role("patient")
    response = client.put(f"/api/v1/trips/{trip['id']}/pickup", json={"wanted": True})
    assert assert_error_shape(response, 400)["code"] == "csrf_failed"
    assert client.get(f"/api/v1/trips/{trip['id']}").status_code == 200


# Two writers at once ---------------------------------------------------------------------------

def _race(app, tokens, trip_id: int, direction: str, bodies: list[dict]) -> list[int]:
    barrier = threading.Barrier(len(bodies))
    statuses: list[int] = []
    lock = threading.Lock()

    def put(body: dict) -> None:
        client = app.test_client()
        barrier.wait()
        response = api(client, "put", f"/trips/{trip_id}/flights/{direction}",
                       tokens["patient"], json=body)
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=put, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return statuses


def test_two_puts_of_the_same_new_flight_at_once_leave_one_flight(app, client, tokens,
                                                                   bare_trip):
    landing = bare_trip["starts_at"] - timedelta(hours=30)
    bodies = [{"flight": "TG 917", "airport": "BKK", "scheduled_at": _bkk(landing)},
              {"flight": "EK 384", "airport": "DMK", "scheduled_at": _bkk(landing, hours=2)}]
    statuses = _race(app, tokens, bare_trip["id"], "arrival", bodies)
    assert statuses == [200, 200]
    rows = _flights(app, bare_trip["id"])
    assert len(rows) == 1
    final = rows[0]
    assert (final[1], final[3]) in {("TG", "BKK"), ("EK", "DMK")}
    answer = api(client, "get", f"/trips/{bare_trip['id']}", tokens["patient"]).json
    assert answer["flights"][0]["airport"] == final[3]
    with app.app_context():
        saved = db.session.scalars(select(AuditEvent.after).where(
            AuditEvent.action == "trip.arrival_flight_saved").order_by(AuditEvent.id)).all()
        sequence = db.session.get(Trip, bare_trip["id"]).ics_sequence
        db.session.remove()
    # Each write saw the other's result: the audit trail ends with what is stored.
    assert len(saved) == 2 and saved[-1]["airport"] == final[3]
    assert sequence == 2


def test_many_puts_of_an_existing_flight_at_once_end_consistent(app, client, tokens, trip):
    landing = trip["arrival_at"]
    bodies = [{"flight": f"TG {900 + n}", "airport": "BKK",
               "scheduled_at": _bkk(landing, minutes=n)} for n in range(8)]
    statuses = _race(app, tokens, trip["id"], "arrival", bodies)
    assert statuses == [200] * 8
    rows = [r for r in _flights(app, trip["id"]) if r[0] == "arrival"]
    assert len(rows) == 1
    # The stored flight is one of the bodies, whole (number and time from the same request).
    n = int(rows[0][2]) - 900
    assert rows[0][4].astimezone(UTC) == landing + timedelta(minutes=n)




def _later_booking(booking):  # type: ignore[no-untyped-def]
    """A second held booking of the same patient at the same clinic, a day after `booking`."""
    ctype = ctype_for("sukhumvit-spine", "video")
    slot = first_free(ctype, after=booking.ends_at + timedelta(days=1))
    patient = user("patient@example.com")
    held = scheduling.place_hold(patient, patient=patient, ctype=ctype,
                                 doctor_id=slot.doctor_id, start=slot.start)
    db.session.commit()
    return held


@pytest.mark.parametrize("same_booking", [True, False])
def test_two_plans_at_once_make_one_trip(app, client, tokens, same_booking):
    with app.app_context():
        first = hold("patient@example.com", confirm=True, mode="in_person")
        second = first if same_booking else _later_booking(first)
        first, second = first.id, second.id
        db.session.remove()
    barrier = threading.Barrier(2)
    answers: list[tuple[int, object]] = []
    lock = threading.Lock()

    def post(booking_id: int) -> None:
        c = app.test_client()
        barrier.wait()
        response = api(c, "post", "/trips", tokens["patient"], json={"booking_id": booking_id})
        with lock:
            answers.append((response.status_code, (response.json or {}).get("id")))

    threads = [threading.Thread(target=post, args=(b,)) for b in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with app.app_context():
        trips = db.session.scalar(select(func.count()).select_from(Trip))
        db.session.remove()
    assert trips == 1, answers
    assert sorted(status for status, _id in answers) == [200, 201], answers
    assert len({trip_id for _status, trip_id in answers}) == 1
