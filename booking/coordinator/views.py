"""The coordinator's views: their clinic, the week's bookings, and actions on a booking."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from booking.core.audit import AuditEvent
from booking.core.errors import DomainError
from booking.core.ids import id_value
from booking.core.policy import coordinator_required
from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.scheduling import services
from booking.scheduling.models import ACTIVE_STATES, Booking

bp = Blueprint("coordinator", __name__, url_prefix="/coordinator")


@bp.get("/")
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
        )
        .order_by(AuditEvent.created_at.desc())
        .limit(10)
    ).all()
    today = utcnow().astimezone(CLINIC_ZONE).date()
    upcoming = _bookings(clinic.id, today, today + timedelta(days=2))
    return render_template("coordinator/dashboard.html", clinic=clinic, recent=recent,
                           upcoming=upcoming, today=today)


def _bookings(clinic_id: int, first: date, last_exclusive: date,
              doctor_id: int | None = None) -> list[Booking]:
    start = datetime.combine(first, time.min, tzinfo=CLINIC_ZONE).astimezone(UTC)
    end = datetime.combine(last_exclusive, time.min, tzinfo=CLINIC_ZONE).astimezone(UTC)
    query = (select(Booking).options(joinedload(Booking.patient), joinedload(Booking.doctor),
                                     joinedload(Booking.consultation_type))
             .where(Booking.clinic_id == clinic_id, Booking.starts_at >= start,
                    Booking.starts_at < end)
             .order_by(Booking.starts_at))
    if doctor_id:
        query = query.where(Booking.doctor_id == doctor_id)
    return list(db.session.scalars(query).unique())


@bp.get("/week")
@coordinator_required
def week():
    """Monday-to-Sunday view of the clinic's bookings and holds, in Bangkok time."""
    clinic = current_user.clinic
    today = utcnow().astimezone(CLINIC_ZONE).date()
    try:
        anchor = date.fromisoformat(request.args.get("start", ""))
    except ValueError:
        anchor = today
    monday = anchor - timedelta(days=anchor.weekday())
    doctor_id = id_value(request.args.get("doctor"))
    show_all = request.args.get("all") == "1"
    rows = _bookings(clinic.id, monday, monday + timedelta(days=7), doctor_id)
    if not show_all:
        rows = [b for b in rows if b.state in ACTIVE_STATES]
    days = {monday + timedelta(days=i): [] for i in range(7)}
    for b in rows:
        days[b.starts_at.astimezone(CLINIC_ZONE).date()].append(b)
    return render_template("coordinator/week.html", clinic=clinic, days=days, monday=monday,
                           today=today, doctor_id=doctor_id, show_all=show_all,
                           prev_week=monday - timedelta(days=7),
                           next_week=monday + timedelta(days=7))


def _own_booking(booking_id: int) -> Booking:
    return services.get_booking(current_user, booking_id)


@bp.post("/bookings/<int:booking_id>/confirm")
@coordinator_required
def confirm(booking_id: int):
    """Confirm a held booking by hand (deposit paid another way, e.g. bank transfer)."""
    booking = _own_booking(booking_id)
    try:
        services.confirm_by_hand(current_user, booking, note=request.form.get("note", ""))
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
    else:
        db.session.commit()
        flash(_("Booking %(ref)s is confirmed.", ref=booking.reference), "success")
    return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))


@bp.post("/bookings/<int:booking_id>/outcome")
@coordinator_required
def outcome(booking_id: int):
    """Mark a confirmed consultation completed or a no-show."""
    booking = _own_booking(booking_id)
    try:
        services.mark_outcome(current_user, booking, request.form.get("outcome", ""))
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
    else:
        db.session.commit()
        flash(_("Saved."), "success")
    return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))
