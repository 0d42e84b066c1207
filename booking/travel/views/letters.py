"""Visa support letters: the patient requests, the clinic issues or declines, anyone with the
letter verifies it.

The trip page shows the letter with `{% include "travel/letters/_panel.html" %}` (it needs
`trip` in the context; pass `letter_info=letter_panel(trip, current_user)` to skip the call
the partial otherwise makes). `/trips/<id>/letter` shows the same panel on its own page."""

from __future__ import annotations

import logging

from flask import (
    Blueprint,
    Response,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import BuildError

from booking.core.actions import apply, transaction
from booking.core.headers import per_view
from booking.core.policy import any_user_required, patient_required
from booking.core.types import utcnow
from booking.extensions import limiter
from booking.travel import letters, services
from booking.travel.models import LETTER_LABELS, LetterState, Trip

log = logging.getLogger(__name__)
bp = Blueprint("letters", __name__)
#: An embassy checks a letter or two; nobody needs more to read one.
VERIFY_LIMIT = "30 per minute"


@bp.app_template_global()
def letter_panel(trip: Trip, viewer) -> dict:  # type: ignore[no-untyped-def]
    """What the trip page shows about the visa letter, for the patient or the clinic."""
    letter = trip.current_letter
    state = letter.state if letter is not None else None
    live = state in letters.LIVE
    may_request = letters.may_request(viewer, trip)
    missing = (letters.missing_for_letter(trip) if may_request and not live and trip.is_open
               else [])
    return {
        "trip": trip, "letter": letter, "state": state,
        "label": (_("Waiting for your review") if state == LetterState.REQUESTED
                  and letters.may_decide(viewer, trip) else
                  LETTER_LABELS[LetterState(state)] if state else None),
        #: Days are shown in the patient's zone to the patient, in Bangkok's to the clinic.
        "zone": viewer.timezone if viewer.is_patient else "Asia/Bangkok",
        "missing": missing,
        "can_request": may_request and trip.is_open and not live and not missing,
        "may_decide": state == LetterState.REQUESTED and letters.may_decide(viewer, trip),
        "may_revoke": state == LetterState.ISSUED and letters.may_revoke(viewer, trip),
        "staff_missing": (letters.missing_for_letter(trip)
                          if state == LetterState.REQUESTED and not viewer.is_patient else []),
        "verify_url": letters.verify_url(letter) if state == LetterState.ISSUED else None,
        "max_reason": letters.MAX_REASON,
        "is_patient": viewer.is_patient,
    }


def _back(trip_id: int) -> str:
    """The trip page, where the letter panel lives (its own page until the trip page is)."""
    try:
        return url_for("travel.trip_page", trip_id=trip_id) + "#letter"
    except BuildError:
        return url_for("letters.letter_page", trip_id=trip_id)


@bp.get("/trips/<int:trip_id>/letter")
@any_user_required
def letter_page(trip_id: int):
    """The trip's visa letter on its own: its state, and what the viewer can do."""
    trip = services.get_trip(current_user, trip_id)
    return render_template("travel/letters/page.html", trip=trip,
                           letter_info=letter_panel(trip, current_user))


@bp.post("/trips/<int:trip_id>/letter")
@patient_required
def request_letter(trip_id: int):
    """The patient asks the clinic for a visa support letter."""
    trip = services.get_trip(current_user, trip_id)
    apply(lambda: letters.request_letter(current_user, trip),
          _("Your visa letter is requested. The clinic reviews it, usually within 1 working "
            "day; you get an email when it is ready."))
    return redirect(_back(trip_id))


def _decide(letter_id: int, action, success: str):  # type: ignore[no-untyped-def]
    letter = letters.get_letter(current_user, letter_id)  # 404 for anyone who may not see it
    trip_id = letter.trip_id
    apply(lambda: action(letter), success)
    return redirect(_back(trip_id))


@bp.post("/letters/<int:letter_id>/issue")
@any_user_required
def issue(letter_id: int):
    """The clinic issues the requested letter (the patient is emailed the PDF)."""
    return _decide(letter_id, lambda letter: letters.issue_letter(current_user, letter),
                   _("The letter is issued. The patient has been emailed the PDF."))


@bp.post("/letters/<int:letter_id>/decline")
@any_user_required
def decline(letter_id: int):
    """The clinic declines the request, with the reason the patient reads."""
    reason = request.form.get("reason")
    return _decide(letter_id, lambda letter: letters.decline_letter(current_user, letter, reason),
                   _("The request is declined. The patient has been emailed your reason."))


@bp.post("/letters/<int:letter_id>/revoke")
@any_user_required
def revoke(letter_id: int):
    """An issued letter stops being valid (the verification page says REVOKED)."""
    reason = request.form.get("reason")
    return _decide(letter_id, lambda letter: letters.revoke_letter(current_user, letter, reason),
                   _("The letter is revoked. Anyone who checks it now sees that it is not "
                     "valid, and the patient has been emailed your reason."))


@bp.get("/letters/<int:letter_id>.pdf")
@any_user_required
def download(letter_id: int):
    """The issued letter as a PDF, for the patient and the clinic (each download audited)."""
    with transaction():  # the audit record of this download
        letter = letters.get_letter(current_user, letter_id)
        data = letters.download_pdf(current_user, letter)
        number = letter.number
    response = make_response(data)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="visa-letter-{number}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _private(response: Response) -> Response:
    """The verification page is for the officer holding the letter: not for search engines,
    caches, or the next site's Referer."""
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/verify-letter/<token>")
# The page's address is the letter's key: no link on it may send it on (Talisman writes one
# Referrer-Policy for every response; this is its per-view form).
@per_view(referrer_policy="no-referrer")
@limiter.limit(VERIFY_LIMIT)
def verify(token: str):
    """Public: is this letter genuine and still valid? Unknown and never-issued tokens get the
    same page, so the address cannot be used to find letters."""
    with transaction():  # the audit record of this check
        found = letters.check(token)
    if found is None:
        return _private(make_response(render_template("travel/letters/verify_unknown.html"),
                                      404))
    return _private(make_response(render_template("travel/letters/verify.html", check=found,
                                                      checked_at=utcnow())))
