"""Screening use cases: record answers, decide eligible or refer, find a recent screening."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from booking.accounts.models import User
from booking.core import audit
from booking.core.types import utcnow
from booking.extensions import db
from booking.screening.models import ELIGIBLE, REFER, Screening
from booking.screening.questions import RED_FLAGS, odi_score

#: A screening older than this is asked again before a new booking.
VALID_FOR = timedelta(days=90)


def record_screening(patient: User, values: dict) -> Screening:
    """Keep the answers as the patient's baseline; any red flag means refer, not book."""
    flags = [f for f in values.get("red_flags", []) if f in dict(RED_FLAGS)]
    screening = Screening(
        patient_id=patient.id, condition_id=values.get("condition_id") or None,
        pain_months=values["pain_months"], prior_treatments=values.get("prior_treatments", []),
        prior_surgery=values["prior_surgery"], nrs=values["nrs"],
        odi_answers=values["odi_answers"], odi_score=odi_score(values["odi_answers"]),
        imaging_available=values["imaging_available"], red_flags=flags,
        outcome=REFER if flags else ELIGIBLE,
        notes="Red flags: " + ", ".join(flags) if flags else "",
    )
    db.session.add(screening)
    db.session.flush()
    audit.record(patient, "screening.recorded", screening,
                 after={"outcome": screening.outcome, "red_flags": flags,
                        "odi_score": screening.odi_score, "nrs": screening.nrs})
    return screening


def latest_screening(patient: User) -> Screening | None:
    """The newest screening still valid for booking, if any."""
    return db.session.scalar(
        select(Screening).where(Screening.patient_id == patient.id,
                                Screening.created_at >= utcnow() - VALID_FOR)
        .order_by(Screening.created_at.desc(), Screening.id.desc()).limit(1))
