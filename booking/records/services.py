"""Storing and reading medical documents: type checked by content, size capped, nothing partial
kept, visible only to the patient and the clinics that rule (can_view) allows, every download
audited."""

from __future__ import annotations

import hashlib
import os
import secrets
import unicodedata
from pathlib import Path
from typing import BinaryIO

import filetype
from flask import current_app
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from booking.accounts.models import User
from booking.core import audit
from booking.core.errors import DomainError, NotAllowed, NotFound
from booking.core.locks import sqlite_write_lock
from booking.core.policy import can_manage_clinic
from booking.extensions import db
from booking.records.models import MedicalDocument
from booking.scheduling.models import COMPLETED, CONFIRMED, NO_SHOW, Booking

#: Detected type -> what we accept. DICOM is what MRI scanners export.
ALLOWED = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG",
           "application/dicom": "DICOM"}
#: The extensions a download of each type may carry; the first is given to any other name
#: (a PNG uploaded as "x.html" downloads as "x.png"). DICOM files from scanners often have
#: none ("IM0001"), which is kept.
EXTENSIONS = {"application/pdf": (".pdf",), "image/jpeg": (".jpg", ".jpeg"),
              "image/png": (".png",), "application/dicom": (".dcm", "")}
CHUNK = 1024 * 1024
#: A booking's clinic reads the patient's general records (those on no booking) only once the
#: patient has a booking there in one of these states: a hold, which a coordinator can place on
#: the patient's behalf, opens nothing.
SHARING_STATES = (CONFIRMED, COMPLETED, NO_SHOW)


def download_name(filename: str | None, mime: str) -> str:
    """The name a document is stored and downloaded under: the patient's own text (quotes,
    any script), without folders or control characters, with the extension of its detected
    type."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = name.strip().lstrip(".").strip()
    stem, ext = os.path.splitext(name)
    allowed = EXTENSIONS[mime]
    if ext.lower() not in allowed:
        ext = allowed[0]
    stem = stem.strip() or "upload"
    return stem[: 255 - len(ext)] + ext


def storage_dir() -> Path:
    path = Path(current_app.config["MEDICAL_STORAGE_DIR"])
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def store_document(actor: User, stream: BinaryIO, filename: str,
                   booking: Booking | None = None) -> MedicalDocument:
    """Save an upload for the actor (a patient), checking size and type as it is written."""
    if not actor.is_patient:
        raise DomainError(_l("Only patients upload their own records."), code="forbidden")
    if booking is not None and booking.patient_id != actor.id:
        raise NotFound(_l("No such booking."))
    limit = current_app.config["MEDICAL_MAX_BYTES"]
    key = secrets.token_hex(16)
    final = storage_dir() / key
    partial = storage_dir() / f".{key}.part"
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with open(partial, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise DomainError(
                        _l("This file is larger than %(mb)s MB. Please upload a smaller file "
                           "or a PDF report instead.", mb=limit // (1024 * 1024)),
                        code="too_large")
                if len(head) < 8192:
                    head += chunk[: 8192 - len(head)]
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise DomainError(_l("This file is empty."), code="empty_file")
        kind = filetype.guess(head)
        mime = kind.mime if kind else None
        if mime not in ALLOWED:
            raise DomainError(
                _l("Please upload a PDF, JPEG, PNG or DICOM file. This file is not one of "
                   "these, whatever its name says."), code="wrong_type")
        same = db.session.scalar(select(MedicalDocument).where(
            MedicalDocument.patient_id == actor.id, MedicalDocument.sha256 == digest.hexdigest()))
        if same is not None:
            raise DomainError(_l("This file is already in your records as “%(name)s” "
                                 "(uploaded %(day)s), so it was not added again.",
                                 name=same.original_name,
                                 day=format_date(same.uploaded_at, "medium")),
                              code="duplicate")
        os.replace(partial, final)
    finally:
        if partial.exists():
            partial.unlink()  # nothing partial is kept
    document = MedicalDocument(
        patient_id=actor.id, booking_id=booking.id if booking else None,
        original_name=download_name(filename, mime),
        content_type=mime, size_bytes=size, sha256=digest.hexdigest(), storage_key=key,
        uploaded_by_id=actor.id)
    db.session.add(document)
    db.session.flush()
    audit.record(actor, "document.uploaded", document,
                 after={"type": mime, "size": size, "booking_id": document.booking_id})
    return document


def delete_document(actor: User, document_id: int) -> tuple[MedicalDocument, Path]:
    """The patient removes one of their own files: the row goes here, and the caller removes
    the returned file once that is committed (a failed commit must not leave a row without its
    file). The audit trail keeps that it existed, never its content."""
    # Two deletes at once (two tabs): the second waits, then finds nothing, and says so.
    sqlite_write_lock()
    document = db.session.get(MedicalDocument, document_id, with_for_update=True)
    if document is None or not can_view(actor, document):
        raise NotFound(_l("No such document."))
    if document.patient_id != actor.id:
        raise NotAllowed(_l("Only the patient can delete their records."))
    path = storage_dir() / document.storage_key
    audit.record(actor, "document.deleted", document,
                 before={"name": document.original_name, "type": document.content_type,
                         "size": document.size_bytes, "booking_id": document.booking_id})
    db.session.delete(document)
    db.session.flush()
    return document, path


def shares_general_records(patient_id: int, clinic_id: int) -> bool:
    """Whether a clinic may read the patient's general records: the patient has a confirmed,
    completed or no-show booking there (see SHARING_STATES)."""
    return db.session.scalar(select(Booking.id).where(
        Booking.patient_id == patient_id, Booking.clinic_id == clinic_id,
        Booking.state.in_(SHARING_STATES)).limit(1)) is not None


def can_view(actor: User, document: MedicalDocument) -> bool:
    """The patient, all of their own; a document on a booking, that booking's clinic; a general
    record, the clinics the patient shares them with (shares_general_records); admins, all."""
    if actor.is_admin:
        return True
    if actor.is_patient:
        return document.patient_id == actor.id
    if not actor.is_coordinator:
        return False
    if document.booking_id is not None:
        booking = db.session.get(Booking, document.booking_id)
        return booking is not None and can_manage_clinic(actor, booking.clinic_id)
    return shares_general_records(document.patient_id, actor.clinic_id)


def open_for(actor: User, document_id: int) -> tuple[MedicalDocument, Path]:
    """The document and its file, for someone allowed to see it; the read is audited."""
    document = db.session.get(MedicalDocument, document_id)
    if document is None or not can_view(actor, document):
        raise NotFound(_l("No such document."))
    audit.record(actor, "document.downloaded", document,
                 after={"patient_id": document.patient_id})
    return document, storage_dir() / document.storage_key


def documents_for_booking(booking: Booking) -> list[MedicalDocument]:
    """What the booking's clinic can read for it: the files on this booking, and the patient's
    general ones when the patient shares them with the clinic (the same rule as can_view)."""
    own = MedicalDocument.booking_id == booking.id
    if shares_general_records(booking.patient_id, booking.clinic_id):
        own = own | MedicalDocument.booking_id.is_(None)
    return list(db.session.scalars(select(MedicalDocument).where(
        MedicalDocument.patient_id == booking.patient_id, own,
    ).order_by(MedicalDocument.uploaded_at)))
