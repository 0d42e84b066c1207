"""The coordinator's home: their clinic at a glance (schedules and bookings arrive later)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import select

from booking.core.audit import AuditEvent
from booking.core.policy import coordinator_required
from booking.extensions import db

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")


@bp.get("/")
@coordinator_required
def dashboard():
    """The coordinator's own clinic: doctors, consultation types, recent changes."""
    clinic = current_user.clinic
    doctor_ids = [str(d.id) for d in clinic.doctors]
    ctype_ids = [str(c.id) for c in clinic.consultation_types]
    recent = db.session.scalars(
        select(AuditEvent)
        .where(
            ((AuditEvent.object_type == "Clinic") & (AuditEvent.object_id == str(clinic.id)))
            | ((AuditEvent.object_type == "Doctor") & AuditEvent.object_id.in_(doctor_ids))
            | ((AuditEvent.object_type == "ConsultationType")
               & AuditEvent.object_id.in_(ctype_ids))
        )
        .order_by(AuditEvent.created_at.desc())
        .limit(10)
    ).all()
    return render_template("coordinator/dashboard.html", clinic=clinic, recent=recent)
