"""Manage a booking from an email link, without signing in: see it, and cancel after a
confirmation. Nothing changes on a GET."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from booking.core.actions import attempt
from booking.core.errors import DomainError
from booking.extensions import limiter
from booking.payments import ledger
from booking.payments import views as payment_views
from booking.payments.labels import PAYMENT_LABELS
from booking.scheduling import lifecycle, links, permissions, services
from booking.scheduling.models import CANCELLED_BY_PATIENT
from booking.scheduling.permissions import BookingAction

bp = Blueprint("manage", __name__, url_prefix="/manage")
#: Guessing tokens is pointless (they are signed), but nobody gets to try quickly.
LIMIT = "30 per minute"


def _booking(token: str):  # type: ignore[no-untyped-def]
    try:
        return links.booking_for(token), None
    except DomainError as exc:
        return None, exc


def _expired_page(error: DomainError):  # type: ignore[no-untyped-def]
    return render_template("scheduling/manage/invalid.html", message=error.message), 404


@bp.get("/<token>")
@limiter.limit(LIMIT)
def booking(token: str):
    """The booking as its patient sees it, with what they can do from here."""
    found, error = _booking(token)
    if found is None:
        return _expired_page(error)
    return render_template("scheduling/manage/booking.html", booking=found, token=token,
                           summary=ledger.summarise(found), payment_labels=PAYMENT_LABELS,
                           can_cancel=permissions.possible(BookingAction.CANCEL, found),
                           can_move=permissions.possible(BookingAction.MOVE, found))


@bp.route("/<token>/cancel", methods=["GET", "POST"])
@limiter.limit(LIMIT)
def cancel(token: str):
    """Cancel from the email link: a confirm page first (what comes back), then the POST."""
    found, error = _booking(token)
    if found is None:
        return _expired_page(error)
    patient = found.patient
    if not permissions.possible(BookingAction.CANCEL, found):
        refused = lifecycle.refusal(found, CANCELLED_BY_PATIENT)
        flash(str(refused.message) if refused else _("This booking cannot be cancelled."),
              "info")
        return redirect(url_for("manage.booking", token=token))
    reason = request.form.get("reason", "")
    if request.method == "POST":
        done = attempt(lambda: services.cancel(patient, found, reason=reason))
        if done.ok:
            flash(_("Booking %(ref)s is cancelled.", ref=found.reference), "success")
            return redirect(url_for("manage.booking", token=token))
        if done.error.code != "reason_too_long":
            flash(done.message, "danger")
            return redirect(url_for("manage.booking", token=token))
        return render_template("scheduling/manage/cancel.html", booking=found, token=token,
                               reason=reason, reason_error=done.message,
                               refund=payment_views.cancel_refund(found, patient)), 422
    return render_template("scheduling/manage/cancel.html", booking=found, token=token,
                           reason=reason, refund=payment_views.cancel_refund(found, patient))
