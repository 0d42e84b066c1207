"""The admin's catalogue screens: clinics, doctors, consultation types, treatments and the
exchange rates prices are shown in. URLs stay under /admin/."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from booking.catalogue import services as catalogue
from booking.catalogue.forms import (
    ClinicForm,
    ConsultationTypeForm,
    DoctorForm,
    ExchangeRateForm,
    TreatmentForm,
)
from booking.catalogue.models import (
    Clinic,
    Condition,
    ConsultationType,
    Doctor,
    ExchangeRate,
    Treatment,
)
from booking.core.actions import attempt
from booking.core.i18n import SUPPORTED_CURRENCIES
from booking.core.ids import id_value
from booking.core.money import Money
from booking.core.pages import edit_page
from booking.core.policy import admin_required
from booking.core.templating import MODE_LABELS, REGULATORY_LABELS
from booking.extensions import db

bp = Blueprint("catalogue_admin", __name__, url_prefix="/admin")


def clinic_choices() -> list[tuple[int, str]]:
    return [(c.id, c.name) for c in db.session.scalars(select(Clinic).order_by(Clinic.name))]


# Clinics, doctors, consultation types ------------------------------------------------------

@bp.get("/clinics")
@admin_required
def clinics():
    """Every clinic with its doctors and consultation types."""
    rows = db.session.scalars(select(Clinic).order_by(Clinic.name)).all()
    return render_template("catalogue/manage/clinics.html", clinics=rows)


@bp.route("/clinics/new", methods=["GET", "POST"])
@bp.route("/clinics/<int:clinic_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_clinic(clinic_id: int | None = None):
    """Create or edit a clinic."""
    clinic = db.get_or_404(Clinic, clinic_id) if clinic_id else None
    form = ClinicForm(obj=clinic)

    def save() -> object:
        values = {f: getattr(form, f).data for f in catalogue.CLINIC_FIELDS}
        values["email"] = values["email"] or ""
        return catalogue.save_clinic(current_user, clinic, values)

    title = _("Edit clinic") if clinic else _("New clinic")
    back = url_for("catalogue_admin.clinics")
    return edit_page(form, title, save, back, back)


@bp.route("/doctors/new", methods=["GET", "POST"])
@bp.route("/doctors/<int:doctor_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_doctor(doctor_id: int | None = None):
    """Create or edit a doctor."""
    doctor = db.get_or_404(Doctor, doctor_id) if doctor_id else None
    form = DoctorForm(obj=doctor)
    form.clinic_id.choices = clinic_choices()
    if doctor is None and request.method == "GET" and id_value(request.args.get("clinic")):
        form.clinic_id.data = id_value(request.args.get("clinic"))

    def save() -> object:
        values = {f: getattr(form, f).data for f in catalogue.DOCTOR_FIELDS}
        return catalogue.save_doctor(current_user, doctor, values)

    title = _("Edit doctor") if doctor else _("New doctor")
    back = url_for("catalogue_admin.clinics")
    return edit_page(form, title, save, back, back)


@bp.route("/consultation-types/new", methods=["GET", "POST"])
@bp.route("/consultation-types/<int:ctype_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_consultation_type(ctype_id: int | None = None):
    """Create or edit a consultation type (mode, duration, deposit in THB)."""
    ctype = db.get_or_404(ConsultationType, ctype_id) if ctype_id else None
    form = ConsultationTypeForm(obj=ctype)
    form.clinic_id.choices = clinic_choices()
    form.mode.choices = [(k, str(v)) for k, v in MODE_LABELS.items()]
    if request.method == "GET":
        if ctype is not None:
            form.deposit.data = Money(ctype.deposit_minor, ctype.currency).decimal
        elif id_value(request.args.get("clinic")):
            form.clinic_id.data = id_value(request.args.get("clinic"))

    def save() -> object:
        values = {f: getattr(form, f).data for f in
                  ("name", "mode", "duration_minutes", "active", "clinic_id",
                   "buffer_before_minutes", "buffer_after_minutes", "min_notice_minutes",
                   "horizon_days")}
        currency = ctype.currency if ctype else current_app.config["BASE_CURRENCY"]
        values["deposit_minor"] = Money.from_decimal(form.deposit.data, currency).amount_minor
        return catalogue.save_consultation_type(current_user, ctype, values)

    title = _("Edit consultation type") if ctype else _("New consultation type")
    back = url_for("catalogue_admin.clinics")
    return edit_page(form, title, save, back, back)


# Treatments ------------------------------------------------------------------------------

@bp.get("/treatments")
@admin_required
def treatments():
    """Every treatment, listed or not."""
    return render_template("catalogue/manage/treatments.html",
                           treatments=catalogue.list_treatments(include_inactive=True))


@bp.route("/treatments/new", methods=["GET", "POST"])
@bp.route("/treatments/<int:treatment_id>/edit", methods=["GET", "POST"])
@admin_required
def edit_treatment(treatment_id: int | None = None):
    """Create or edit a treatment: prices, evidence, regulatory status, candidates."""
    treatment = db.get_or_404(Treatment, treatment_id) if treatment_id else None
    form = TreatmentForm(obj=treatment)
    form.regulatory_status.choices = [(k, str(v)) for k, v in REGULATORY_LABELS.items()]
    form.conditions.choices = [
        (c.id, c.name) for c in db.session.scalars(select(Condition).order_by(Condition.name))
    ]
    form.clinics.choices = clinic_choices()
    if request.method == "GET" and treatment is not None:
        form.price_min.data = Money(treatment.price_min_minor, treatment.currency).decimal
        form.price_max.data = Money(treatment.price_max_minor, treatment.currency).decimal
        form.conditions.data = [c.id for c in treatment.conditions]
        form.clinics.data = [c.id for c in treatment.clinics]

    def save() -> object:
        values = {f: getattr(form, f).data for f in
                  ("name", "slug", "summary", "description", "evidence_summary",
                   "regulatory_status", "regulatory_note", "not_candidates", "recovery_days",
                   "active")}
        currency = treatment.currency if treatment else current_app.config["BASE_CURRENCY"]
        values["price_min_minor"] = Money.from_decimal(form.price_min.data, currency).amount_minor
        values["price_max_minor"] = Money.from_decimal(form.price_max.data, currency).amount_minor
        return catalogue.save_treatment(current_user, treatment, values,
                                        form.conditions.data or [], form.clinics.data or [])

    title = _("Edit treatment") if treatment else _("New treatment")
    back = url_for("catalogue_admin.treatments")
    return edit_page(form, title, save, back, back)


# Exchange rates -----------------------------------------------------------------------------

@bp.route("/exchange-rates", methods=["GET", "POST"])
@admin_required
def exchange_rates():
    """The display rates used to show THB prices in other currencies."""
    form = ExchangeRateForm()
    form.currency.choices = [(c, c) for c in SUPPORTED_CURRENCIES if c != "THB"]
    if form.validate_on_submit():
        saved = attempt(lambda: catalogue.set_exchange_rate(current_user, form.currency.data,
                                                            form.rate.data))
        if not saved.ok:
            flash(saved.message, "danger")
        else:
            flash(_("Rate saved."), "success")
            return redirect(url_for("catalogue_admin.exchange_rates"))
    rates = db.session.scalars(select(ExchangeRate).order_by(ExchangeRate.currency)).all()
    status = 422 if request.method == "POST" else 200
    return render_template("catalogue/manage/exchange_rates.html", form=form, rates=rates), status
