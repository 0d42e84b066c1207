"""The coordinator's start page: it composes what the features offer for their own clinic
(today's bookings, what needs a person, recent changes). Each feature keeps its own screens:
bookings and the week in scheduling/views/clinic.py, plans and leave in
scheduling/views/plans.py."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template
from flask_login import current_user
from sqlalchemy import String, cast, select
from sqlalchemy.orm import joinedload, selectinload

from booking.catalogue.models import ConsultationType
from booking.core.audit import AuditEvent, sentences
from booking.core.personal_pages import personal_page
from booking.core.policy import coordinator_required
from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.notifications.models import OutboxMessage
from booking.notifications.registry import kinds
from booking.payments import ledger
from booking.scheduling import services
from booking.scheduling.models import CONFIRMED, HELD, Booking
from booking.scheduling.views.clinic import clinic_bookings
from booking.travel.desk import desk_counts

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")


#: Video consultations without a link listed on the dashboard (the soonest; "and more" after).
NO_LINK_SHOWN = 25


@bp.get("/")
@personal_page
@coordinator_required
def dashboard():
    """The coordinator's own clinic: today's bookings, holds, doctors, recent changes."""
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
            | ((AuditEvent.object_type == "Booking") & AuditEvent.object_id.in_(
                select(cast(Booking.id, String)).where(Booking.clinic_id == clinic.id)))
        )
        .order_by(AuditEvent.created_at.desc())
        .limit(10)
    ).all()
    today = utcnow().astimezone(CLINIC_ZONE).date()
    upcoming = clinic_bookings(clinic.id, today, today + timedelta(days=2))
    failed = db.session.scalars(
        select(OutboxMessage).join(Booking, OutboxMessage.about("booking", Booking.id))
        .where(Booking.clinic_id == clinic.id, OutboxMessage.status == "failed",
               OutboxMessage.recipient_id == Booking.patient_id)
        .order_by(OutboxMessage.due_at.desc()).limit(20)).all()
    now = utcnow()
    no_link = db.session.scalars(
        select(Booking).join(ConsultationType, Booking.consultation_type_id == ConsultationType.id)
        .where(Booking.clinic_id == clinic.id, Booking.state == CONFIRMED,
               ConsultationType.mode == "video", Booking.video_url.is_(None),
               Booking.starts_at >= now, Booking.starts_at < now + timedelta(days=7))
        .options(joinedload(Booking.patient), joinedload(Booking.doctor))
        .order_by(Booking.starts_at).limit(NO_LINK_SHOWN + 1)).all()
    # The work queue's first line: holds a person must look at, soonest lapse first.
    waiting = db.session.scalars(
        select(Booking).where(Booking.clinic_id == clinic.id, Booking.state == HELD,
                              Booking.hold_expires_at > now)
        .options(joinedload(Booking.patient), joinedload(Booking.doctor),
                 selectinload(Booking.consents))
        .order_by(Booking.hold_expires_at).limit(50)).all()
    return render_template("coordinator/dashboard.html", clinic=clinic, recent=recent,
                           waiting=[(b, services.missing_for_confirmation(b)) for b in waiting],
                           missing_labels=services.MISSING_LABELS, now=now,
                           upcoming=upcoming, today=today, failed=failed, message_kinds=kinds(),
                           no_link=no_link, said=sentences(recent),
                           money_needing=ledger.needing_a_person(current_user),
                           travel=desk_counts(clinic.id, now),
                           no_link_shown=NO_LINK_SHOWN)
