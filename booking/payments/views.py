"""Payment screens: the patient pays (Checkout) and comes back; Stripe's webhook; the clinic
refunds. The booking page shows the payments panel (`panel`)."""

from __future__ import annotations

import csv
import io
import logging
import secrets

from babel.numbers import get_currency_name
from flask import (
    Blueprint,
    Response,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from booking.core.actions import attempt, transaction
from booking.core.errors import DomainError
from booking.core.inputs import parse_day
from booking.core.money import Money, parse_amount
from booking.core.pages import PER_PAGE, asked_page, csv_cell, other_args
from booking.core.policy import (
    any_user_required,
    coordinator_required,
    patient_required,
    staff_required,
)
from booking.core.types import utcnow
from booking.core.zones import days_in_utc
from booking.extensions import csrf, db, limiter
from booking.payments import gateway, ledger, services, webhooks
from booking.payments import policy as refund_policy
from booking.payments.forms import PolicyForm
from booking.payments.labels import REFUND_LABELS
from booking.payments.models import CheckoutState
from booking.scheduling import services as scheduling
from booking.scheduling.models import HELD, Booking
from booking.scheduling.permissions import BookingAction, may

log = logging.getLogger(__name__)
bp = Blueprint("payments", __name__)


def panel(booking: Booking, viewer) -> dict:  # type: ignore[no-untyped-def]
    """What the booking page shows about money: the deposit in each payable currency, the
    policy, what was paid and refunded, and what a refund or a cancellation now gives back."""
    summary = ledger.summarise(booking)
    choices = []
    if booking.state == HELD:
        for code in services.pay_currencies():
            amount, _rate = services.quote(booking, code)
            choices.append((code, amount))
    percent, back = (services.policy_refund(booking, summary=summary) if summary.paid
                     else (0, 0))
    locale = str(get_locale() or "en")
    return {"summary": summary, "choices": choices,
            "names": {code: get_currency_name(code, locale=locale) for code, _a in choices},
            "chosen": services.default_currency(booking.patient),
            "policy": refund_policy.describe(refund_policy.windows(booking.clinic_id)),
            "open": services.open_attempt(booking), "percent": percent, "back": back,
            "online": gateway.configured(), "refund_key": secrets.token_urlsafe(16),
            "may_refund": may(viewer, BookingAction.REFUND, booking) and summary.left > 0}


def cancel_refund(booking: Booking, viewer) -> dict:  # type: ignore[no-untyped-def]
    """What cancelling now gives back, for the cancel confirmation page."""
    summary = ledger.summarise(booking)
    percent, back = services.policy_refund(booking, by_clinic=not viewer.is_patient,
                                           summary=summary)
    return {"summary": summary, "percent": percent, "back": summary.money(back),
            "policy": refund_policy.describe(refund_policy.windows(booking.clinic_id))}


@bp.post("/bookings/<int:booking_id>/checkout")
@patient_required
def checkout(booking_id: int):
    """Send the patient to Stripe's hosted page for the deposit (the open one if any)."""
    booking = scheduling.get_booking(current_user, booking_id)
    started = attempt(lambda: services.start_checkout(
        current_user, booking, (request.form.get("currency") or "THB")[:3].upper()))
    if not started.ok:
        flash(started.message, "danger")
        return redirect(url_for("scheduling.booking_detail", booking_id=booking.id))
    if started.value.state != CheckoutState.OPEN:  # it went through in the meantime
        return redirect(url_for("payments.returned", booking_id=booking.id), code=303)
    return redirect(started.value.url, code=303)


@bp.get("/bookings/<int:booking_id>/paid")
@any_user_required
def returned(booking_id: int):
    """Back from Checkout: says what happens next. Only the webhook (or the reconciliation)
    confirms; this page never trusts the redirect, it waits and looks again."""
    booking = scheduling.get_booking(current_user, booking_id)
    summary = ledger.summarise(booking)
    return render_template("payments/returned.html", booking=booking, summary=summary,
                           now=utcnow())


@bp.post("/stripe/webhook")
@csrf.exempt
@limiter.exempt
def webhook():
    """Stripe's events, verified on the raw body; 400 and nothing changed on a bad or stale
    signature; 2xx fast (emails go through the outbox)."""
    try:
        event = gateway.verify_event(request.get_data(cache=True),
                                     request.headers.get("Stripe-Signature"))
    except gateway.BadSignature:
        return jsonify(error={"code": "bad_signature",
                              "message": "The Stripe-Signature header does not verify."}), 400
    try:
        with transaction():
            outcome = webhooks.handle(event)
    except webhooks.Retry:
        return jsonify(error={"code": "retry", "message": "Not ready; deliver again."}), 503
    return jsonify(received=True, outcome=outcome)


def _filters() -> tuple[dict, str | None]:
    """The payments page's filters from the query string (a bad date is said, not a 500)."""
    asked = {"kind": request.args.get("kind") or None,
             "status": request.args.get("status") or None}
    problem = None
    try:
        first = parse_day(request.args.get("from"), "from")
        last = parse_day(request.args.get("to"), "to")
    except DomainError as exc:
        first = last = None
        problem = str(exc.message)
    asked["start"] = days_in_utc(first)[0] if first else None
    asked["end"] = days_in_utc(last)[1] if last else None
    return asked, problem


@bp.get("/coordinator/payments")
@staff_required
def payments_page():
    """Deposits and refunds of the clinic (all clinics for admins), filtered, newest first."""
    asked, problem = _filters()
    page, page_problem = asked_page()
    rows = db.paginate(ledger.ledger_query(current_user, **asked), page=page,
                       per_page=PER_PAGE, error_out=False)
    for message in (problem, page_problem):
        if message:
            flash(message, "warning")
    return render_template("payments/ledger.html", rows=rows, args=other_args(),
                           labels=REFUND_LABELS, needing=ledger.needing_a_person(current_user))


@bp.get("/coordinator/payments.csv")
@staff_required
def payments_csv():
    """The ledger as CSV, with the same filters (amounts in major units and minor units)."""
    asked, _problem = _filters()

    def lines():  # type: ignore[no-untyped-def]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["when_utc", "booking", "patient", "clinic_id", "kind", "status",
                         "amount", "amount_minor", "currency", "cause", "reason",
                         "payment_intent", "refund_id", "failure"])
        for entry in db.session.scalars(ledger.ledger_query(current_user, **asked)):
            booking = entry.booking
            writer.writerow([entry.created_at.isoformat(), booking.reference,
                             csv_cell(booking.patient.name), booking.clinic_id, entry.kind,
                             entry.status,
                             f"{Money(entry.amount_minor, entry.currency).decimal}",
                             entry.amount_minor, entry.currency, entry.cause,
                             csv_cell(entry.reason), entry.payment_intent_id or "",
                             entry.refund_id or "", csv_cell(entry.failure)])
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        yield out.getvalue()

    response = Response(stream_with_context(lines()), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="spinebridge-ledger.csv"'
    return response


@bp.route("/coordinator/refund-policy", methods=["GET", "POST"])
@coordinator_required
def refund_policy_page():
    """The clinic's cancellation policy: what a patient's cancellation gives back, by notice."""
    form = PolicyForm()
    current = refund_policy.windows(current_user.clinic_id)
    if request.method == "GET":
        shown = [w for w in current if w.min_hours]
        form.later.data = next((w.percent for w in current if w.min_hours == 0), 0)
        for entry, window in zip(form.windows.entries, shown, strict=False):
            days = window.min_hours % 24 == 0
            entry.form.notice.data = window.min_hours // 24 if days else window.min_hours
            entry.form.unit.data = "days" if days else "hours"
            entry.form.percent.data = window.percent
    elif form.validate_on_submit():
        lines = [refund_policy.Window(
            e.form.notice.data * (24 if e.form.unit.data == "days" else 1), e.form.percent.data)
            for e in form.windows.entries
            if e.form.notice.data is not None and e.form.percent.data is not None]
        lines.append(refund_policy.Window(0, form.later.data))
        saved = attempt(lambda: refund_policy.set_windows(current_user, current_user.clinic_id,
                                                          lines))
        if saved.ok:
            flash(_("Saved. Patients see the new policy before they pay and when they "
                    "cancel; it applies to cancellations from now on."), "success")
            return redirect(url_for("payments.refund_policy_page"))
        flash(saved.message, "danger")
    status = 422 if request.method == "POST" else 200
    return render_template("payments/policy.html", form=form,
                           lines=refund_policy.describe(current)), status


@bp.post("/coordinator/bookings/<int:booking_id>/refund")
@staff_required
def refund(booking_id: int):
    """The clinic gives back more than the policy did, or all of it, with a reason."""
    booking = scheduling.get_booking(current_user, booking_id)
    summary = ledger.summarise(booking)
    amount = parse_amount(request.form.get("amount", ""), summary.currency)
    if amount is None:
        flash(_("Enter the amount to refund, e.g. 1500 or 1500.50."), "danger")
        return redirect(url_for("scheduling.booking_detail", booking_id=booking.id) + "#money")
    key = (request.form.get("key") or "")[:60] or secrets.token_urlsafe(16)
    done = attempt(lambda: services.refund_by_clinic(current_user, booking, amount,
                                                     request.form.get("reason", ""), key))
    if not done.ok:
        flash(done.message, "danger")
    elif done.value.status == "failed":
        flash(_("Stripe could not make the refund: %(why)s", why=done.value.failure), "danger")
    else:
        flash(_("Refund of %(amount)s requested.",
                amount=summary.money(amount).format("en")), "success")
    return redirect(url_for("scheduling.booking_detail", booking_id=booking.id) + "#money")

