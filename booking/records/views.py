"""Uploading and downloading medical records."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, g, redirect, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from booking.core.actions import attempt, transaction
from booking.core.policy import any_user_required, patient_required
from booking.extensions import csrf
from booking.records import services
from booking.scheduling import services as scheduling

bp = Blueprint("records", __name__)

#: Room in an upload request for the form around the file (boundaries, headers, CSRF token):
#: a request longer than the file limit plus this certainly carries too large a file.
FORM_OVERHEAD = 64 * 1024


# The upload views check CSRF themselves, after the Content-Length: the global check would
# read (and spool) the whole body first, and an oversize upload must be answered before that.
@bp.post("/bookings/<int:booking_id>/documents")
@csrf.exempt
@patient_required
def upload_for_booking(booking_id: int):
    """Add an MRI report or image to a booking (PDF, JPEG, PNG or DICOM, up to 50 MB)."""
    booking = scheduling.get_booking(current_user, booking_id)
    refused = _store(booking)
    if refused:
        return refused
    return redirect(url_for("scheduling.booking_detail", booking_id=booking.id) + "#documents")


@bp.post("/documents")
@csrf.exempt
@patient_required
def upload():
    """Add a record before any booking; clinics you have a confirmed booking with can read it."""
    refused = _store(None)
    if refused:
        return refused
    return redirect(url_for("scheduling.my_bookings") + "#documents")


def _too_large_message() -> str:
    limit = current_app.config["MEDICAL_MAX_BYTES"]
    return _("This file is larger than %(mb)s MB. Please upload a smaller file or a PDF report "
             "instead.", mb=limit // (1024 * 1024))


def _store(booking):  # type: ignore[no-untyped-def]
    """Store the posted file; None when stored, else the page shown again with the reason."""
    limit = current_app.config["MEDICAL_MAX_BYTES"] + FORM_OVERHEAD
    if current_app.config.get("MAX_CONTENT_LENGTH"):
        limit = min(limit, current_app.config["MAX_CONTENT_LENGTH"])
    if request.content_length is not None and request.content_length > limit:
        return _refused(booking, _too_large_message(), 413)  # before a byte of the body is read
    try:
        csrf.protect()
        upload = request.files.get("file")
    except RequestEntityTooLarge:  # no Content-Length (chunked) and past the request cap
        return _refused(booking, _too_large_message(), 413)
    if upload is None or not upload.filename:
        return _refused(booking, _("Choose a file to upload."), 422)
    stored = attempt(lambda: services.store_document(current_user, upload.stream,
                                                     upload.filename, booking))
    if not stored.ok:
        status = {"too_large": 413, "duplicate": 409}.get(stored.error.code, 422)
        return _refused(booking, stored.message, status)
    document = stored.value
    flash(_("%(name)s is uploaded. Only you and your clinic can see it.",
            name=document.original_name), "success")
    return None


def _refused(booking, message: str, status: int):  # type: ignore[no-untyped-def]
    """The page the upload came from, again, with the reason next to the upload field (and,
    on a booking, the way back to it)."""
    from booking.scheduling.views import patient as scheduling_views

    g.upload_error = message
    if booking is not None:
        return scheduling_views.booking_page(booking), status
    return scheduling_views.my_bookings(), status


@bp.get("/documents/<int:document_id>")
@any_user_required
def download(document_id: int):
    """The file, for the patient and the clinics allowed to read it (each read audited)."""
    with transaction():  # the audit record of this read
        document, path = services.open_for(current_user, document_id)
        if not path.exists():
            abort(404)
    # The type detected at upload (never text/html); Werkzeug writes the name as RFC 5987
    # filename* when it is not plain ASCII.
    mimetype = (document.content_type if document.content_type in services.ALLOWED
                else "application/octet-stream")
    response = send_file(path, mimetype=mimetype, as_attachment=True,
                         download_name=document.original_name, max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.post("/documents/<int:document_id>/delete")
@patient_required
def delete(document_id: int):
    """The patient deletes one of their files (audited; the stored file goes too)."""
    done = attempt(lambda: services.delete_document(current_user, document_id))
    if not done.ok:
        if done.error.status == 404:
            abort(404)
        flash(done.message, "danger")
        return redirect(url_for("scheduling.my_bookings") + "#documents")
    document, path = done.value
    path.unlink(missing_ok=True)
    flash(_("%(name)s is deleted.", name=document.original_name), "success")
    back = request.form.get("back_booking")
    if back and back.isdigit():
        return redirect(url_for("scheduling.booking_detail", booking_id=int(back)) + "#documents")
    return redirect(url_for("scheduling.my_bookings") + "#documents")
