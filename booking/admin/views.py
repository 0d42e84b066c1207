"""The admin's start page and the audit trail. Everything else an admin edits lives in its
feature: the catalogue in catalogue/manage.py, staff accounts in accounts/staff.py, holidays in
scheduling/views/plans.py, messages in notifications/views.py."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask import Blueprint, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from booking.accounts.models import User
from booking.admin.forms import AuditFilterForm
from booking.catalogue.models import Clinic, Doctor, Treatment
from booking.core.audit import AuditEvent, describe_changes, sentences
from booking.core.pages import PER_PAGE, asked_page, other_args
from booking.core.policy import admin_required
from booking.extensions import db

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.app_template_filter("audit_changes")
def _audit_changes(event: AuditEvent) -> list[str]:
    return describe_changes(event)


@bp.get("/")
@admin_required
def dashboard():
    """Counts and shortcuts."""
    counts = {
        "clinics": db.session.query(Clinic).count(),
        "doctors": db.session.query(Doctor).count(),
        "treatments": db.session.query(Treatment).count(),
        "patients": db.session.query(User).filter_by(role="patient").count(),
        "staff": db.session.query(User).filter(User.role != "patient").count(),
    }
    recent = db.session.scalars(
        select(AuditEvent).order_by(AuditEvent.created_at.desc()).limit(8)).all()
    return render_template("admin/dashboard.html", counts=counts, recent=recent,
                           said=sentences(recent))


# Audit trail --------------------------------------------------------------------------------

@bp.get("/audit")
@admin_required
def audit():
    """Every recorded change, filterable by action, object, person and dates."""
    form = AuditFilterForm(request.args)
    types = db.session.scalars(select(AuditEvent.object_type).distinct()).all()
    form.object_type.choices = [("", _l("Any"))] + [(t, t) for t in sorted(types)]
    query = select(AuditEvent).order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    valid = form.validate()
    # A bad value in one filter is reported on that field; the others still apply.
    def usable(f):  # type: ignore[no-untyped-def]
        return f.data and not f.errors

    if usable(form.action):
        query = query.where(AuditEvent.action.contains(form.action.data.strip()))
    if usable(form.object_type):
        query = query.where(AuditEvent.object_type == form.object_type.data)
    if usable(form.actor):
        query = query.where(AuditEvent.actor_label.contains(form.actor.data.strip().lower()))
    if usable(form.since):
        query = query.where(
            AuditEvent.created_at >= datetime.combine(form.since.data, time.min, UTC))
    if usable(form.until):
        query = query.where(
            AuditEvent.created_at <= datetime.combine(form.until.data, time.max, UTC))
    number, problem = asked_page()
    page = db.paginate(query, page=number, per_page=PER_PAGE, error_out=False)
    status = 422 if problem or not valid else 200
    return render_template("admin/audit.html", form=form, page=page, args=other_args(),
                           said=sentences(page.items),
                           page_problem=problem), status
