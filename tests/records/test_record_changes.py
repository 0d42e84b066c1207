"""The patient deletes an upload (audited, the file gone), sees sizes people can read, and is
told when the same file is already there."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import select

from booking.core.audit import AuditEvent
from booking.extensions import db
from booking.records.models import MedicalDocument
from tests.conftest import csrf_token
from tests.records.test_records import PDF, upload
from tests.scheduling.helpers import hold, screen


@pytest.fixture()
def booking_id(app, demo):
    with app.app_context():
        screen()
        return hold().id


def test_patient_deletes_an_upload_and_the_file_goes(as_role, app, booking_id):
    patient = as_role("patient")
    upload(patient, f"/bookings/{booking_id}/documents", PDF, "mri.pdf")
    with app.app_context():
        doc = db.session.scalar(select(MedicalDocument))
        stored = os.path.join(app.config["MEDICAL_STORAGE_DIR"], doc.storage_key)
        doc_id = doc.id
    assert os.path.exists(stored)
    for role in ("coordinator", "patient2"):  # nobody else may
        other = as_role(role)
        token = csrf_token(other, "/profile")
        assert other.post(f"/documents/{doc_id}/delete",
                          data={"csrf_token": token}).status_code in (403, 404)
    token = csrf_token(patient, f"/bookings/{booking_id}")
    answer = patient.post(f"/documents/{doc_id}/delete",
                          data={"csrf_token": token, "back_booking": str(booking_id)})
    assert answer.status_code == 302 and answer.headers["Location"].endswith(
        f"/bookings/{booking_id}#documents")
    assert not os.path.exists(stored)
    with app.app_context():
        assert db.session.get(MedicalDocument, doc_id) is None
        trail = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "document.deleted"))
        assert trail is not None and trail.before["name"] == "mri.pdf"
    assert as_role("coordinator").get(f"/documents/{doc_id}").status_code == 404


def test_sizes_read_in_kb_and_mb(as_role, app, booking_id):
    patient = as_role("patient")
    upload(patient, f"/bookings/{booking_id}/documents", PDF, "small.pdf")
    big = PDF + b"0" * (3 * 1024 * 1024 + 400 * 1024)
    upload(patient, f"/bookings/{booking_id}/documents", big, "large.pdf")
    page = patient.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert '<span data-testid="size">1 KB</span>' in page
    assert '<span data-testid="size">3.4 MB</span>' in page
    assert "0.0 MB" not in page


def test_the_same_file_twice_is_told_not_stored(as_role, app, booking_id):
    patient = as_role("patient")
    upload(patient, f"/bookings/{booking_id}/documents", PDF, "mri.pdf")
    again = upload(patient, f"/bookings/{booking_id}/documents", PDF, "copy-of-mri.pdf")
    assert again.status_code == 409
    body = again.get_data(as_text=True)
    assert "already in your records as “mri.pdf”" in body
    assert "Back to booking" in body  # still in the booking
    with app.app_context():
        assert len(db.session.scalars(select(MedicalDocument)).all()) == 1
        leftovers = [f for f in os.listdir(app.config["MEDICAL_STORAGE_DIR"])
                     if f.startswith(".")]
        assert leftovers == []


def test_two_deletes_at_once_delete_once_and_the_other_is_told(as_role, app, booking_id):
    import threading

    patient = as_role("patient")
    upload(patient, f"/bookings/{booking_id}/documents", PDF, "mri.pdf")
    with app.app_context():
        doc_id = db.session.scalar(select(MedicalDocument.id))
    clients = [as_role("patient"), as_role("patient")]
    tokens = [csrf_token(c, f"/bookings/{booking_id}") for c in clients]
    barrier, answers = threading.Barrier(2), []

    def delete(client, token):  # noqa: ANN001
        barrier.wait()
        answers.append(client.post(f"/documents/{doc_id}/delete",
                                   data={"csrf_token": token}).status_code)

    threads = [threading.Thread(target=delete, args=pair)
               for pair in zip(clients, tokens, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [302, 404]
    with app.app_context():
        assert db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "document.deleted")).all().__len__() == 1
