"""How scheduling's objects are named in the audit trail's sentences
("Kanya Suwan confirmed SB-6PVMEB for Jane Miller")."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from booking.accounts.models import User
from booking.catalogue.models import Doctor
from booking.core.audit import Named, register_labeller
from booking.core.labels import by_column, int_ids
from booking.extensions import db
from booking.scheduling.models import Booking, Holiday, ScheduleException


def booking_labels(ids: list[str]) -> dict[str, Named]:
    rows = db.session.execute(select(Booking.id, Booking.reference, User.name, User.id)
                              .join(User, Booking.patient_id == User.id)
                              .where(Booking.id.in_(int_ids(ids))))
    return {str(ident): Named(_("%(ref)s for %(patient)s", ref=ref, patient=name), ref, owner)
            for ident, ref, name, owner in rows}


def exception_labels(ids: list[str]) -> dict[str, str]:
    rows = db.session.execute(select(ScheduleException.id, Doctor.name)
                              .outerjoin(Doctor, ScheduleException.doctor_id == Doctor.id)
                              .where(ScheduleException.id.in_(int_ids(ids))))
    return {str(ident): _("for %(doctor)s", doctor=name) if name else _("for the whole clinic")
            for ident, name in rows}


def register() -> None:
    register_labeller("Booking", booking_labels)
    register_labeller("ScheduleException", exception_labels)
    register_labeller("Holiday", by_column(Holiday))
