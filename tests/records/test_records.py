"""Medical records: checked by content, size-capped, stored privately, shown only to the patient
and their clinic, every download audited. (Moved from tests/scheduling; refusals now answer
422/413 with the page, and a general record reaches a clinic only with a confirmed booking.)"""

from __future__ import annotations

import io
import os

import pytest
from sqlalchemy import select

from booking.core.audit import AuditEvent
from booking.extensions import db
from booking.records.models import MedicalDocument
from tests.conftest import csrf_token
from tests.scheduling.helpers import hold, screen

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
DICOM = b"\x00" * 128 + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00" + b"\x00" * 64


def upload(client, path, content: bytes, name: str):
    token = csrf_token(client, "/bookings")
    return client.post(path, data={"csrf_token": token, "file": (io.BytesIO(content), name)},
                       content_type="multipart/form-data")


@pytest.fixture()
def booking_id(app, demo):
    with app.app_context():
        screen()
        return hold().id


@pytest.mark.parametrize(("content", "name", "mime"), [
    (PDF, "mri-report.pdf", "application/pdf"), (PNG, "scan.png", "image/png"),
    (DICOM, "IM0001", "application/dicom")])
def test_patient_uploads_and_the_clinic_downloads(as_role, app, booking_id, content, name, mime):
    patient = as_role("patient")
    response = upload(patient, f"/bookings/{booking_id}/documents", content, name)
    assert response.status_code == 302
    with app.app_context():
        doc = db.session.scalar(select(MedicalDocument))
        assert (doc.content_type, doc.size_bytes, doc.original_name) == (mime, len(content), name)
        stored = os.path.join(app.config["MEDICAL_STORAGE_DIR"], doc.storage_key)
        assert os.path.exists(stored) and "static" not in stored
        doc_id = doc.id
    page = as_role("coordinator").get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert name in page
    download = as_role("coordinator").get(f"/documents/{doc_id}")
    assert download.status_code == 200 and download.data == content
    assert "no-store" in download.headers["Cache-Control"]
    assert "attachment" in download.headers["Content-Disposition"]
    with app.app_context():
        reads = db.session.scalars(select(AuditEvent).where(
            AuditEvent.action == "document.downloaded")).all()
        assert [r.actor_label for r in reads] == ["coordinator@sukhumvit-spine.example.com"]


def test_others_cannot_see_or_guess_a_document(as_role, app, booking_id):
    upload(as_role("patient"), f"/bookings/{booking_id}/documents", PDF, "mri.pdf")
    with app.app_context():
        doc_id = db.session.scalar(select(MedicalDocument.id))
    assert as_role("patient2").get(f"/documents/{doc_id}").status_code == 404
    assert as_role("anonymous").get(f"/documents/{doc_id}").status_code == 302
    from tests.conftest import login

    other = app.test_client()
    login(other, "coordinator@silom-pain-rehab.example.com", "demo-password-123")
    assert other.get(f"/documents/{doc_id}").status_code == 404
    assert app.test_client().get("/static/../instance/medical").status_code == 404


def test_a_renamed_file_of_the_wrong_type_is_refused_and_nothing_is_kept(as_role, app,
                                                                          booking_id):
    patient = as_role("patient")
    before = set(os.listdir(app.config["MEDICAL_STORAGE_DIR"]))
    response = upload(patient, f"/bookings/{booking_id}/documents",
                      b"MZ\x90\x00 this is a program", "report.pdf")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "whatever its name says" in page
    with app.app_context():
        assert db.session.scalar(select(MedicalDocument.id)) is None
    assert set(os.listdir(app.config["MEDICAL_STORAGE_DIR"])) == before


def test_files_over_50_mb_are_refused_kindly(as_role, app, booking_id):
    patient = as_role("patient")
    before = set(os.listdir(app.config["MEDICAL_STORAGE_DIR"]))
    too_big = PDF + b"0" * (50 * 1024 * 1024)
    response = upload(patient, f"/bookings/{booking_id}/documents", too_big, "huge.pdf")
    assert response.status_code == 413
    assert "larger than 50 MB" in response.get_data(as_text=True)
    assert set(os.listdir(app.config["MEDICAL_STORAGE_DIR"])) == before
    way_too_big = upload(patient, f"/bookings/{booking_id}/documents",
                         b"0" * (52 * 1024 * 1024), "x.pdf")
    assert way_too_big.status_code == 413
    assert "larger than 50 MB" in way_too_big.get_data(as_text=True)


def test_records_before_a_booking_reach_the_clinic_once_booked(as_role, app, demo):
    patient = as_role("patient")
    assert upload(patient, "/documents", PDF, "old-mri.pdf").status_code == 302
    with app.app_context():
        doc_id = db.session.scalar(select(MedicalDocument.id))
    coordinator = as_role("coordinator")
    assert coordinator.get(f"/documents/{doc_id}").status_code == 404  # no booking yet
    with app.app_context():
        screen()
        booking_id = hold(confirm=True).id  # a hold alone is not enough (test_record_access)
    assert coordinator.get(f"/documents/{doc_id}").status_code == 200
    assert "old-mri.pdf" in coordinator.get(f"/bookings/{booking_id}").get_data(as_text=True)
