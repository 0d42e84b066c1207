"""The patient's booking pages: choose a consultation, pick a slot in your own zone, hold it,
and manage the booking. The booking page, moving and cancelling serve staff too (each asks the
booking what the viewer may do); the clinic's own screens are in clinic.py and plans.py."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from booking.catalogue.models import Clinic, Condition, ConsultationType, Doctor, Treatment
from booking.core.actions import apply, attempt
from booking.core.ids import id_value
from booking.core.inputs import MAX_DAY, MIN_DAY, parse_day
from booking.core.personal_pages import personal_page
from booking.core.policy import any_user_required, patient_required
from booking.core.types import utcnow
from booking.core.zones import (
    aliases,
    canonical_zone,
    days_in_utc,
    is_valid_zone,
    zone_groups,
)
from booking.extensions import db
from booking.notifications import services as outbox
from booking.notifications.registry import kinds
from booking.payments import views as payment_views
from booking.payments.labels import PAYMENT_LABELS, REFUND_LABELS
from booking.records.models import MedicalDocument
from booking.records.services import documents_for_booking
from booking.scheduling import cache as availability_cache
from booking.scheduling import lifecycle, permissions, services
from booking.scheduling.availability import Slot, answer_lasts_until, find_slots
from booking.scheduling.calendar import booking_calendar
from booking.scheduling.consent import CONSENTS
from booking.scheduling.forms import VideoLinkForm
from booking.scheduling.models import CANCELLED_BY_PATIENT, Booking
from booking.scheduling.permissions import BookingAction
from booking.screening.models import REFER, Screening
from booking.screening.questions import PRIOR_TREATMENTS, RED_FLAGS
from booking.screening.services import latest_screening

bp = Blueprint("scheduling", __name__)

DAYS_PER_PAGE = 7


@bp.app_context_processor
def booking_rules() -> dict:
    """Pages ask the same rule the services enforce: `may(BookingAction.CONFIRM, booking)`."""
    return {"BookingAction": BookingAction,
            "may": lambda action, booking: permissions.may(current_user, action, booking)}


def chosen_slot() -> tuple[datetime, int] | None:
    """The (UTC start, doctor id) a slot button posted (`slot` = "start|doctor", as the
    page's buttons send it, or `start` and `doctor`), or None when it is not one of ours."""
    start_text, _sep, doctor_text = (request.form.get("slot") or "").partition("|")
    if not start_text:
        start_text, doctor_text = request.form.get("start", ""), request.form.get("doctor")
    try:
        start = datetime.fromisoformat(start_text[:40])
    except ValueError:
        return None
    doctor_id = id_value(doctor_text)
    if start.tzinfo is None or doctor_id is None or not MIN_DAY < start.date() < MAX_DAY:
        return None  # (the margin of a day keeps the conversion to UTC from overflowing)
    return start.astimezone(UTC), doctor_id


def _display_zone() -> str:
    chosen = request.args.get("tz")
    return chosen if is_valid_zone(chosen) else current_user.timezone


@bp.get("/book")
@patient_required
def choose_consultation():
    """Step 1: which clinic and which kind of consultation."""
    conditions = db.session.scalars(select(Condition).order_by(Condition.name)).all()
    condition = next((c for c in conditions if c.slug == request.args.get("condition")), None)
    clinics = db.session.scalars(select(Clinic).where(Clinic.active).order_by(Clinic.name)).all()
    if condition is not None:
        # Only clinics offering a treatment for the patient's condition.
        treating = {t.id for t in condition.treatments if t.active}
        clinics = [c for c in clinics if treating & {t.id for t in c.treatments}]
    treatment = None
    if request.args.get("treatment"):  # from a treatment's page: the clinics offering it
        treatment = db.session.scalar(select(Treatment).where(
            Treatment.slug == request.args["treatment"][:80], Treatment.active))
        if treatment is not None:
            clinics = [c for c in clinics if treatment in c.treatments]
    selected = request.args.get("clinic")
    clinics.sort(key=lambda c: c.slug != selected)  # from a clinic's page: that clinic first
    return render_template("scheduling/choose.html", clinics=clinics, conditions=conditions,
                           condition=condition, treatment=treatment, selected=selected)


@bp.get("/book/<int:ctype_id>")
@personal_page
@patient_required
def choose_slot(ctype_id: int):
    """Step 2: free times for a week, in the patient's zone with Bangkok time beside."""
    ctype = db.session.get(ConsultationType, ctype_id)
    if ctype is None or not ctype.active or not ctype.clinic.active:
        abort(404)
    screening = latest_screening(current_user)
    if screening is None:
        return redirect(url_for("screening.screen", ctype_id=ctype.id))
    if screening.outcome == REFER:
        return render_template("screening/refer.html", screening=screening, ctype=ctype,
                               flags=[label for key, label in RED_FLAGS
                                      if key in screening.red_flags])
    return render_slot_page(ctype, _display_zone(), page_endpoint="scheduling.choose_slot",
                            hold_endpoint="scheduling.hold_slot")


def cached_slots(ctype: ConsultationType, start: datetime, end: datetime,
                 doctor_id: int | None) -> list[Slot]:
    """find_slots through the availability cache (Redis; bumped by every schedule change),
    kept as the API's: until the clock could change the answer."""
    now = utcnow()
    key = f"page:{ctype.id}:{doctor_id}:{start.isoformat()}:{end.isoformat()}"

    def compute() -> tuple[list, datetime | None]:
        slots = find_slots(ctype, start=start, end=end, now=now,
                           doctor_ids=[doctor_id] if doctor_id else None)
        return ([[s.start.timestamp(), s.end.timestamp(), s.doctor_id] for s in slots],
                answer_lasts_until(ctype, slots, end=end, now=now))

    rows = json.loads(availability_cache.cached_json(key, compute, now))
    return [Slot(datetime.fromtimestamp(a, tz=UTC), datetime.fromtimestamp(b, tz=UTC), d)
            for a, b, d in rows]


def render_slot_page(ctype: ConsultationType, zone: str, *, page_endpoint: str,
                     hold_endpoint: str, patient=None, patient_ref: str | None = None,
                     moving: Booking | None = None):  # type: ignore[no-untyped-def]
    """A week of free slots: a patient booking, a coordinator booking for a patient, or a
    booking being moved (`moving`)."""
    doctor_id = id_value(request.args.get("doctor"))
    doctors = [d for d in ctype.clinic.doctors if d.active]
    if doctor_id and doctor_id not in {d.id for d in doctors}:
        doctor_id = None
    tz = ZoneInfo(zone)
    today = utcnow().astimezone(tz).date()
    first = max(parse_day(request.args.get("week"), "week", today), today)
    start, end = days_in_utc(first, first + timedelta(days=DAYS_PER_PAGE), tz)
    slots = cached_slots(ctype, start, end, doctor_id)
    if not doctor_id:
        # "First available": one entry per start time, the first doctor free then.
        first_free = {}
        for s in slots:
            first_free.setdefault(s.start, s)
        slots = list(first_free.values())
    by_day: dict[date, list] = {}
    for s in slots:
        by_day.setdefault(s.start.astimezone(tz).date(), []).append(s)

    target = {"booking_id": moving.id} if moving else {"ctype_id": ctype.id}

    def page_url(**changes: object) -> str:
        args = {**target, "tz": zone, "doctor": doctor_id, "patient": patient_ref,
                "week": first.isoformat(), **changes}
        return url_for(page_endpoint, **{k: v for k, v in args.items() if v is not None})

    shown_zone = canonical_zone(zone) or zone
    zones = zone_groups(str(get_locale() or "en"))
    if not any(shown_zone == z for options in zones.values() for z, _label in options):
        zones = {shown_zone: [(shown_zone, shown_zone.replace("_", " "))], **zones}
    return render_template(
        "scheduling/slots.html", ctype=ctype, doctors=doctors, doctor_id=doctor_id,
        page_url=page_url, hold_url=url_for(hold_endpoint, **target), patient=patient,
        patient_ref=patient_ref,
        moving=moving,
        zone=shown_zone, zones=zones, zone_aliases=aliases(), by_day=by_day, first=first,
        days=[first + timedelta(days=i) for i in range(DAYS_PER_PAGE)],
        next_week=first + timedelta(days=DAYS_PER_PAGE),
        prev_week=first - timedelta(days=DAYS_PER_PAGE) if first > today else None,
        doctor_names={d.id: d.name for d in doctors},
    )


@bp.post("/book/<int:ctype_id>/hold")
@patient_required
def hold_slot(ctype_id: int):
    """Step 3: hold the chosen time while the deposit is arranged."""
    ctype = db.session.get(ConsultationType, ctype_id)
    if ctype is None:
        abort(404)
    zone = request.form.get("tz") if is_valid_zone(request.form.get("tz")) else None
    back = url_for("scheduling.choose_slot", ctype_id=ctype_id, tz=zone,
                   doctor=request.form.get("doctor_filter") or None,
                   week=request.form.get("week") or None)
    chosen = chosen_slot()
    if chosen is None:
        flash(_("Please choose one of the times shown."), "danger")
        return redirect(back)
    start, doctor_id = chosen
    held = attempt(lambda: services.place_hold(current_user, patient=current_user, ctype=ctype,
                                               doctor_id=doctor_id, start=start,
                                               patient_timezone=zone))
    if not held.ok:
        if held.error.code in ("screening_required", "screening_referred"):
            return redirect(url_for("scheduling.choose_slot", ctype_id=ctype.id))
        flash(held.message, "danger")
        return redirect(back)
    return redirect(url_for("scheduling.booking_detail", booking_id=held.value.id))


@bp.get("/bookings")
@personal_page
@patient_required
def my_bookings():
    """The patient's bookings, upcoming first."""
    rows = db.session.scalars(select(Booking).where(Booking.patient_id == current_user.id)
                              .options(joinedload(Booking.clinic),
                                       joinedload(Booking.consultation_type))
                              .order_by(Booking.starts_at.desc())).all()
    documents = db.session.scalars(select(MedicalDocument).where(
        MedicalDocument.patient_id == current_user.id).order_by(MedicalDocument.uploaded_at)).all()
    return render_template("scheduling/my_bookings.html", bookings=rows, now=utcnow(),
                           documents=documents)


@bp.get("/bookings/<int:booking_id>")
@any_user_required
def booking_detail(booking_id: int):
    """One booking: when (your time and Bangkok), what happens next, what it costs."""
    return booking_page(services.get_booking(current_user, booking_id))


def booking_page(booking: Booking, video_form: VideoLinkForm | None = None) -> str:
    """The booking page (also shown again, with what was typed, when a staff form is refused)."""
    doctor = db.session.get(Doctor, booking.doctor_id)
    messages = outbox.messages_about(booking)
    reminders = [m.due_at for m in messages if m.kind == "reminder" and m.status == "pending"]
    if current_user.is_patient:  # what was sent to them, not the clinic's own messages
        messages = [m for m in messages
                    if m.status == "sent" and m.recipient_id == current_user.id]
    elif video_form is None:
        video_form = VideoLinkForm(url=booking.video_url)
    screening = None
    if not current_user.is_patient and booking.screening_id is not None:
        screening = db.session.get(Screening, booking.screening_id)
    return render_template("scheduling/booking.html", booking=booking, doctor=doctor,
                           now=utcnow(), consents=CONSENTS, messages=messages,
                           message_kinds=kinds(), documents=documents_for_booking(booking),
                           video_form=video_form, reminders=reminders,
                           missing=services.missing_for_confirmation(booking),
                           missing_labels=services.MISSING_LABELS, screening=screening,
                           treatment_labels=dict(PRIOR_TREATMENTS), flag_labels=dict(RED_FLAGS),
                           pay=payment_views.panel(booking, current_user),
                           payment_labels=PAYMENT_LABELS, refund_labels=REFUND_LABELS)


@bp.post("/bookings/<int:booking_id>/consent")
@patient_required
def consent(booking_id: int):
    """Review step: record the informed-consent and health-data consents (with versions)."""
    booking = services.get_booking(current_user, booking_id)
    apply(lambda: services.give_consent(current_user, booking, request.form.getlist("consent")),
          _("Thank you. Your consent is recorded."))
    return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))


@bp.get("/bookings/<int:booking_id>/reschedule")
@any_user_required
def reschedule_choose(booking_id: int):
    """Pick a new time for a confirmed booking (the current one stays until the move)."""
    booking = services.get_booking(current_user, booking_id)
    if not booking.movable:
        flash(_("Only a confirmed booking can be moved to another time."), "warning")
        return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))
    zone = _display_zone() if current_user.is_patient else booking.patient_timezone
    return render_slot_page(booking.consultation_type, zone,
                            page_endpoint="scheduling.reschedule_choose",
                            hold_endpoint="scheduling.reschedule_move", moving=booking)


@bp.post("/bookings/<int:booking_id>/reschedule")
@any_user_required
def reschedule_move(booking_id: int):
    """Move the booking to the chosen time; its history keeps the old one."""
    booking = services.get_booking(current_user, booking_id)
    chosen = chosen_slot()
    if chosen is None:
        flash(_("Please choose one of the times shown."), "danger")
        return redirect(url_for("scheduling.reschedule_choose", booking_id=booking.id))
    if not apply(lambda: services.reschedule(current_user, booking, start=chosen[0],
                                             doctor_id=chosen[1]),
                 _("Your booking %(ref)s is moved.", ref=booking.reference)):
        return redirect(url_for("scheduling.reschedule_choose", booking_id=booking.id))
    return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))


@bp.get("/bookings/<int:booking_id>/calendar.ics")
@any_user_required
def booking_ics(booking_id: int):
    """The booking as a calendar file; importing it again updates the same event."""
    booking = services.get_booking(current_user, booking_id)
    response = make_response(booking_calendar(booking))
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="spinebridge-{booking.reference}.ics"')
    return response


@bp.route("/bookings/<int:booking_id>/cancel", methods=["GET", "POST"])
@any_user_required
def cancel_booking(booking_id: int):
    """Cancel, after a confirmation step (never by a bare link)."""
    booking = services.get_booking(current_user, booking_id)
    if request.method == "GET" and not permissions.possible(BookingAction.CANCEL, booking):
        # Nothing to cancel any more (a link in an old email, a second tab): say so.
        refused = lifecycle.refusal(booking, CANCELLED_BY_PATIENT)
        flash(str(refused.message) if refused else _("This booking cannot be cancelled."),
              "info")
        return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))
    reason = request.form.get("reason", "")
    if request.method == "POST":
        cancelled = attempt(lambda: services.cancel(current_user, booking, reason=reason))
        if not cancelled.ok:
            if cancelled.error.code != "reason_too_long":  # not about what was typed
                flash(cancelled.message, "danger")
                return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))
            return render_template("scheduling/cancel.html", booking=booking, reason=reason,
                                   reason_error=cancelled.message,
                                   refund=payment_views.cancel_refund(booking, current_user)), 422
        flash(_("Booking %(ref)s is cancelled.", ref=booking.reference), "success")
        return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))
    return render_template("scheduling/cancel.html", booking=booking, reason=reason,
                           refund=payment_views.cancel_refund(booking, current_user))
