"""Who reads which medical record: the patient all of their own; a document on a booking, that
booking's clinic; the patient's general records, only clinics where the patient has a
confirmed, completed or no-show booking; admins all. A hold, even one a coordinator placed on
the patient's behalf, opens nothing. Everyone else gets 404."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from booking.extensions import db
from booking.records import services as records
from booking.records.models import MedicalDocument
from booking.scheduling import services as scheduling
from booking.scheduling.models import Booking
from tests.conftest import login
from tests.records.test_records import PDF, upload
from tests.scheduling.helpers import ctype_for, first_free, hold, screen, user

OTHER_COORDINATOR = "coordinator@silom-pain-rehab.example.com"


def _client(app, email: str, demo):
    client = app.test_client()
    assert login(client, email, demo["password"]).status_code == 302
    return client


def _upload_general(as_role, app) -> int:
    assert upload(as_role("patient"), "/documents", PDF, "general-mri.pdf").status_code == 302
    with app.app_context():
        return db.session.scalar(select(MedicalDocument.id).where(
            MedicalDocument.booking_id.is_(None)))


def _hold_by_the_clinic(app) -> int:
    """A coordinator books on the patient's behalf (a hold the patient never made)."""
    with app.app_context():
        ctype = ctype_for()
        slot = first_free(ctype)
        patient = user("patient@example.com")
        booking = scheduling.place_hold(user("coordinator@sukhumvit-spine.example.com"),
                                        patient=patient, ctype=ctype, doctor_id=slot.doctor_id,
                                        start=slot.start)
        db.session.commit()
        return booking.id


def _set_state(app, booking_id: int, state: str) -> None:
    with app.app_context():
        db.session.execute(update(Booking).where(Booking.id == booking_id).values(state=state))
        db.session.commit()


def test_a_coordinators_hold_on_the_patients_behalf_does_not_open_their_records(
        as_role, app, demo):
    doc_id = _upload_general(as_role, app)
    booking_id = _hold_by_the_clinic(app)
    coordinator = as_role("coordinator")
    assert coordinator.get(f"/bookings/{booking_id}").status_code == 200  # their booking ...
    assert "general-mri.pdf" not in coordinator.get(f"/bookings/{booking_id}").get_data(
        as_text=True)  # ... but not the patient's other records
    assert coordinator.get(f"/documents/{doc_id}").status_code == 404


def test_a_patients_own_hold_does_not_open_their_general_records_either(as_role, app, demo):
    doc_id = _upload_general(as_role, app)
    with app.app_context():
        screen()
        booking_id = hold().id
    coordinator = as_role("coordinator")
    assert coordinator.get(f"/documents/{doc_id}").status_code == 404
    assert "general-mri.pdf" not in coordinator.get(f"/bookings/{booking_id}").get_data(
        as_text=True)
    # The patient's own page lists what the clinic reads for this booking: not that one yet.
    assert "general-mri.pdf" not in as_role("patient").get(f"/bookings/{booking_id}").get_data(
        as_text=True)


@pytest.mark.parametrize(("state", "visible"), [
    ("confirmed", True), ("completed", True), ("no_show", True),
    ("held", False), ("expired", False), ("cancelled_by_patient", False),
    ("cancelled_by_clinic", False),
])
def test_general_records_follow_the_state_of_the_patients_booking(as_role, app, demo, state,
                                                                  visible):
    doc_id = _upload_general(as_role, app)
    with app.app_context():
        screen()
        booking_id = hold().id
    _set_state(app, booking_id, state)
    coordinator = as_role("coordinator")
    assert coordinator.get(f"/documents/{doc_id}").status_code == (200 if visible else 404)
    page = coordinator.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert ("general-mri.pdf" in page) is visible
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        listed = [d.id for d in records.documents_for_booking(booking)]
        assert (doc_id in listed) is visible


def test_a_document_on_a_booking_is_read_by_that_clinic_only(as_role, app, demo):
    booking_id = _hold_by_the_clinic(app)  # even a hold the clinic placed
    patient = as_role("patient")
    assert upload(patient, f"/bookings/{booking_id}/documents", PDF,
                  "for-this-visit.pdf").status_code == 302
    with app.app_context():
        doc_id = db.session.scalar(select(MedicalDocument.id))
    assert as_role("coordinator").get(f"/documents/{doc_id}").status_code == 200
    assert _client(app, OTHER_COORDINATOR, demo).get(f"/documents/{doc_id}").status_code == 404
    assert as_role("patient2").get(f"/documents/{doc_id}").status_code == 404
    assert patient.get(f"/documents/{doc_id}").status_code == 200
    assert as_role("admin").get(f"/documents/{doc_id}").status_code == 200


def test_another_clinic_and_another_patient_never_read_general_records(as_role, app, demo):
    doc_id = _upload_general(as_role, app)
    with app.app_context():
        screen()
        hold(confirm=True)  # confirmed at Sukhumvit: Sukhumvit may read them, nobody else
    assert as_role("coordinator").get(f"/documents/{doc_id}").status_code == 200
    assert _client(app, OTHER_COORDINATOR, demo).get(f"/documents/{doc_id}").status_code == 404
    assert as_role("patient2").get(f"/documents/{doc_id}").status_code == 404
    assert as_role("patient").get(f"/documents/{doc_id}").status_code == 200
    assert as_role("admin").get(f"/documents/{doc_id}").status_code == 200


def test_the_patient_and_admins_read_general_records_without_any_booking(as_role, app, demo):
    doc_id = _upload_general(as_role, app)
    assert as_role("patient").get(f"/documents/{doc_id}").status_code == 200
    assert as_role("admin").get(f"/documents/{doc_id}").status_code == 200
    assert as_role("coordinator").get(f"/documents/{doc_id}").status_code == 404
