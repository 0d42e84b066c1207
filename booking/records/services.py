"""Storing and reading medical documents: type checked by content, size capped, nothing partial
kept, visible only to the patient and their clinics' coordinators, every download audited."""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from typing import BinaryIO

import filetype
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from booking.accounts.models import User
from booking.core import audit
from booking.core.errors import DomainError, NotFound
from booking.core.policy import can_manage_clinic
from booking.extensions import db
from booking.records.models import MedicalDocument
from booking.scheduling.models import Booking

#: Detected type -> what we accept. DICOM is what MRI scanners export.
ALLOWED = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG",
           "application/dicom": "DICOM"}
CHUNK = 1024 * 1024


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
        os.replace(partial, final)
    finally:
        if partial.exists():
            partial.unlink()  # nothing partial is kept
    document = MedicalDocument(
        patient_id=actor.id, booking_id=booking.id if booking else None,
        original_name=os.path.basename(filename or "upload")[:255] or "upload",
        content_type=mime, size_bytes=size, sha256=digest.hexdigest(), storage_key=key,
        uploaded_by_id=actor.id)
    db.session.add(document)
    db.session.flush()
    audit.record(actor, "document.uploaded", document,
                 after={"type": mime, "size": size, "booking_id": document.booking_id})
    return document


def can_view(actor: User, document: MedicalDocument) -> bool:
    """The patient; coordinators of a clinic the patient has booked with; admins."""
    if actor.is_admin:
        return True
    if actor.is_patient:
        return document.patient_id == actor.id
    if document.booking_id is not None:
        booking = db.session.get(Booking, document.booking_id)
        return booking is not None and can_manage_clinic(actor, booking.clinic_id)
    clinics = db.session.scalars(select(Booking.clinic_id).where(
        Booking.patient_id == document.patient_id).distinct())
    return any(can_manage_clinic(actor, clinic_id) for clinic_id in clinics)


def open_for(actor: User, document_id: int) -> tuple[MedicalDocument, Path]:
    """The document and its file, for someone allowed to see it; the read is audited."""
    document = db.session.get(MedicalDocument, document_id)
    if document is None or not can_view(actor, document):
        raise NotFound(_l("No such document."))
    audit.record(actor, "document.downloaded", document,
                 after={"patient_id": document.patient_id})
    return document, storage_dir() / document.storage_key


def documents_for_booking(booking: Booking) -> list[MedicalDocument]:
    """What the clinic can read for this booking: its own files and the patient's general ones."""
    return list(db.session.scalars(select(MedicalDocument).where(
        MedicalDocument.patient_id == booking.patient_id,
        (MedicalDocument.booking_id == booking.id) | MedicalDocument.booking_id.is_(None),
    ).order_by(MedicalDocument.uploaded_at)))
