"""The trail speaks in sentences: "Kanya Suwan confirmed SB-6PVMEB for Jane Miller", on the
coordinator's dashboard (their clinic only) and on the admin's audit trail."""

from __future__ import annotations

import html

from booking.extensions import db
from booking.scheduling.models import Booking
from tests.conftest import post_form
from tests.scheduling.helpers import hold, screen, user


def _said(page: str) -> list[str]:
    parts = page.split('data-testid="said">')[1:]
    return [html.unescape(p.split("<")[0]).strip() for p in parts]


def test_a_confirmation_reads_as_a_sentence_for_the_clinic_and_the_admin(as_role, app, demo):
    with app.app_context():
        screen()
        booking = hold(consented=True)
        booking_id, ref = booking.id, booking.reference
        patient = user(demo["patient"]).name
        coordinator = user(demo["coordinator"]).name
    clinic = as_role("coordinator")
    confirmed = post_form(clinic, f"/coordinator/bookings/{booking_id}/confirm", {},
                          token_from=f"/bookings/{booking_id}")
    assert confirmed.status_code == 302
    with app.app_context():
        assert db.session.get(Booking, booking_id).state == "confirmed"
    sentence = f"{coordinator} confirmed {ref} for {patient}"
    said = _said(clinic.get("/coordinator/").get_data(as_text=True))
    assert sentence in said
    # The patient's own steps name the booking only once.
    assert f"{patient} held {ref}" in said
    assert f"{patient} gave informed consent for {ref}" in said
    assert f"{patient} gave health data consent for {ref}" in said
    assert not any("#" in line for line in said)  # no "Booking #12" left unnamed
    # Another clinic's coordinator does not see it; the admin's trail does.
    assert sentence not in _said(as_role("other_coordinator").get("/coordinator/")
                                 .get_data(as_text=True))
    assert sentence in _said(as_role("admin").get("/admin/audit").get_data(as_text=True))
