"""The clinic keeps its partner hotels; only its own coordinators (and admins) may."""

from __future__ import annotations

import re

from sqlalchemy import select

from booking.catalogue.models import Clinic
from booking.core.audit import AuditEvent
from booking.extensions import db
from booking.travel.models import PartnerHotel
from tests.conftest import csrf_token


def _form(client, path: str, **values) -> dict:
    return {"name": "Asok Lotus Hotel", "address": "9 Asok Road, Bangkok", "distance_note":
            "8 minutes by taxi", "nightly_min": "1500", "nightly_max": "2500",
            "accessible": "y", "active": "y", "csrf_token": csrf_token(client, path), **values}


def test_a_coordinator_adds_a_hotel_that_patients_are_then_offered(app, demo, as_role):
    coordinator = as_role("coordinator")
    assert "Sukhumvit Garden Residence" in coordinator.get("/clinic/hotels").get_data(
        as_text=True)
    response = coordinator.post("/clinic/hotels/new",
                                data=_form(coordinator, "/clinic/hotels/new"))
    assert response.status_code == 302
    with app.app_context():
        hotel = db.session.scalar(select(PartnerHotel).where(
            PartnerHotel.name == "Asok Lotus Hotel"))
        assert (hotel.nightly_min_minor, hotel.nightly_max_minor) == (150_000, 250_000)
        assert hotel.clinic.slug == "sukhumvit-spine"
        assert db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "partner_hotel.added")) is not None
        from booking.travel.services import partner_hotels

        assert hotel in partner_hotels(hotel.clinic_id)


def test_inverted_prices_keep_what_was_typed(app, demo, as_role):
    coordinator = as_role("coordinator")
    response = coordinator.post("/clinic/hotels/new", data=_form(
        coordinator, "/clinic/hotels/new", nightly_min="3000", nightly_max="1000"))
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "must not be below the lowest" in body and "Asok Lotus Hotel" in body


def test_another_clinics_coordinator_cannot_edit_and_a_patient_cannot_see(app, demo, as_role):
    with app.app_context():
        hotel_id = db.session.scalar(select(PartnerHotel.id).join(Clinic).where(
            Clinic.slug == "sukhumvit-spine"))
    other = as_role("other_coordinator")
    assert other.get(f"/clinic/hotels/{hotel_id}/edit").status_code == 404
    listing = other.get("/clinic/hotels").get_data(as_text=True)
    assert "Sukhumvit Garden" not in listing and "Silom Serviced" in listing
    assert as_role("patient").get("/clinic/hotels").status_code == 403


def test_an_admin_chooses_the_clinic(app, demo, as_role):
    admin = as_role("admin")
    page = admin.get("/clinic/hotels").get_data(as_text=True)
    clinic_id = re.search(r"/clinic/hotels\?clinic=(\d+)", page).group(1)
    assert admin.get(f"/clinic/hotels?clinic={clinic_id}").status_code == 200
    assert admin.get("/clinic/hotels?clinic=999999").status_code == 404
