"""/api/v1/trips, the routes: a patient's trip to Bangkok (flights, passport, companions,
hotel, pickup, needs, itinerary, visa letter), with the same rules and errors as the page.

Views parse the request, call booking.travel.services inside one transaction and serialise the
trip. Another patient's trip, and another clinic's, is a 404 on every route. A service's 422
names the field as this API calls it (the page's "date" is `scheduled_at` here)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Response
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from booking.accounts.models import User
from booking.api.common import answers_for, protect_session_writes, signed_in
from booking.api.errors import Blueprint
from booking.api.serializers import iso
from booking.api.travel import body, schemas
from booking.api.travel.body import trip_body
from booking.core.actions import transaction
from booking.core.errors import FieldInvalid, NotAllowed, NotFound
from booking.extensions import csrf
from booking.scheduling import services as scheduling
from booking.travel import itinerary as plan
from booking.travel import letters, people, services
from booking.travel.models import Companion, Trip

bp = Blueprint("trips", __name__, url_prefix="/api/v1",
               description="A patient's trip: flights, passports, companions, hotel, airport "
                           "pickup, needs, itinerary and visa letter")
csrf.exempt(bp)

BODY_ERRORS = (400, 401, 403, 404, 409, 413, 422)
READ_ERRORS = (400, 401, 404)


bp.before_request(protect_session_writes)
answers = answers_for(bp)


def _user() -> User:
    return current_user._get_current_object()


@contextmanager
def named(**names: str) -> Iterator[None]:
    """A service's 422 names its field as the page does; rename it as this API's body does."""
    try:
        yield
    except FieldInvalid as error:
        error.field = names.get(error.field, error.field)
        error.fields = {names.get(k, k): v for k, v in error.fields.items()}
        raise


# Trips -----------------------------------------------------------------------------------------

@bp.route("/trips", methods=["GET"])
@signed_in
@bp.response(200, schemas.TripListSchema)
@answers(401)
def list_trips() -> dict:
    """Your trips (patients, newest first); your clinic's open trips (coordinators); every
    trip (admins)."""
    return {"trips": [body.summary(t) for t in services.visible_trips(_user())]}


@bp.route("/trips", methods=["POST"])
@signed_in
@bp.arguments(schemas.TripCreateSchema)
@bp.response(201, schemas.TripSchema, description="A new trip starts with the booking")
@bp.alt_response(200, schema=schemas.TripSchema,
                 description="The booking was already in a trip, or joined your open trip")
@answers(*BODY_ERRORS)
def create_trip(args: dict) -> tuple[dict, int]:
    """Plan the trip for one of your bookings: the trip it is in, your open trip (at the same
    clinic; else 409 `trip_other_clinic`), or a new one (201). 409 `booking_ended` for a
    cancelled booking."""
    actor = _user()
    if not actor.is_patient:
        raise NotAllowed(_l("Only the patient plans a trip, from one of their bookings."))
    booking = scheduling.get_booking(actor, args["booking_id"])
    with transaction():
        trip, created = services.plan_trip_for(actor, booking)
    return trip_body(actor, trip), 201 if created else 200


@bp.route("/trips/<int:trip_id>", methods=["GET"])
@signed_in
@bp.response(200, schemas.TripSchema)
@answers(401, 404)
def get_trip(trip_id: int) -> dict:
    """One trip: bookings, flights, passports (masked), companions, hotel, pickup, needs,
    warnings, the visa letter, and what you may do."""
    actor = _user()
    return trip_body(actor, services.get_trip(actor, trip_id))


@bp.route("/trips/<int:trip_id>/close", methods=["POST"])
@signed_in
@bp.response(200, schemas.TripSchema)
@answers(*BODY_ERRORS)
def close_trip(trip_id: int) -> dict:
    """End the trip (your next visit is a new trip); 409 `trip_closed` when it already is."""
    actor = _user()
    trip = services.get_trip(actor, trip_id)
    with transaction():
        services.close_trip(actor, trip)
    return trip_body(actor, trip)


# Flights ---------------------------------------------------------------------------------------

@bp.route("/trips/<int:trip_id>/flights/<any(arrival, departure):direction>")
class FlightView(MethodView):
    """One rule for both methods: an id too large for the database is then a 404 for each
    (with a rule per method, werkzeug would answer the other rule's 405)."""

    @signed_in
    @bp.arguments(schemas.FlightInSchema)
    @bp.response(200, schemas.TripSchema)
    @answers(*BODY_ERRORS)
    def put(self, args: dict, trip_id: int, direction: str) -> dict:
        """Add or change the flight to Bangkok (arrival: its landing) or home (departure: its
        take-off). 422 names `flight`, `airport` or `scheduled_at` (past, more than 18 months
        ahead, or a flight home before the landing)."""
        actor = _user()
        trip = services.get_trip(actor, trip_id)
        with transaction(), named(date="scheduled_at"):
            services.save_flight(actor, trip, direction, code=args["flight"],
                                 airport=args["airport"], scheduled_at=args["scheduled_at"])
        return trip_body(actor, trip)

    @signed_in
    @bp.response(200, schemas.TripSchema)
    @answers(*BODY_ERRORS)
    def delete(self, trip_id: int, direction: str) -> dict:
        """Remove the arrival or departure flight (404 when there is none)."""
        actor = _user()
        trip = services.get_trip(actor, trip_id)
        with transaction():
            services.remove_flight(actor, trip, direction)
        return trip_body(actor, trip)


# Passports and companions ----------------------------------------------------------------------

@bp.route("/trips/<int:trip_id>/passport", methods=["PUT"])
@signed_in
@bp.arguments(schemas.PassportInSchema)
@bp.response(200, schemas.TripSchema)
@answers(*BODY_ERRORS)
def put_passport(args: dict, trip_id: int) -> dict:
    """The patient's passport; the number is stored sealed and answered masked."""
    actor = _user()
    trip = services.get_trip(actor, trip_id)
    with transaction(), named(passport_number="number", passport_expiry="expiry"):
        people.save_passport(actor, trip, nationality=args["nationality"],
                               number=args["number"], expiry=args["expiry"])
    return trip_body(actor, trip)


@bp.route("/trips/<int:trip_id>/companions", methods=["POST"])
@signed_in
@bp.arguments(schemas.CompanionInSchema)
@bp.response(201, schemas.TripSchema, description="Added")
@answers(*BODY_ERRORS)
def add_companion(args: dict, trip_id: int) -> dict:
    """Someone travelling with the patient; 409 `too_many_companions` past four."""
    actor = _user()
    trip = services.get_trip(actor, trip_id)
    with transaction():
        people.add_companion(actor, trip, name=args["name"],
                               relationship=args["relationship"],
                               nationality=args["nationality"],
                               passport_number=args["passport_number"],
                               passport_expiry=args["passport_expiry"])
    return trip_body(actor, trip)


@bp.route("/trips/<int:trip_id>/companions/<int:companion_id>", methods=["DELETE"])
@signed_in
@bp.response(200, schemas.TripSchema)
@answers(*BODY_ERRORS)
def delete_companion(trip_id: int, companion_id: int) -> dict:
    """Remove a companion."""
    actor = _user()
    trip = services.get_trip(actor, trip_id)
    with transaction():
        people.remove_companion(actor, trip, companion_id)
    return trip_body(actor, trip)


@bp.route("/trips/<int:trip_id>/passport-number", methods=["GET"])
@signed_in
@bp.arguments(schemas.PassportNumberQuerySchema, location="query")
@bp.response(200, schemas.PassportNumberSchema)
@answers(400, 401, 403, 404, 422)
def passport_number(args: dict, trip_id: int) -> dict:
    """A passport number in full, for the patient and the clinic's coordinators (each reading
    is audited); 403 for admins; 404 when that holder has no passport saved."""
    actor = _user()
    trip = services.get_trip(actor, trip_id)
    if not people.may_reveal(actor, trip):
        raise NotAllowed(_l("Only the patient and the clinic's coordinators see passport "
                            "numbers in full."))
    holder: Trip | Companion | None = trip
    if args["holder"] != "patient":
        companion_id = int(args["holder"])
        holder = next((c for c in trip.companions if c.id == companion_id), None)
        if holder is None:
            raise NotFound(_l("No such companion."))
    with transaction():
        number = people.passport_number(actor, holder, reveal=True)
        if number is None:
            raise NotFound(_l("No passport has been saved for the patient yet."),
                           code="no_passport")
    return {"holder": args["holder"], "number": number}


# Hotel, pickup, needs --------------------------------------------------------------------------

@bp.route("/trips/<int:trip_id>/hotel", methods=["PUT"])
@signed_in
@bp.arguments(schemas.HotelInSchema)
@bp.response(200, schemas.TripSchema)
@answers(*BODY_ERRORS)
def put_hotel(args: dict, trip_id: int) -> dict:
    """A partner hotel of the clinic (by id: see `partner_hotels`), your own (name and address,
    for the driver), or undecided."""
    actor = _user()
    trip = services.get_trip(actor, trip_id)
    with transaction(), named(hotel_choice="choice", partner_hotel="partner_hotel_id"):
        services.save_hotel(actor, trip, choice=args["choice"],
                            partner_hotel_id=args["partner_hotel_id"],
                            own_name=args["own_hotel_name"],
                            own_address=args["own_hotel_address"])
    return trip_body(actor, trip)


@bp.route("/trips/<int:trip_id>/pickup", methods=["PUT"])
@signed_in
@bp.arguments(schemas.PickupInSchema)
@bp.response(200, schemas.TripSchema)
@answers(*BODY_ERRORS)
def put_pickup(args: dict, trip_id: int) -> dict:
    """Airport pickup: wanted or not, vehicle, wheelchair, suitcases (a change to a confirmed
    pickup asks the clinic to confirm again)."""
    actor = _user()
    trip = services.get_trip(actor, trip_id)
    with transaction():
        services.save_pickup(actor, trip, wanted=args["wanted"], vehicle=args["vehicle"],
                             wheelchair=args["wheelchair"], luggage=args["luggage"])
    return trip_body(actor, trip)


@bp.route("/trips/<int:trip_id>/needs", methods=["PUT"])
@signed_in
@bp.arguments(schemas.NeedsInSchema)
@bp.response(200, schemas.TripSchema)
@answers(*BODY_ERRORS)
def put_needs(args: dict, trip_id: int) -> dict:
    """An interpreter, mobility and dietary needs, and the treatment planned (its recovery time
    is checked against the flight home)."""
    actor = _user()
    trip = services.get_trip(actor, trip_id)
    with transaction(), named(treatment="treatment_id"):
        services.save_needs(actor, trip, interpreter_language=args["interpreter_language"],
                            mobility_needs=args["mobility_needs"],
                            dietary_needs=args["dietary_needs"],
                            treatment_id=args["treatment_id"])
    return trip_body(actor, trip)


# Visa letter -----------------------------------------------------------------------------------

@bp.route("/trips/<int:trip_id>/letter", methods=["POST"])
@signed_in
@bp.response(201, schemas.TripSchema, description="Requested")
@answers(*BODY_ERRORS)
def request_letter(trip_id: int) -> dict:
    """Ask the clinic for a visa support letter. 422 `letter_incomplete` says what the trip
    lacks (a paid deposit, passport, flights); 409 `already_requested`."""
    actor = _user()
    trip = services.get_trip(actor, trip_id)
    with transaction():
        letters.request_letter(actor, trip)
    return trip_body(actor, trip)


# Itinerary -------------------------------------------------------------------------------------

@bp.route("/trips/<int:trip_id>/itinerary", methods=["GET"])
@signed_in
@bp.response(200, schemas.ItinerarySchema)
@answers(401, 404)
def get_itinerary(trip_id: int) -> dict:
    """Landing, pickup, hotel, consultations and departure, in time order."""
    actor = _user()
    trip = services.get_trip(actor, trip_id)
    zone = body.zone_of(trip)
    return {"trip": trip.id, "sequence": trip.ics_sequence, "timezone": zone.key,
            "events": [{"key": e.key, "kind": e.kind, **body.times("starts_at", e.starts_at, zone),
                        "ends_at": iso(e.ends_at), "title": e.title, "detail": e.detail,
                        "location": e.location, "booking_id": e.booking_id}
                       for e in plan.itinerary(trip)]}


@bp.route("/trips/<int:trip_id>/itinerary.ics", methods=["GET"])
@signed_in
@bp.response(200, {"type": "string"}, content_type="text/calendar",
             description="An iCalendar file; re-importing it replaces every event")
@answers(401, 404)
def get_itinerary_calendar(trip_id: int) -> Response:
    """The itinerary as a calendar file (stable UIDs, the trip's SEQUENCE)."""
    trip = services.get_trip(_user(), trip_id)
    return Response(plan.itinerary_calendar(trip), mimetype="text/calendar", headers={
        "Content-Disposition": f'attachment; filename="trip-{trip.id}.ics"'})
