"""Plain dicts for the API's answers (dumped through booking.api.schemas). Instants are ISO 8601
in UTC, with local and Bangkok times beside."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from booking.accounts.models import User
from booking.catalogue.models import Clinic, ConsultationType
from booking.core.zones import CLINIC_ZONE
from booking.payments import ledger
from booking.scheduling import permissions, services
from booking.scheduling.availability import Slot
from booking.scheduling.consent import CONSENTS
from booking.scheduling.models import Booking
from booking.screening.models import REFER, Screening
from booking.screening.questions import RED_FLAGS


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def clinic(c: Clinic) -> dict:
    return {"id": c.id, "slug": c.slug, "name": c.name, "address": c.address,
            "accreditation": c.accreditation, "languages": c.languages, "timezone": c.timezone,
            "doctors": [{"id": d.id, "name": d.name, "specialty": d.specialty,
                         "languages": d.languages} for d in c.doctors if d.active]}


def consultation_type(t: ConsultationType) -> dict:
    return {"id": t.id, "clinic": t.clinic_id, "name": t.name, "mode": t.mode,
            "duration_minutes": t.duration_minutes,
            "deposit": {"amount_minor": t.deposit_minor, "currency": t.currency},
            "min_notice_minutes": t.min_notice_minutes, "horizon_days": t.horizon_days}


def slot(s: Slot, zone: str) -> dict:
    return {"doctor": s.doctor_id, "start": iso(s.start), "end": iso(s.end),
            "start_local": s.start.astimezone(ZoneInfo(zone)).isoformat(),
            "start_bangkok": s.start.astimezone(CLINIC_ZONE).isoformat()}


def booking(b: Booking, viewer: User) -> dict:
    return {
        "id": b.id, "reference": b.reference, "state": b.state,
        "clinic": b.clinic_id, "doctor": b.doctor_id, "consultation_type": b.consultation_type_id,
        "start": iso(b.starts_at), "end": iso(b.ends_at),
        "start_local": b.starts_at.astimezone(ZoneInfo(b.patient_timezone)).isoformat(),
        "start_bangkok": b.starts_at.astimezone(CLINIC_ZONE).isoformat(),
        "timezone": b.patient_timezone,
        "hold_expires_at": iso(b.hold_expires_at),
        "deposit": {"amount_minor": b.deposit_minor, "currency": b.currency},
        # Where a video consultation takes place, once the clinic set it and the booking is
        # confirmed (as on the booking page).
        "video_url": b.joinable_video_url,
        "history": [{"at": iso(e.at), "from": e.from_state, "to": e.to_state,
                     "detail": e.detail} for e in b.events],
        "required_consents": [consent_status(b, kind) for kind in CONSENTS],
        "missing": services.missing_for_confirmation(b),
        # What the caller may do now: the rule the booking page uses to show its buttons.
        "actions": permissions.actions(viewer, b),
        **payment(b),
    }


def payment(b: Booking) -> dict:
    """What the ledger says: status, paid and refunded (in the paid currency), each refund."""
    summary = ledger.summarise(b)
    return {
        "payment_status": summary.status.value,
        "amount_paid": {"amount_minor": summary.paid, "currency": summary.currency},
        "amount_refunded": {"amount_minor": summary.refunded, "currency": summary.currency},
        "refunds": [refund(r) for r in summary.refunds],
    }


def refund(r) -> dict:  # type: ignore[no-untyped-def]
    return {"id": r.id, "amount_minor": r.amount_minor, "currency": r.currency,
            "status": r.status, "cause": r.cause, "reason": r.reason,
            "created_at": iso(r.created_at)}


def consent_status(b: Booking, kind: str) -> dict:
    text, given = CONSENTS[kind], b.consent(kind)
    return {"kind": kind, "version": text.version, "title": str(text.title),
            "given_at": iso(given.accepted_at) if given is not None else None}


def screening(s: Screening) -> dict:
    refer = s.outcome == REFER
    return {
        "id": s.id, "created_at": iso(s.created_at), "outcome": s.outcome,
        "odi_score": s.odi_score,
        "red_flags": [{"key": key, "label": str(label)} for key, label in RED_FLAGS
                      if key in s.red_flags],
        # The same advice as the web page that refers a patient (screening/refer.html).
        "advice": " ".join((
            _("You told us about symptoms that need to be checked by a doctor where you live, "
              "as soon as possible. A trip abroad for a consultation is not the right next "
              "step."),
            _("If you cannot control your bladder or bowels, have numbness around your genitals "
              "or buttocks, or your legs are getting weaker, go to an emergency department "
              "today."),
            _("No booking was made and nothing was charged. Once a doctor has checked these "
              "symptoms, you can answer the questions again."))) if refer else None,
    }
