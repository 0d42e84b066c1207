"""Helpers to create bookings through the services, as the app would."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from booking.accounts.models import User
from booking.catalogue.models import Clinic, ConsultationType
from booking.core.types import utcnow
from booking.extensions import db
from booking.scheduling import services
from booking.scheduling.availability import find_slots
from booking.scheduling.consent import CONSENTS
from booking.scheduling.models import Booking


def ctype_for(clinic_slug: str = "sukhumvit-spine", mode: str = "video") -> ConsultationType:
    return db.session.scalar(select(ConsultationType).join(Clinic).where(
        Clinic.slug == clinic_slug, ConsultationType.mode == mode))


def user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def first_free(ctype: ConsultationType, *, after: datetime | None = None, doctor_id=None):
    after = after or utcnow() + timedelta(days=2)
    slots = find_slots(ctype, start=after, end=after + timedelta(days=14), now=utcnow(),
                       doctor_ids=[doctor_id] if doctor_id else None)
    assert slots, "the demo plan should leave free slots"
    return slots[0]


def hold(patient_email: str = "patient@example.com", clinic_slug: str = "sukhumvit-spine",
         *, confirm: bool = False, consented: bool = False, mode: str = "video",
         after: datetime | None = None) -> Booking:
    """Place a hold on the first free slot; with `consented` the patient also gives the
    consents (as the review step does), with `confirm` the clinic then confirms it; commits."""
    ctype = ctype_for(clinic_slug, mode)
    slot = first_free(ctype, after=after)
    patient = user(patient_email)
    booking = services.place_hold(patient, patient=patient, ctype=ctype,
                                  doctor_id=slot.doctor_id, start=slot.start)
    if consented or confirm:
        services.give_consent(patient, booking, list(CONSENTS))
    if confirm:
        coordinator = db.session.scalar(select(User).where(
            User.role == "coordinator", User.clinic_id == ctype.clinic_id))
        services.confirm_by_hand(coordinator, booking)
    db.session.commit()
    return booking


def screen(patient_email: str = "patient@example.com", *, red_flags=()) -> None:
    """Record a pre-screening for the patient (eligible unless red flags are given); commits."""
    from booking.screening.services import record_screening

    record_screening(user(patient_email), {
        "pain_months": 18, "prior_treatments": ["physiotherapy"], "prior_surgery": False,
        "nrs": 6, "odi_answers": {k: 2 for k in ("pain", "care", "lifting", "walking",
                                                 "sitting", "standing", "sleeping", "sex",
                                                 "social", "travel")},
        "imaging_available": True, "red_flags": list(red_flags)})
    db.session.commit()
