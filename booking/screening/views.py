"""The screening step of booking: before any time is held or any deposit asked for."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from booking.catalogue.models import Condition, ConsultationType
from booking.core.actions import transaction
from booking.core.ids import id_value
from booking.core.policy import patient_required
from booking.extensions import db
from booking.scheduling.services import bookable_type
from booking.screening import services
from booking.screening.forms import ScreeningForm
from booking.screening.models import REFER
from booking.screening.questions import RED_FLAGS

bp = Blueprint("screening", __name__)


@bp.route("/book/<int:ctype_id>/screening", methods=["GET", "POST"])
@patient_required
def screen(ctype_id: int):
    """A few questions so we only book consultations that make sense for you."""
    ctype = db.session.get(ConsultationType, ctype_id)
    if not bookable_type(ctype):
        abort(404)
    form = ScreeningForm()
    form.condition_id.choices = [(0, "—")] + [
        (c.id, c.name) for c in db.session.scalars(select(Condition).order_by(Condition.name))]
    if form.validate_on_submit():
        with transaction():
            screening = services.record_screening(current_user, {
                "condition_id": form.condition_id.data or None,
                "pain_months": form.pain_months.data,
                "prior_treatments": form.prior_treatments.data or [],
                "prior_surgery": form.prior_surgery.data == "yes",
                "nrs": int(form.nrs.data),
                "odi_answers": form.odi_answers(),
                "imaging_available": form.imaging_available.data == "yes",
                "red_flags": form.red_flags.data or [],
            })
        if screening.outcome == REFER:
            return render_template("screening/refer.html", screening=screening, ctype=ctype,
                                   flags=[label for key, label in RED_FLAGS
                                          if key in screening.red_flags])
        booking_id = id_value(request.args.get("booking"))
        if booking_id is not None:
            # Answering for a time the clinic already held: back to that booking.
            return redirect(url_for("scheduling.booking_detail", booking_id=booking_id))
        return redirect(url_for("scheduling.choose_slot", ctype_id=ctype.id))
    status = 422 if request.method == "POST" else 200
    return render_template("screening/form.html", form=form, ctype=ctype), status
