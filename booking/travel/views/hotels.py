"""The clinic's partner hotels, kept by its coordinators (admins choose the clinic)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from booking.catalogue.models import Clinic
from booking.core.ids import id_value
from booking.core.money import Money
from booking.core.pages import edit_page
from booking.core.policy import staff_required
from booking.extensions import db
from booking.travel import partners
from booking.travel.forms import PartnerHotelForm

bp = Blueprint("partner_hotels", __name__)


def _clinic_id() -> int:
    if current_user.is_coordinator:
        return current_user.clinic_id
    clinic_id = id_value(request.args.get("clinic"))
    if clinic_id is None or db.session.get(Clinic, clinic_id) is None:
        abort(404)
    return clinic_id


@bp.get("/clinic/hotels")
@staff_required
def hotels():
    """The clinic's partner hotels, as patients are offered them."""
    if current_user.is_admin and not request.args.get("clinic"):
        return render_template("travel/hotels/choose_clinic.html",
                               clinics=db.session.scalars(db.select(Clinic)
                                                          .order_by(Clinic.name)).all())
    clinic_id = _clinic_id()
    return render_template("travel/hotels/list.html", clinic=db.session.get(Clinic, clinic_id),
                           hotels=partners.hotels_of(current_user, clinic_id))


@bp.route("/clinic/hotels/new", methods=["GET", "POST"])
@bp.route("/clinic/hotels/<int:hotel_id>/edit", methods=["GET", "POST"])
@staff_required
def edit(hotel_id: int | None = None):
    """Add or change a partner hotel."""
    from booking.core.errors import DomainError

    try:
        hotel = partners.get_partner_hotel(current_user, hotel_id) if hotel_id else None
    except DomainError:
        abort(404)
    if hotel is None and current_user.is_admin and not request.args.get("clinic"):
        return redirect(url_for("partner_hotels.hotels"))  # choose the clinic first
    clinic_id = hotel.clinic_id if hotel else _clinic_id()
    form = PartnerHotelForm(obj=hotel)
    if request.method == "GET" and hotel is not None:
        form.nightly_min.data = Money(hotel.nightly_min_minor, hotel.currency).decimal
        form.nightly_max.data = Money(hotel.nightly_max_minor, hotel.currency).decimal

    def save() -> object:
        values = {f: getattr(form, f).data for f in ("name", "address", "distance_note",
                                                      "accessible", "active")}
        values["nightly_min_minor"] = Money.from_decimal(form.nightly_min.data,
                                                         "THB").amount_minor
        values["nightly_max_minor"] = Money.from_decimal(form.nightly_max.data,
                                                         "THB").amount_minor
        return partners.save_partner_hotel(current_user, clinic_id, hotel, values)

    back = url_for("partner_hotels.hotels", clinic=None if current_user.is_coordinator
                   else clinic_id)
    return edit_page(form, _("Edit partner hotel") if hotel else _("New partner hotel"), save,
                     back, back)
