"""An uploaded medical document. The file lives outside static/, under a random name."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from booking.core.types import UtcDateTime, utcnow
from booking.extensions import db


class MedicalDocument(db.Model):
    __tablename__ = "medical_document"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False,
                                            index=True)
    #: The booking it was added to; None when added before any booking (during screening).
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("booking.id"), index=True)
    #: The name the patient's file had; shown, never used as a path.
    original_name: Mapped[str] = mapped_column(String(255), nullable=False)
    #: Detected from the content, not from the name.
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size_bytes: Mapped[int] = mapped_column(nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    #: Random file name inside the storage directory.
    storage_key: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, nullable=False)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), nullable=False)
