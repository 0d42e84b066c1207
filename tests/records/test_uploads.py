"""Refused uploads answer 4xx with the page and the reason; an oversize one is answered from
its Content-Length before the body is read; downloads carry the detected type and a name
with the extension of that type."""

from __future__ import annotations

import io
import os
from types import SimpleNamespace
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from booking.extensions import db
from booking.records.models import MedicalDocument
from booking.scheduling.models import Booking
from tests.records.test_records import PDF, PNG, upload
from tests.scheduling.helpers import hold, screen


@pytest.fixture()
def booking(app, demo) -> SimpleNamespace:
    with app.app_context():
        screen()
        held = hold()
        return SimpleNamespace(id=held.id, reference=held.reference)


class BodyMustNotBeRead(io.RawIOBase):
    """A request body that fails the test if anybody reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        raise AssertionError("the upload's body was read")


def _unread_body(size: int) -> dict:
    """A request that announces `size` bytes of upload and fails if any of them is read."""
    return {"wsgi.input": BodyMustNotBeRead(), "CONTENT_LENGTH": str(size),
            "CONTENT_TYPE": "multipart/form-data; boundary=xyz"}


def browser_upload(client, path: str, content: bytes, name: str):
    """POST a file as a browser does (WHATWG multipart: a quote in the name sent as %22, other
    characters as UTF-8), which Werkzeug's test client does not imitate."""
    from tests.conftest import csrf_token

    token = csrf_token(client, "/bookings")
    boundary = "----browserBoundary7MA4YWxkTrZu0gW"
    quoted = name.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
            f"{token}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"{quoted}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode() + content + f"\r\n--{boundary}--\r\n".encode()
    return client.post(path, data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def _stored(app) -> list[MedicalDocument]:
    with app.app_context():
        rows = db.session.scalars(select(MedicalDocument)).all()
        db.session.expunge_all()
        return rows


@pytest.mark.parametrize(("content", "name", "message"), [
    (b"<html><script>alert(1)</script></html>", "report.pdf", "whatever its name says"),
    (b"", "empty.pdf", "This file is empty."),
])
def test_a_refused_file_gets_422_with_the_booking_page_and_the_reason(as_role, app, booking,
                                                                      content, name, message):
    patient = as_role("patient")
    response = upload(patient, f"/bookings/{booking.id}/documents", content, name)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and 'id="upload-error"' in html and 'aria-invalid="true"' in html
    assert booking.reference in html  # still on the booking's own page
    assert _stored(app) == []


def test_no_file_chosen_gets_422_on_my_bookings(as_role, app, demo):
    from tests.conftest import csrf_token

    patient = as_role("patient")
    response = patient.post("/documents", data={"csrf_token": csrf_token(patient, "/bookings")},
                            content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose a file to upload." in html and "My bookings" in html


def test_an_oversize_upload_gets_413_from_its_content_length_before_the_body_is_read(
        as_role, app, booking):
    patient = as_role("patient")
    size = app.config["MEDICAL_MAX_BYTES"] + 1024 * 1024
    response = patient.post(f"/bookings/{booking.id}/documents",
                            environ_overrides=_unread_body(size))
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "larger than 50 MB" in html
    # The patient stays in their booking, with a way back to it.
    assert f'href="/bookings/{booking.id}"' in html and booking.reference in html
    assert _stored(app) == []


def test_an_oversize_general_upload_gets_413_with_the_way_back(as_role, app, demo):
    patient = as_role("patient")
    response = patient.post("/documents", environ_overrides=_unread_body(60 * 1024 * 1024))
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "larger than 50 MB" in html and "Back to my bookings" in html


def test_a_small_upload_still_needs_its_csrf_token(as_role, booking):
    patient = as_role("patient")
    response = patient.post(f"/bookings/{booking.id}/documents",
                            data={"file": (io.BytesIO(PDF), "a.pdf")},
                            content_type="multipart/form-data")
    assert response.status_code == 400
    assert "This form had expired" in response.get_data(as_text=True)


def test_a_png_named_html_downloads_as_png_with_its_type_and_nosniff(as_role, app, booking):
    patient = as_role("patient")
    assert upload(patient, f"/bookings/{booking.id}/documents", PNG, "x.html").status_code == 302
    [doc] = _stored(app)
    assert (doc.original_name, doc.content_type) == ("x.png", "image/png")
    download = as_role("coordinator").get(f"/documents/{doc.id}")
    assert download.status_code == 200 and download.data == PNG
    assert download.headers["Content-Type"] == "image/png"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Disposition"] == "attachment; filename=x.png"


@pytest.mark.parametrize(("name", "stored"), [
    ("scan.PNG", "scan.PNG"),
    ("../../etc/passwd", "passwd.png"),
    ("no-extension", "no-extension.png"),
    (".png", "png.png"),
])
def test_the_stored_name_drops_folders_and_takes_the_detected_extension(as_role, app, booking,
                                                                        name, stored):
    upload(as_role("patient"), f"/bookings/{booking.id}/documents", PNG, name)
    [doc] = _stored(app)
    assert doc.original_name == stored


@pytest.mark.parametrize("name", ['Röntgen "L4–L5" สแกน.pdf', 'my "scan" 1.pdf'])
def test_names_with_quotes_or_other_scripts_keep_their_text(as_role, app, booking, name):
    patient = as_role("patient")
    response = browser_upload(patient, f"/bookings/{booking.id}/documents", PDF, name)
    assert response.status_code == 302
    [doc] = _stored(app)
    assert doc.original_name == name
    page = patient.get(f"/bookings/{booking.id}").get_data(as_text=True)
    assert name.replace('"', "&#34;") in page
    header = patient.get(f"/documents/{doc.id}").headers["Content-Disposition"]
    if name.isascii():
        assert header == 'attachment; filename="my \\"scan\\" 1.pdf"'
    else:
        # RFC 5987: an ASCII fallback, and the exact name as UTF-8.
        assert "filename*=UTF-8''" in header
        assert unquote(header.split("filename*=UTF-8''")[1]) == name
        plain = header.split("filename=")[1].split(";")[0]
        assert plain.isascii()


def test_the_upload_field_limit_in_config_is_what_refuses(app, as_role, booking):
    """The per-file limit (MEDICAL_MAX_BYTES), not a hard-coded 50 MB."""
    patient = as_role("patient")
    keep = app.config["MEDICAL_MAX_BYTES"]
    app.config["MEDICAL_MAX_BYTES"] = len(PDF) - 1
    try:
        response = upload(patient, f"/bookings/{booking.id}/documents", PDF, "a.pdf")
    finally:
        app.config["MEDICAL_MAX_BYTES"] = keep
    assert response.status_code == 413
    assert _stored(app) == []
    assert not [f for f in os.listdir(app.config["MEDICAL_STORAGE_DIR"]) if f.endswith(".part")]
    with app.app_context():
        assert db.session.get(Booking, booking.id) is not None
