"""The coordinators' travel desk: arrivals, departures, hotels, pickups, letters to review."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from booking.catalogue.models import Clinic
from booking.core.actions import attempt
from booking.core.errors import DomainError, FieldInvalid
from booking.core.ids import id_value
from booking.core.inputs import parse_day
from booking.core.pages import csv_cell
from booking.core.policy import coordinator_required, staff_required
from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.travel import desk, services
from booking.travel.models import (
    AIRPORTS,
    VEHICLE_LABELS,
    HotelChoice,
    HotelStatus,
    PickupStatus,
    Trip,
)

bp = Blueprint("travel_desk", __name__)

DAYS = 7
#: The desk's words for a pickup: short, and saying what the coordinator has to do.
PICKUP_BADGES = {PickupStatus.NOT_WANTED: _l("No pickup wanted"),
                 PickupStatus.REQUESTED: _l("Pickup requested: to confirm"),
                 PickupStatus.CONFIRMED: _l("Pickup confirmed"),
                 PickupStatus.RECONFIRM: _l("Flight changed: reconfirm pickup")}
#: The clinic's side of a partner-hotel booking (the patient's page words it for them).
HOTEL_BADGES = {HotelStatus.PENDING: _l("Not booked yet"),
                HotelStatus.REQUESTED: _l("Requested from the hotel"),
                HotelStatus.BOOKED: _l("Booked")}
#: Typed values shown back after a refusal are cut to this (a pasted essay is not echoed).
TYPED_SHOWN = 200


def trip_url(trip_id: int) -> str:
    """The trip's page (the patient-side view the clinic also reads)."""
    return url_for("travel.trip_page", trip_id=trip_id)


def _per_trip(endpoint: str) -> Callable[[int], str]:
    """A trip id -> the endpoint's URL, built once: a week can hold hundreds of cards, and
    url_for for each of their links and forms was a tenth of the page's time."""
    marker = 987654321
    template = url_for(endpoint, trip_id=marker)
    return lambda trip_id: template.replace(str(marker), str(trip_id), 1)


def _resolved(labels: dict) -> dict:
    """Lazy labels translated once for the page (not once per card)."""
    return {key: str(value) for key, value in labels.items()}


def _today() -> date:
    return utcnow().astimezone(CLINIC_ZONE).date()


def _start() -> date:
    """The first Bangkok day shown (`start`, today by default); a bad one is said, not a 500."""
    try:
        return parse_day(request.values.get("start"), "start", _today())  # type: ignore[return-value]
    except DomainError as exc:
        flash(str(exc.message), "warning")
        return _today()


def _clinic() -> tuple[Clinic, list[Clinic]]:
    """A coordinator's own clinic; for an admin the one asked for (the first by name by
    default), with all clinics for the chooser."""
    if current_user.is_coordinator:
        return current_user.clinic, []
    clinics = list(db.session.scalars(select(Clinic).order_by(Clinic.name, Clinic.id)))
    if not clinics:
        abort(404)
    wanted = id_value(request.values.get("clinic"))
    return next((c for c in clinics if c.id == wanted), clinics[0]), clinics


def _week_args(shown: date, clinic: Clinic, clinics: list[Clinic], **more) -> dict:  # type: ignore[no-untyped-def]
    """The query string of the desk's links: the week shown (unless asked for another) and,
    for an admin, the clinic."""
    args = dict(more)
    if "start" not in args and shown != _today():
        args["start"] = shown.isoformat()
    if clinics:
        args["clinic"] = clinic.id
    return args


def _board(clinic: Clinic, clinics: list[Clinic], start: date, *,
           errors: dict | None = None, typed: dict | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    arrivals = desk.arrivals(current_user, clinic.id, start, DAYS)
    departures = desk.departures(current_user, clinic.id, start, DAYS)
    return render_template(
        "travel/desk/desk.html", clinic=clinic, clinics=clinics, start=start,
        end=start + timedelta(days=DAYS - 1), today=_today(),
        arrival_days=desk.by_day(arrivals, start, DAYS), departures=departures,
        summary=desk.summarise(arrivals), letters=desk.letters_to_review(current_user, clinic.id),
        errors=errors or {}, typed=typed or {}, trip_url=_per_trip("travel.trip_page"),
        pickup_url=_per_trip("travel_desk.confirm_pickup"),
        hotel_url=_per_trip("travel_desk.hotel_status"), now=utcnow(),
        phone=desk.phone_display,
        may_change=current_user.is_coordinator, pickup_badges=_resolved(PICKUP_BADGES),
        hotel_labels=_resolved(HOTEL_BADGES), hotel_statuses=list(HotelStatus),
        vehicle_labels=_resolved(VEHICLE_LABELS), airports=AIRPORTS, HotelChoice=HotelChoice,
        week_args=lambda **more: _week_args(start, clinic, clinics, **more),
        prev_start=start - timedelta(days=DAYS), next_start=start + timedelta(days=DAYS),
    ), status


@bp.get("/clinic/travel", endpoint="desk")
@staff_required
def desk_page():
    """Who lands and leaves in the next 7 days (Bangkok time), what each still needs, and the
    visa letters waiting for a decision."""
    clinic, clinics = _clinic()
    return _board(clinic, clinics, _start())


def _back(trip: Trip, start: date):  # type: ignore[no-untyped-def]
    args = {"start": start.isoformat()} if start != _today() else {}
    return redirect(url_for("travel_desk.desk", **args, _anchor=f"trip-{trip.id}"), code=303)


def _refused(trip: Trip, start: date, error: DomainError, fields: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """A refusal about what was typed is shown beside the field, with everything typed kept;
    any other (already confirmed, trip closed) is said at the top."""
    if isinstance(error, FieldInvalid):
        typed = {name: (request.form.get(name) or "")[:TYPED_SHOWN] for name in fields}
        flash(_("Not saved: see the form of %(name)s below.", name=trip.patient.name), "danger")
        return _board(current_user.clinic, [], start,
                      errors={trip.id: {error.field: str(error.message)}},
                      typed={trip.id: typed}, status=422)
    flash(str(error.message), "danger")
    return _back(trip, start)


@bp.post("/clinic/travel/trips/<int:trip_id>/pickup")
@coordinator_required
def confirm_pickup(trip_id: int):
    """The clinic has a driver: store who, their mobile and the plate; the patient is told."""
    trip = services.get_trip(current_user, trip_id)
    start = _start()
    form = request.form
    done = attempt(lambda: desk.confirm_pickup(current_user, trip, form.get("driver"),
                                               form.get("driver_phone"),
                                               form.get("vehicle_plate")))
    if not done.ok:
        return _refused(trip, start, done.error, ("driver", "driver_phone", "vehicle_plate"))
    flash(_("Pickup confirmed for %(name)s: %(driver)s, %(plate)s. The patient is sent the "
            "driver's details 48 hours before landing.", name=trip.patient.name,
            driver=trip.pickup_driver, plate=trip.pickup_vehicle_plate), "success")
    return _back(trip, start)


@bp.post("/clinic/travel/trips/<int:trip_id>/hotel")
@coordinator_required
def hotel_status(trip_id: int):
    """Where the clinic stands with booking the patient's partner hotel."""
    trip = services.get_trip(current_user, trip_id)
    start = _start()
    done = attempt(lambda: desk.set_hotel_status(current_user, trip,
                                                 request.form.get("hotel_status")))
    if not done.ok:
        return _refused(trip, start, done.error, ("hotel_status",))
    flash(_("Hotel for %(name)s: %(status)s.", name=trip.patient.name,
            status=HOTEL_BADGES[HotelStatus(trip.hotel_status)]), "success")
    return _back(trip, start)


@bp.get("/clinic/travel.csv")
@staff_required
def desk_csv():
    """The week's arrivals then departures as CSV, times in Bangkok."""
    clinic, _clinics = _clinic()
    start = _start()
    rows = [*desk.arrivals(current_user, clinic.id, start, DAYS),
            *desk.departures(current_user, clinic.id, start, DAYS)]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["direction", "date_bangkok", "time_bangkok", "flight", "airport",
                     "patient", "companions", "pickup", "vehicle", "wheelchair", "luggage",
                     "interpreter", "driver", "driver_phone", "vehicle_plate", "hotel",
                     "hotel_status", "trip_id"])
    for row in rows:
        trip = row.trip
        wanted = trip.pickup_status != PickupStatus.NOT_WANTED
        writer.writerow([
            row.flight.direction, row.day.isoformat(), row.at.strftime("%H:%M"),
            row.flight.code, row.flight.airport, csv_cell(trip.patient.name), row.companions,
            trip.pickup_status, trip.pickup_vehicle if wanted else "",
            ("yes" if trip.pickup_wheelchair else "no") if wanted else "",
            trip.pickup_luggage if wanted else "", trip.interpreter_language or "",
            csv_cell(trip.pickup_driver), csv_cell(trip.pickup_driver_phone),
            csv_cell(trip.pickup_vehicle_plate), csv_cell(row.hotel or ""),
            trip.hotel_status if trip.hotel_choice == HotelChoice.PARTNER else "",
            trip.id])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="spinebridge-travel-{start.isoformat()}.csv"')
    return response
