"""The clinic's partner hotels: kept by the clinic's coordinators (and admins), offered to the
clinic's patients on their trip page with the nightly price range."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from booking.accounts.models import User
from booking.core import audit
from booking.core.errors import FieldInvalid, NotFound
from booking.core.policy import can_manage_clinic
from booking.extensions import db
from booking.travel.models import PartnerHotel

FIELDS = ("name", "address", "distance_note", "nightly_min_minor", "nightly_max_minor",
          "accessible", "active")


def hotels_of(actor: User, clinic_id: int) -> list[PartnerHotel]:
    """Every partner hotel of a clinic the actor manages, listed or not."""
    if not can_manage_clinic(actor, clinic_id):
        raise NotFound(_l("No such clinic."))
    return list(db.session.scalars(select(PartnerHotel).where(
        PartnerHotel.clinic_id == clinic_id).order_by(PartnerHotel.active.desc(),
                                                      PartnerHotel.name)))


def get_partner_hotel(actor: User, hotel_id: int) -> PartnerHotel:
    hotel = db.session.get(PartnerHotel, hotel_id)
    if hotel is None or not can_manage_clinic(actor, hotel.clinic_id):
        raise NotFound(_l("No such hotel."))
    return hotel


def save_partner_hotel(actor: User, clinic_id: int, hotel: PartnerHotel | None,
                       values: dict) -> PartnerHotel:
    """Add or change a partner hotel (prices in THB minor units); audited."""
    if not can_manage_clinic(actor, clinic_id) or (
            hotel is not None and hotel.clinic_id != clinic_id):
        raise NotFound(_l("No such hotel."))
    if values["nightly_max_minor"] < values["nightly_min_minor"]:
        raise FieldInvalid("nightly_max", _l("The highest price must not be below the lowest."))
    before = audit.snapshot(hotel, list(FIELDS)) if hotel else {}
    if hotel is None:
        hotel = PartnerHotel(clinic_id=clinic_id, currency="THB")
        db.session.add(hotel)
    for field in FIELDS:
        setattr(hotel, field, values[field])
    db.session.flush()
    changed_before, changed_after = audit.changes(before, audit.snapshot(hotel, list(FIELDS)))
    if changed_after:
        audit.record(actor, "partner_hotel.saved" if before else "partner_hotel.added", hotel,
                     before=changed_before or None, after=changed_after)
    return hotel
