"""Where the clinic's hours are kept: each doctor's weekly plan, leave, blocked time, extra
hours and closures (coordinators, under /coordinator/), and public holidays (admins, under
/admin/holidays). Every change lists the bookings it touches; none is dropped."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from booking.catalogue.models import Doctor
from booking.core.actions import apply, attempt, transaction
from booking.core.errors import DomainError
from booking.core.policy import admin_required, coordinator_required
from booking.core.types import utcnow
from booking.core.zones import CLINIC_ZONE
from booking.extensions import db
from booking.scheduling import plans
from booking.scheduling.forms import (
    WEEKDAYS,
    ExceptionForm,
    HolidayForm,
    WeeklyPlanForm,
    format_intervals,
)
from booking.scheduling.models import Holiday, ScheduleException, WorkingInterval

bp = Blueprint("plans", __name__)


def _clinic_doctor(doctor_id: int) -> Doctor:
    doctor = db.session.get(Doctor, doctor_id)
    if doctor is None or doctor.clinic_id != current_user.clinic_id:
        abort(404)
    return doctor


def _schedule_page(exception_form: ExceptionForm | None = None, status: int = 200):
    clinic = current_user.clinic
    now = utcnow()
    weekly: dict[int, dict[int, list]] = {d.id: {} for d in clinic.doctors}
    for row in db.session.scalars(select(WorkingInterval).where(
            WorkingInterval.doctor_id.in_(list(weekly))).order_by(WorkingInterval.start_time)):
        weekly[row.doctor_id].setdefault(row.weekday, []).append((row.start_time, row.end_time))
    exceptions = db.session.scalars(select(ScheduleException).where(
        ScheduleException.clinic_id == clinic.id, ScheduleException.ends_at >= now)
        .order_by(ScheduleException.starts_at)).all()
    _years, holidays = _holidays_this_year_and_next()
    exception_form = exception_form or _exception_form()
    return render_template(
        "scheduling/plans/schedule.html", clinic=clinic, plans=weekly, weekdays=WEEKDAYS,
        exceptions=exceptions, holidays=holidays, exception_form=exception_form,
        doctor_names={d.id: d.name for d in clinic.doctors}, fmt=format_intervals,
    ), status


def _exception_form() -> ExceptionForm:
    form = ExceptionForm(prefix="exc")
    form.doctor_id.choices = [(0, _l("Whole clinic (closure)"))] + [
        (d.id, d.name) for d in current_user.clinic.doctors]
    return form


@bp.get("/coordinator/schedule")
@coordinator_required
def schedule():
    """Weekly plans, leave, blocks, extra hours and holidays, in Bangkok time."""
    return _schedule_page()


@bp.route("/coordinator/doctors/<int:doctor_id>/plan", methods=["GET", "POST"])
@coordinator_required
def edit_plan(doctor_id: int):
    """Replace a doctor's weekly plan; bookings it no longer covers are listed, never dropped."""
    doctor = _clinic_doctor(doctor_id)
    form = WeeklyPlanForm()
    if request.method == "GET":
        current: dict[int, list] = {}
        for row in db.session.scalars(select(WorkingInterval).where(
                WorkingInterval.doctor_id == doctor.id)):
            current.setdefault(row.weekday, []).append((row.start_time, row.end_time))
        for index, (name, _label) in enumerate(WEEKDAYS):
            getattr(form, name).data = format_intervals(sorted(current.get(index, [])))
    if form.validate_on_submit():
        with transaction():
            outside = plans.set_weekly_plan(current_user, doctor, form.intervals())
        if not outside:
            flash(_("The plan for %(doctor)s is saved.", doctor=doctor.name), "success")
            return redirect(url_for("plans.schedule"))
        return render_template("scheduling/plans/plan_conflicts.html", doctor=doctor,
                               bookings=outside)
    status = 422 if request.method == "POST" else 200
    return render_template("scheduling/plans/plan.html", form=form, doctor=doctor), status


def _bangkok(value: datetime) -> datetime:
    return value.replace(tzinfo=CLINIC_ZONE).astimezone(UTC)


@bp.post("/coordinator/exceptions")
@coordinator_required
def add_exception():
    """Add leave, blocked time, extra hours or (whole clinic) a closure."""
    form = _exception_form()
    if not form.validate_on_submit():
        return _schedule_page(exception_form=form, status=422)
    added = attempt(lambda: plans.add_exception(
        current_user, clinic_id=current_user.clinic_id, doctor_id=form.doctor_id.data or None,
        kind=form.kind.data, starts_at=_bangkok(form.starts_at.data),
        ends_at=_bangkok(form.ends_at.data), note=form.note.data or ""))
    if not added.ok:  # shown under the start, with everything as it was typed
        form.starts_at.errors = [*form.starts_at.errors, added.message]
        return _schedule_page(exception_form=form, status=422)
    affected = plans.bookings_in_exception(added.value)
    if affected:
        return render_template("scheduling/plans/exception_conflicts.html", exception=added.value,
                               bookings=affected, exception_kinds=dict(
                                   ExceptionForm.kind_choices()),
                               doctor_names={d.id: d.name for d in current_user.clinic.doctors})
    flash(_("Saved. No booking falls in that time."), "success")
    return redirect(url_for("plans.schedule"))


@bp.post("/coordinator/exceptions/<int:exception_id>/delete")
@coordinator_required
def remove_exception(exception_id: int):
    """Remove leave, a block, extra hours or a closure."""
    exc = db.session.get(ScheduleException, exception_id)
    if exc is None or exc.clinic_id != current_user.clinic_id:
        abort(404)
    apply(lambda: plans.remove_exception(current_user, exc), _("Removed."))
    return redirect(url_for("plans.schedule"))


# Public holidays ----------------------------------------------------------------------------

def _holidays_this_year_and_next() -> tuple[tuple[int, int], list[Holiday]]:
    this_year = utcnow().astimezone(CLINIC_ZONE).year
    return (this_year, this_year + 1), list(db.session.scalars(select(Holiday).where(
        Holiday.day >= date(this_year, 1, 1), Holiday.day <= date(this_year + 1, 12, 31))
        .order_by(Holiday.day)))


def _holiday_page(form: HolidayForm, status: int = 200):  # type: ignore[no-untyped-def]
    years, holidays = _holidays_this_year_and_next()
    return render_template("scheduling/plans/holidays.html", form=form, holidays=holidays,
                           years=years), status


@bp.route("/admin/holidays", methods=["GET", "POST"])
@admin_required
def holidays():
    """Public holidays this year and next (every clinic closes); add one."""
    form = HolidayForm()
    if request.method == "GET":
        return _holiday_page(form)
    if form.validate_on_submit():
        try:
            with transaction():
                plans.add_holiday(current_user, form.day.data, form.name.data)
        except DomainError as exc:
            target = form.day if exc.code == "holiday_exists" else form.name
            target.errors = [*target.errors, str(exc.message)]
        except IntegrityError:
            # Another admin added the same day a moment ago (the unique constraint caught it).
            form.day.errors = [*form.day.errors, _("That date is already a holiday.")]
        else:
            flash(_("Holiday added: every clinic is closed on %(day)s.",
                    day=form.day.data.isoformat()), "success")
            return redirect(url_for("plans.holidays"))
    return _holiday_page(form, 422)


@bp.route("/admin/holidays/<int:holiday_id>/remove", methods=["GET", "POST"])
@admin_required
def remove_holiday(holiday_id: int):
    """Ask, then remove a public holiday (clinics open on their usual plan that day)."""
    holiday = db.get_or_404(Holiday, holiday_id)
    if request.method == "GET":
        return render_template("scheduling/plans/holiday_remove.html", holiday=holiday,
                               form=FlaskForm())
    if not FlaskForm().validate_on_submit():
        abort(400)
    apply(lambda: plans.remove_holiday(current_user, holiday), _("Holiday removed."))
    return redirect(url_for("plans.holidays"))
