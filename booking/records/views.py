"""Uploading and downloading medical records."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from booking.core.errors import DomainError
from booking.core.policy import any_user_required, patient_required
from booking.extensions import db
from booking.records import services
from booking.scheduling import services as scheduling

bp = Blueprint("records", __name__)


@bp.post("/bookings/<int:booking_id>/documents")
@patient_required
def upload_for_booking(booking_id: int):
    """Add an MRI report or image to a booking (PDF, JPEG, PNG or DICOM, up to 50 MB)."""
    booking = scheduling.get_booking(current_user, booking_id)
    _store(booking)
    return redirect(url_for("scheduling.booking_detail", booking_id=booking.id) + "#documents")


@bp.post("/documents")
@patient_required
def upload():
    """Add a record before any booking; clinics you book with can read it."""
    _store(None)
    return redirect(url_for("scheduling.my_bookings") + "#documents")


def _store(booking) -> None:  # type: ignore[no-untyped-def]
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file to upload."), "danger")
        return
    try:
        document = services.store_document(current_user, upload.stream, upload.filename,
                                           booking)
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
        return
    db.session.commit()
    flash(_("%(name)s is uploaded. Only you and your clinic can see it.",
            name=document.original_name), "success")


@bp.get("/documents/<int:document_id>")
@any_user_required
def download(document_id: int):
    """The file, for the patient and their clinic's coordinators only (each read audited)."""
    document, path = services.open_for(current_user, document_id)
    if not path.exists():
        abort(404)
    db.session.commit()  # the audit record of this read
    response = send_file(path, mimetype=document.content_type, as_attachment=True,
                         download_name=document.original_name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response
