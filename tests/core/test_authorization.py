"""Every route, walked as anonymous / patient / coordinator / admin: who may see what."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from booking.accounts.models import User
from booking.catalogue.models import Clinic, Condition, Doctor, Treatment
from booking.extensions import db
from booking.notifications.models import OutboxMessage
from booking.scheduling import plans
from booking.scheduling.models import Holiday
from booking.scheduling.services import patient_ref
from tests.conftest import csrf_token
from tests.scheduling.helpers import hold

PUBLIC = "public"
ANY = ("patient", "coordinator", "admin")

#: endpoint -> who may use it. A new route fails test_every_route_has_a_rule until listed here.
ACCESS: dict[str, object] = {
    "catalogue.home": PUBLIC,
    "catalogue.conditions": PUBLIC,
    "catalogue.condition": PUBLIC,
    "catalogue.treatments": PUBLIC,
    "catalogue.treatment": PUBLIC,
    "catalogue.clinics": PUBLIC,
    "catalogue.clinic": PUBLIC,
    "core.set_language": PUBLIC,
    "core.set_currency": PUBLIC,
    "ops.healthz": PUBLIC,
    "ops.readyz": PUBLIC,
    "accounts.register": PUBLIC,
    "accounts.verify_email": PUBLIC,
    "accounts.resend_verification": PUBLIC,
    "accounts.login": PUBLIC,
    "accounts.forgot_password": PUBLIC,
    "accounts.reset_password": PUBLIC,
    "accounts.logout": ANY,
    "accounts.profile": ANY,
    "accounts.change_password": ANY,
    "accounts.create_api_token": ANY,
    "accounts.revoke_api_token": ANY,
    "coordinator.dashboard": ("coordinator",),
    "admin.dashboard": ("admin",),
    "catalogue_admin.clinics": ("admin",),
    "catalogue_admin.edit_clinic": ("admin",),
    "catalogue_admin.edit_doctor": ("admin",),
    "catalogue_admin.edit_consultation_type": ("admin",),
    "catalogue_admin.treatments": ("admin",),
    "catalogue_admin.edit_treatment": ("admin",),
    "staff.users": ("admin",),
    "staff.new_staff": ("admin",),
    "staff.set_user_active": ("admin",),
    "staff.edit_staff": ("admin",),
    "staff.resend_invite": ("admin",),
    "catalogue_admin.exchange_rates": ("admin",),
    "admin.audit": ("admin",),
    "outbox.outbox": ("admin",),
    "outbox.outbox_preview": ("admin",),
    "outbox.outbox_message": ("admin",),
    "plans.holidays": ("admin",),
    "plans.remove_holiday": ("admin",),
    "scheduling.choose_consultation": ("patient",),
    "scheduling.choose_slot": ("patient",),
    "scheduling.hold_slot": ("patient",),
    "scheduling.my_bookings": ("patient",),
    # Any signed-in user, but services.get_booking narrows it to the patient's own bookings
    # and the coordinator's own clinic (see test_other_peoples_bookings_are_not_found).
    "scheduling.booking_detail": ANY,
    "scheduling.cancel_booking": ANY,
    "scheduling.booking_ics": ANY,
    "scheduling.reschedule_choose": ANY,
    "scheduling.reschedule_move": ANY,
    "scheduling.consent": ("patient",),
    "payments.checkout": ("patient",),
    "payments.returned": ANY,
    "payments.webhook": PUBLIC,
    "manage.booking": PUBLIC,  # the signed token is the key (tests/scheduling/test_manage_links)
    "manage.cancel": PUBLIC,  # no session: the Stripe-Signature is what it checks
    "payments.refund": ("coordinator", "admin"),
    "payments.payments_page": ("coordinator", "admin"),
    "payments.refund_policy_page": ("coordinator",),
    "payments.payments_csv": ("coordinator", "admin"),
    "screening.screen": ("patient",),
    "records.upload_for_booking": ("patient",),
    "records.upload": ("patient",),
    "records.delete": ("patient",),
    "records.download": ANY,
    "clinic_bookings.week": ("coordinator",),
    "clinic_bookings.day": ("coordinator",),
    "clinic_bookings.resend_message": ("coordinator",),
    "clinic_bookings.confirm": ("coordinator",),
    "clinic_bookings.register_patient": ("coordinator",),
    "clinic_bookings.move": ("coordinator",),
    "clinic_bookings.outcome": ("coordinator",),
    "clinic_bookings.video_link": ("coordinator",),
    "plans.schedule": ("coordinator",),
    "clinic_bookings.book_for_patient": ("coordinator",),
    "clinic_bookings.book_slot": ("coordinator",),
    "clinic_bookings.book_hold": ("coordinator",),
    "plans.edit_plan": ("coordinator",),
    "plans.add_exception": ("coordinator",),
    "plans.remove_exception": ("coordinator",),
    "api-docs.openapi_json": PUBLIC,
    "api.clinics": PUBLIC,
    "api.consultation_types": PUBLIC,
    "api.availability": PUBLIC,
    "api.create_booking": ANY,
    "api.get_booking": ANY,
    "api.cancel_booking": ANY,
    "api.reschedule_booking": ANY,
    "api.give_consents": ("patient",),
    "api.checkout": ("patient",),
    "api.create_refund": ("coordinator", "admin"),
    "api.record_screening": ("patient",),
    "api.latest_screening": ("patient",),
    # Travel: any signed-in user reaches a trip's pages, services.get_trip narrows it to the
    # patient's own and the clinic's (test_someone_elses_things_are_not_found_on_any_route).
    "travel.my_trip": ("patient",),
    "travel.plan_for_booking": ("patient",),
    "travel.trip_page": ANY,
    "travel.itinerary_page": ANY,
    "travel.itinerary_ics": ANY,
    "travel.save_flight": ("patient", "coordinator"),
    "travel.remove_flight": ("patient", "coordinator"),
    "travel.save_passport": ("patient", "coordinator"),
    "travel.add_companion": ("patient", "coordinator"),
    "travel.remove_companion": ("patient", "coordinator"),
    "travel.save_hotel": ("patient", "coordinator"),
    "travel.save_pickup": ("patient", "coordinator"),
    "travel.save_needs": ("patient", "coordinator"),
    "travel.close": ("patient", "coordinator"),
    "letters.letter_page": ANY,
    "letters.request_letter": ("patient",),
    "letters.issue": ANY,  # the letters service says who: the clinic (tests/travel)
    "letters.decline": ANY,
    "letters.revoke": ANY,
    "letters.download": ANY,
    "letters.verify": PUBLIC,  # the unguessable token is the key
    "travel_desk.desk": ("coordinator", "admin"),
    "travel_desk.desk_csv": ("coordinator", "admin"),
    "travel_desk.confirm_pickup": ("coordinator",),
    "travel_desk.hotel_status": ("coordinator",),
    "partner_hotels.hotels": ("coordinator", "admin"),
    "partner_hotels.edit": ("coordinator", "admin"),
}
# The trip API: any signed-in caller reaches it and its service decides (who may change,
# reveal or request what is walked role by role in tests/api/test_travel_api.py).
API_PREFIXES = ("api.", "trips.")


#: Routes on things only their owner has (own-tokens test), or only on staff accounts (the
#: sample account is a patient; tests/admin cover them): 404 is a fair answer for these.
OWNER_ONLY = {"accounts.revoke_api_token", "staff.edit_staff", "staff.resend_invite",
              "manage.booking", "manage.cancel",  # the sample token is not valid: 404
              "letters.verify",  # likewise
              "letters.download"}  # the sample letter is not issued: there is no PDF


def _trip_api(endpoint: str) -> bool:
    return endpoint.startswith("trips.")


def test_every_route_has_a_rule(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()
                 if rule.endpoint != "static" and not _trip_api(rule.endpoint)}
    assert endpoints == set(ACCESS), (
        f"unlisted: {sorted(endpoints - set(ACCESS))}; stale: {sorted(set(ACCESS) - endpoints)}")


def _sample_args(app) -> dict[str, object]:
    with app.app_context():
        clinic = db.session.scalar(select(Clinic).where(Clinic.slug == "sukhumvit-spine"))
        booking = hold("patient@example.com", "sukhumvit-spine")
        return {
            "booking_id": booking.id,
            "clinic_id": clinic.id,
            "doctor_id": db.session.scalar(select(Doctor.id).order_by(Doctor.id)),
            "treatment_id": db.session.scalar(select(Treatment.id).order_by(Treatment.id)),
            "user_id": db.session.scalar(select(User.id).where(
                User.email == "patient2@example.com")),
            "patient_id": booking.patient_id,
            "clinic_slug": clinic.slug,
            "condition_slug": db.session.scalar(select(Condition.slug)),
            "treatment_slug": db.session.scalar(select(Treatment.slug)),
            "token": "not-a-valid-token",
            "ctype_id": booking.consultation_type_id,
            "exception_id": _sample_exception(clinic.id),
            "document_id": _sample_document(booking),
            "token_id": _sample_token(booking.patient),
            "message_id": db.session.scalar(select(OutboxMessage.id).where(
                OutboxMessage.about("booking", booking.id))),
            "holiday_id": db.session.scalar(select(Holiday.id).order_by(Holiday.day)),
            # What the coordinator's email search hands on (never a bare patient id).
            "patient_ref": patient_ref(booking.patient, clinic.id),
            **_sample_trip(booking),
        }


def _sample_trip(booking) -> dict[str, object]:
    """The patient's trip with a companion and a requested letter, and a partner hotel."""
    from datetime import date, timedelta

    from booking.travel import people
    from booking.travel import services as travel
    from booking.travel.models import PartnerHotel, VisaLetter

    trip = travel.plan_trip(booking.patient, booking)
    companion = people.add_companion(booking.patient, trip, name="Tom Miller",
                                     relationship="spouse", nationality="US",
                                     passport_number="Y87654321",
                                     passport_expiry=date.today() + timedelta(days=900))
    letter = VisaLetter(trip_id=trip.id, number="SBV-2026-MATRIX", token="matrix-" + "x" * 40,
                        requested_by_id=booking.patient_id)
    db.session.add(letter)
    db.session.commit()
    return {"trip_id": trip.id, "direction": "arrival", "companion_id": companion.id,
            "letter_id": letter.id,
            "hotel_id": db.session.scalar(select(PartnerHotel.id).where(
                PartnerHotel.clinic_id == booking.clinic_id))}


def _sample_exception(clinic_id: int) -> int:
    from datetime import timedelta

    from booking.core.types import utcnow

    coordinator = db.session.scalar(select(User).where(User.clinic_id == clinic_id))
    exc = plans.add_exception(coordinator, clinic_id=clinic_id, doctor_id=None, kind="block",
                                 starts_at=utcnow() + timedelta(days=200),
                                 ends_at=utcnow() + timedelta(days=201))
    db.session.commit()
    return exc.id


def _sample_token(patient) -> int:
    from booking.accounts.models import ApiToken
    from booking.accounts.services import create_api_token

    create_api_token(patient, "matrix")
    db.session.commit()
    return db.session.scalar(select(ApiToken.id))


def _sample_document(booking) -> int:
    import io

    from booking.records.services import store_document

    doc = store_document(booking.patient, io.BytesIO(b"%PDF-1.7\n%%EOF\n"), "mri.pdf", booking)
    db.session.commit()
    return doc.id


#: path -> the rule it was built from (an endpoint may have several: "new" and "edit").
_RULE_OF: dict[str, object] = {}


def _requests(app):
    """One request per (rule, method): the path with sample arguments filled in."""
    samples = _sample_args(app)
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values = {}
        for arg in rule.arguments:
            if arg == "slug":
                values[arg] = samples[rule.endpoint.split(".")[1] + "_slug"]
            elif arg == "code":
                values[arg] = "USD" if "currency" in rule.endpoint else "en"
            else:
                values[arg] = samples[arg]
        path = rule.build(values, append_unknown=False)[1]
        if rule.endpoint == "clinic_bookings.book_slot":
            path += f"?patient={samples['patient_ref']}"
        if rule.endpoint == "trips.passport_number":
            path += "?holder=patient"
        _RULE_OF[path] = rule
        for method in ("GET", "POST", "PUT", "DELETE"):
            if method in rule.methods:
                break
        yield rule.endpoint, method, path, samples


@pytest.mark.parametrize("role", ["anonymous", "patient", "coordinator", "admin"])
def test_route_access_by_role(role, as_role, app):
    client = as_role(role)
    problems = []
    for endpoint, method, path, samples in _requests(app):
        response = _send(client, method, path, samples["patient_ref"])
        if _trip_api(endpoint):
            status = response.status_code
            if (role == "anonymous" and status != 401) or status >= 500 or status == 401 \
                    and role != "anonymous":
                problems.append(f"{method} {path} as {role}: {status}")
            continue
        rule = ACCESS[endpoint]
        allowed = rule == PUBLIC or role in rule
        status = response.status_code
        to_login = status == 302 and "/login" in response.headers.get("Location", "")
        if allowed:
            # 400/409/422: the request reached the view and was answered on its merits
            # (an invalid token, an empty form); never a 403, a 404 or a detour to sign in.
            ok = status in (200, 201, 302, 400, 409, 422) and not to_login
            if endpoint in OWNER_ONLY:
                ok = ok or status == 404
        elif role == "anonymous" and endpoint.startswith("api."):
            ok = status == 401 and response.json["error"]["code"] == "unauthorized"
        elif role == "anonymous":
            ok = to_login
        else:
            ok = status == 403
        if not ok:
            problems.append(f"{method} {path} as {role}: {status}")
        if endpoint == "accounts.logout" and allowed:
            client = as_role(role)  # signed out by that request; sign in again
    assert problems == []


def _send(client, method: str, path: str, patient: str):
    if method != "GET":
        token = csrf_token(client, "/forgot-password")
        # "patient" matters only to the coordinator's book-for-a-patient form.
        return client.open(path, method=method,
                           data={"csrf_token": token, "patient": patient},
                           headers={"X-CSRFToken": token})
    return client.get(path)


#: Route arguments that name something belonging to one patient or one clinic.
OWNED = {"booking_id", "document_id", "message_id", "exception_id", "token_id", "doctor_id",
         "ctype_id", "trip_id", "companion_id", "letter_id", "hotel_id"}


@pytest.mark.parametrize("role", ["patient2", "other_coordinator"])
def test_someone_elses_things_are_not_found_on_any_route(role, as_role, app, demo):
    """Every route that names a patient's or a clinic's thing, walked as the other patient and
    as another clinic's coordinator: 404 (or the role's usual 403), and never a trace of the
    patient — including the coordinator's book-for-a-patient pages given the patient's raw id."""
    client = as_role(role)
    acting_as = "patient" if role == "patient2" else "coordinator"
    problems = []
    with app.app_context():
        raw_id = str(db.session.scalar(select(User.id).where(
            User.email == demo["patient"])))
    for endpoint, method, path, _samples in _requests(app):
        rule = _RULE_OF[path]
        names_a_thing = bool(OWNED & set(rule.arguments)) or endpoint in (
            "clinic_bookings.book_slot", "clinic_bookings.book_hold")
        if _trip_api(endpoint) and names_a_thing:
            if method != "GET":
                continue  # the API's writes are walked with JSON bodies in tests/api
            response = client.get(path)
            if response.status_code != 404 or "Jane Miller" in response.get_data(as_text=True):
                problems.append(f"{method} {path} as {role}: {response.status_code}")
            continue
        if _trip_api(endpoint):
            continue  # a list of the caller's own trips names nobody else's
        if not names_a_thing or ACCESS[endpoint] == PUBLIC:
            continue
        if endpoint.startswith("api.") and method == "POST":
            continue  # the API's writes are walked with JSON bodies in tests/api
        if endpoint == "clinic_bookings.book_slot":
            path = path.split("?")[0] + f"?patient={raw_id}"
        response = _send(client, method, path, raw_id)
        allowed = acting_as in ACCESS[endpoint]
        body = response.get_data(as_text=True)
        expected = {404} if allowed else {403}
        if endpoint in ("scheduling.choose_slot", "screening.screen",
                        "scheduling.hold_slot") and allowed:
            expected = {200, 302}  # a public consultation type: anyone may book it
        if response.status_code not in expected or "Jane Miller" in body \
                or demo["patient"] in body:
            problems.append(f"{method} {path} as {role}: {response.status_code}")
    assert problems == []


def test_coordinator_sees_only_their_own_clinic(as_role, demo):
    html = as_role("coordinator").get("/coordinator/").get_data(as_text=True)
    assert "Sukhumvit Spine" in html
    assert "Silom Pain" not in html and "Chao Phraya" not in html
