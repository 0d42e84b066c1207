"""The trip page: flights, passport, companions, hotel, pickup, needs, the visa letter and the
itinerary, for the patient and the clinic's coordinators (admins read it). Each section posts
to its own route; a refusal shows the page again with what was typed and the reason beside
the field."""

from __future__ import annotations

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
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from booking.core.actions import attempt, transaction
from booking.core.errors import DomainError
from booking.core.ids import id_value
from booking.core.policy import (
    COORDINATOR,
    PATIENT,
    any_user_required,
    patient_required,
    roles_required,
)
from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.scheduling import services as scheduling
from booking.travel import itinerary as plan
from booking.travel import people, risks, services
from booking.travel.forms import (
    CompanionForm,
    FlightForm,
    HotelForm,
    NeedsForm,
    PassportForm,
    PickupForm,
)
from booking.travel.models import (
    ARRIVAL,
    DIRECTIONS,
    HOTEL_STATUS_LABELS,
    LETTER_LABELS,
    PICKUP_LABELS,
    RELATIONSHIP_LABELS,
    VEHICLE_LABELS,
    PickupStatus,
    Trip,
)

bp = Blueprint("travel", __name__)
#: The patient and the clinic's coordinators fill a trip in; admins read it.
editor_required = roles_required(PATIENT, COORDINATOR)


@bp.app_context_processor
def trip_lookup() -> dict:
    """The booking page shows the trip a booking belongs to (or the way to plan one), and
    "My bookings" the patient's open trip."""
    return {"trip_of_booking": services.trip_of_booking, "open_trip_of": services.open_trip_of}


def _locale() -> str:
    return str(get_locale() or "en")


def _flight_form(trip: Trip, direction: str, formdata=None) -> FlightForm:  # type: ignore[no-untyped-def]
    flight = trip.flight(direction)
    data = {}
    if flight:
        local = flight.scheduled_at.astimezone(CLINIC_ZONE)
        data = {"flight": flight.code, "airport": flight.airport, "date": local.date(),
                "time": local.time().replace(tzinfo=None)}
    return FlightForm(formdata=formdata, prefix=direction, data=data)


def _needs_form(trip: Trip, formdata=None) -> NeedsForm:  # type: ignore[no-untyped-def]
    form = NeedsForm(formdata=formdata, prefix="needs", data={
        "treatment": str(trip.treatment_id or ""), "interpreter_language":
        trip.interpreter_language or "", "mobility_needs": trip.mobility_needs,
        "dietary_needs": trip.dietary_needs})
    form.treatment.choices = [("", _("Not decided yet"))] + [
        (str(t.id), _("%(name)s (stay %(days)s days after it)", name=t.name, days=t.recovery_days))
        for t in trip.clinic.treatments if t.active]
    form.interpreter_language.choices = [("", _("No interpreter needed"))] + list(
        services.interpreter_languages(_locale()).items())
    return form


def _hotel_form(trip: Trip, hotels, formdata=None) -> HotelForm:  # type: ignore[no-untyped-def]
    choice = (f"partner-{trip.partner_hotel_id}" if trip.hotel_choice == "partner"
              else trip.hotel_choice)
    form = HotelForm(formdata=formdata, prefix="hotel", data={
        "hotel_choice": choice, "own_hotel_name": trip.own_hotel_name,
        "own_hotel_address": trip.own_hotel_address})
    form.hotel_choice.choices = [(f"partner-{h.id}", h.name) for h in hotels] + [
        ("own", _("My own hotel or apartment")), ("undecided", _("Not decided yet"))]
    return form


def _passport_form(trip: Trip, formdata=None) -> PassportForm:  # type: ignore[no-untyped-def]
    form = PassportForm(formdata=formdata, prefix="passport", data={
        "nationality": trip.passport_nationality or (trip.patient.country or ""),
        "passport_expiry": trip.passport_expiry})
    form.nationality.choices = [("", "—")] + list(people.countries(_locale()).items())
    return form


def _companion_form(formdata=None) -> CompanionForm:  # type: ignore[no-untyped-def]
    form = CompanionForm(formdata=formdata, prefix="companion")
    form.nationality.choices = [("", "—")] + list(people.countries(_locale()).items())
    return form


def _pickup_form(trip: Trip, formdata=None) -> PickupForm:  # type: ignore[no-untyped-def]
    return PickupForm(formdata=formdata, prefix="pickup", data={
        "wanted": trip.pickup_status != PickupStatus.NOT_WANTED,
        "vehicle": trip.pickup_vehicle, "wheelchair": trip.pickup_wheelchair,
        "luggage": trip.pickup_luggage})


def trip_page(trip: Trip, *, status: int = 200, reveal: bool = False, problem: str = "",
              **submitted: FlaskForm) -> tuple[str, int]:
    """The trip page; `submitted` replaces a section's form with the one that was refused
    (its typed values and errors kept); `problem` is a refusal about no one field."""
    hotels = services.partner_hotels(trip.clinic_id)
    forms = {
        "arrival": _flight_form(trip, "arrival"),
        "departure": _flight_form(trip, "departure"),
        "passport": _passport_form(trip),
        "companion": _companion_form(),
        "hotel": _hotel_form(trip, hotels),
        "pickup": _pickup_form(trip),
        "needs": _needs_form(trip),
    }
    forms.update(submitted)
    passports = {}
    if trip.passport_number_sealed:
        passports["patient"] = people.passport_number(current_user, trip, reveal=reveal)
    for companion in trip.companions:
        passports[companion.id] = people.passport_number(current_user, companion,
                                                           reveal=reveal)
    from booking.travel.views.letters import letter_panel

    letter = letter_panel(trip, current_user)
    return render_template(
        "travel/trip.html", trip=trip, forms=forms, hotels=hotels, passports=passports,
        revealed=reveal, problem=problem,
        may_edit=services.can_edit_trip(current_user, trip) and trip.is_open,
        may_reveal=people.may_reveal(current_user, trip),
        warnings=risks.trip_warnings(trip), events=plan.itinerary(trip),
        steps=_steps(trip), letter_info=letter, now=utcnow(),
        country_name=lambda code: people.country_name(code, _locale()),
        relationship_labels=RELATIONSHIP_LABELS, pickup_labels=PICKUP_LABELS,
        vehicle_labels=VEHICLE_LABELS, hotel_status_labels=HOTEL_STATUS_LABELS,
        letter_labels=LETTER_LABELS,
        interpreter_name=services.interpreter_languages(_locale()).get(
            trip.interpreter_language or ""),
        hotel_name=plan.hotel_name(trip)), status


def _steps(trip: Trip) -> list[tuple[str, bool, str, str]]:
    """The checklist at the top: (what, done, anchor, what is happening when not done)."""
    letter = trip.current_letter
    pickup_note = {PickupStatus.REQUESTED: _("the clinic is confirming your driver"),
                   PickupStatus.RECONFIRM: _("the clinic is confirming it for your new flight"),
                   }.get(trip.pickup_status, "")
    letter_note = {"requested": _("the clinic is reviewing your request"),
                   "declined": _("declined: see why below"),
                   "revoked": _("revoked: see why below")}.get(letter.state if letter else "",
                                                              "")
    return [
        (_("Your flight to Bangkok"), trip.arrival is not None, "flights", ""),
        (_("Your flight home"), trip.departure is not None, "flights", ""),
        (_("Your passport"), trip.passport_number_sealed is not None, "passport", ""),
        (_("Where you stay"), plan.hotel_name(trip) is not None, "hotel", ""),
        (_("Airport pickup"), trip.pickup_status == PickupStatus.CONFIRMED
         or trip.pickup_status == PickupStatus.NOT_WANTED and trip.arrival is not None, "pickup",
         pickup_note),
        (_("Visa support letter (if you need a visa)"),
         letter is not None and letter.state == "issued", "letter", letter_note),
    ]


def _get(trip_id: int) -> Trip:
    return services.get_trip(current_user, trip_id)


@bp.get("/trips")
@patient_required
def my_trip():
    """The patient's open trip, or where to start one."""
    trip = services.open_trip_of(current_user)
    if trip is None:
        flash(_("You have no trip planned yet. Open a booking and choose “Plan your trip”."),
              "info")
        return redirect(url_for("scheduling.my_bookings"))
    return redirect(url_for("travel.trip_page", trip_id=trip.id))


@bp.post("/bookings/<int:booking_id>/trip")
@patient_required
def plan_for_booking(booking_id: int):
    """Start (or open) the trip this booking belongs to."""
    booking = scheduling.get_booking(current_user, booking_id)
    planned = attempt(lambda: services.plan_trip(current_user, booking))
    if not planned.ok:
        flash(planned.message, "danger")
        return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))
    return redirect(url_for("travel.trip_page", trip_id=planned.value.id))


@bp.get("/trips/<int:trip_id>", endpoint="trip_page")
@any_user_required
def trip_page_view(trip_id: int):
    """The trip: what is planned, what is missing, and the itinerary."""
    trip = _get(trip_id)
    reveal = request.args.get("reveal") == "passports"
    if reveal and not people.may_reveal(current_user, trip):
        abort(403)
    if reveal:
        with transaction():  # each number shown in full is in the audit trail
            page = trip_page(trip, reveal=True)
        response = Response(*page)
        response.headers["Cache-Control"] = "private, no-store"
        return response
    return trip_page(trip)




def _save(trip: Trip, form: FlaskForm, key: str, action, success: str, anchor: str):  # type: ignore[no-untyped-def]
    """Validate the section's form, run the service in one transaction; a refusal shows the
    page again with the form as typed and the reason beside the field it names."""
    if form.validate_on_submit():
        done = attempt(action)
        if done.ok:
            flash(success, "success")
            return redirect(url_for("travel.trip_page", trip_id=trip.id) + f"#{anchor}")
        problem = _attach(form, done.error)
        db.session.refresh(trip)
        return trip_page(trip, status=done.error.status, problem=problem, **{key: form})
    db.session.refresh(trip)
    return trip_page(trip, status=422, **{key: form})


def _attach(form: FlaskForm, error: DomainError) -> str:
    """Put the refusal beside the field it names; one about no field is returned, for the
    top of the page."""
    field = getattr(error, "field", None)
    name = {"partner_hotel": "hotel_choice"}.get(field or "", field)
    target = getattr(form, name, None) if name else None
    if target is not None and hasattr(target, "errors"):
        target.errors = [*list(target.errors), str(error.message)]
        return ""
    return str(error.message)


@bp.post("/trips/<int:trip_id>/flights/<direction>")
@editor_required
def save_flight(trip_id: int, direction: str):
    """Add or change the flight to Bangkok or home."""
    trip = _get(trip_id)
    if direction not in DIRECTIONS:
        abort(404)
    form = _flight_form(trip, direction, formdata=request.form)

    def action():  # type: ignore[no-untyped-def]
        when = services.bangkok_instant(form.date.data, form.time.data, "date")
        return services.save_flight(current_user, trip, direction, code=form.flight.data,
                                    airport=form.airport.data, scheduled_at=when)

    message = (_("Your flight to Bangkok is saved. The itinerary below shows it.")
               if direction == ARRIVAL else _("Your flight home is saved."))
    return _save(trip, form, direction, action, message, "flights")


@bp.post("/trips/<int:trip_id>/flights/<direction>/delete")
@editor_required
def remove_flight(trip_id: int, direction: str):
    trip = _get(trip_id)
    if direction not in DIRECTIONS:
        abort(404)
    done = attempt(lambda: services.remove_flight(current_user, trip, direction))
    flash(_("The flight is removed.") if done.ok else done.message,
          "success" if done.ok else "danger")
    return redirect(url_for("travel.trip_page", trip_id=trip.id) + "#flights")


@bp.post("/trips/<int:trip_id>/passport")
@editor_required
def save_passport(trip_id: int):
    """The patient's passport (the number is stored encrypted)."""
    trip = _get(trip_id)
    form = _passport_form(trip, formdata=request.form)
    return _save(trip, form, "passport", lambda: people.save_passport(
        current_user, trip, nationality=form.nationality.data,
        number=form.passport_number.data, expiry=form.passport_expiry.data),
        _("Your passport details are saved. The number is stored encrypted."), "passport")


@bp.post("/trips/<int:trip_id>/companions")
@editor_required
def add_companion(trip_id: int):
    """Someone travelling with the patient."""
    trip = _get(trip_id)
    form = _companion_form(formdata=request.form)
    return _save(trip, form, "companion", lambda: people.add_companion(
        current_user, trip, name=form.name.data, relationship=form.relationship.data,
        nationality=form.nationality.data, passport_number=form.passport_number.data,
        passport_expiry=form.passport_expiry.data),
        _("%(name)s is added to your trip.", name=form.name.data), "companions")


@bp.post("/trips/<int:trip_id>/companions/<int:companion_id>/delete")
@editor_required
def remove_companion(trip_id: int, companion_id: int):
    trip = _get(trip_id)
    done = attempt(lambda: people.remove_companion(current_user, trip, companion_id))
    if not done.ok and done.error.status == 404:
        abort(404)
    flash(_("The companion is removed.") if done.ok else done.message,
          "success" if done.ok else "danger")
    return redirect(url_for("travel.trip_page", trip_id=trip.id) + "#companions")


@bp.post("/trips/<int:trip_id>/hotel")
@editor_required
def save_hotel(trip_id: int):
    """A partner hotel or the patient's own."""
    trip = _get(trip_id)
    form = _hotel_form(trip, services.partner_hotels(trip.clinic_id), formdata=request.form)
    choice, _dash, hotel_id = (form.hotel_choice.data or "").partition("-")
    return _save(trip, form, "hotel", lambda: services.save_hotel(
        current_user, trip, choice=choice, partner_hotel_id=id_value(hotel_id),
        own_name=form.own_hotel_name.data, own_address=form.own_hotel_address.data),
        _("Where you stay is saved."), "hotel")


@bp.post("/trips/<int:trip_id>/pickup")
@editor_required
def save_pickup(trip_id: int):
    """Airport pickup: wanted or not, vehicle, wheelchair, suitcases."""
    trip = _get(trip_id)
    form = _pickup_form(trip, formdata=request.form)
    return _save(trip, form, "pickup", lambda: services.save_pickup(
        current_user, trip, wanted=form.wanted.data, vehicle=form.vehicle.data,
        wheelchair=form.wheelchair.data, luggage=form.luggage.data),
        _("Your airport pickup is saved."), "pickup")


@bp.post("/trips/<int:trip_id>/needs")
@editor_required
def save_needs(trip_id: int):
    """Interpreter, mobility and dietary needs, and the treatment being considered."""
    trip = _get(trip_id)
    form = _needs_form(trip, formdata=request.form)
    treatment_id = id_value(form.treatment.data) if form.treatment.data else None
    return _save(trip, form, "needs", lambda: services.save_needs(
        current_user, trip, interpreter_language=form.interpreter_language.data or None,
        mobility_needs=form.mobility_needs.data, dietary_needs=form.dietary_needs.data,
        treatment_id=treatment_id), _("Your needs are saved; the clinic sees them."), "needs")


@bp.post("/trips/<int:trip_id>/close")
@editor_required
def close(trip_id: int):
    trip = _get(trip_id)
    done = attempt(lambda: services.close_trip(current_user, trip))
    flash(_("The trip is closed. Your next booking can start a new one.") if done.ok
          else done.message, "success" if done.ok else "danger")
    return redirect(url_for("travel.trip_page", trip_id=trip.id))


@bp.get("/trips/<int:trip_id>/itinerary")
@any_user_required
def itinerary_page(trip_id: int):
    """The itinerary on one printable page."""
    trip = _get(trip_id)
    return render_template("travel/itinerary.html", trip=trip, events=plan.itinerary(trip),
                           hotel_name=plan.hotel_name(trip),
                           hotel_address=plan.hotel_address(trip),
                           warnings=risks.trip_warnings(trip))


@bp.get("/trips/<int:trip_id>/itinerary.ics")
@any_user_required
def itinerary_ics(trip_id: int):
    """Every event of the trip for a calendar app (stable UIDs: importing again updates)."""
    trip = _get(trip_id)
    response = Response(plan.itinerary_calendar(trip), mimetype="text/calendar")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="spinebridge-trip-{trip.id}.ics"')
    response.headers["Cache-Control"] = "private, no-store"
    return response
