"""Pre-screening before any hold: red flags stop the booking with advice; answers are kept as
the patient's baseline (NRS, ODI)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from booking.core.audit import AuditEvent
from booking.extensions import db
from booking.scheduling.models import Booking
from booking.screening.models import Screening
from booking.screening.questions import ODI_SECTIONS, odi_score
from tests.conftest import post_form
from tests.scheduling.helpers import ctype_for, first_free, hold, screen

ODI_KEYS = [key for key, _label, _options in ODI_SECTIONS]


@pytest.fixture(autouse=True)
def _not_screened_yet(app, demo):
    """The demo patients come with a passed screening; here they have not answered yet."""
    with app.app_context():
        db.session.execute(Screening.__table__.delete())
        db.session.commit()


def answers(**changes):
    data = {"condition_id": "0", "pain_months": "24", "prior_treatments": ["physiotherapy"],
            "prior_surgery": "no", "nrs": "7", "imaging_available": "yes"}
    data.update({f"odi_{k}": "3" for k in ODI_KEYS})
    data.update(changes)
    return data


def _ctype_id(app):
    with app.app_context():
        return ctype_for().id


def test_slot_page_asks_the_health_questions_first(as_role, app):
    ctype_id = _ctype_id(app)
    response = as_role("patient").get(f"/book/{ctype_id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/book/{ctype_id}/screening"


def test_eligible_answers_lead_to_the_times_and_are_kept_as_baseline(as_role, app, demo):
    ctype_id = _ctype_id(app)
    client = as_role("patient")
    response = post_form(client, f"/book/{ctype_id}/screening", answers(odi_sex=""))
    assert response.status_code == 302 and response.headers["Location"] == f"/book/{ctype_id}"
    assert "Choose a time" in client.get(f"/book/{ctype_id}").get_data(as_text=True)
    with app.app_context():
        s = db.session.scalar(select(Screening))
        assert (s.outcome, s.nrs, s.pain_months, s.odi_score) == ("eligible", 7, 24, 60)
        assert s.odi_answers["sex"] is None and s.prior_treatments == ["physiotherapy"]
        assert db.session.scalar(select(AuditEvent.action).where(
            AuditEvent.action == "screening.recorded"))


def test_a_red_flag_stops_the_booking_with_advice_and_records_why(as_role, app):
    ctype_id = _ctype_id(app)
    client = as_role("patient")
    response = post_form(client, f"/book/{ctype_id}/screening",
                         answers(red_flags=["bladder_bowel", "fever"]))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Please see a doctor near you first" in html
    assert "emergency department today" in html and "nothing was charged" in html
    # The times stay closed, and a hold cannot be forced either.
    assert "Please see a doctor near you first" in client.get(f"/book/{ctype_id}").get_data(
        as_text=True)
    with app.app_context():
        slot = first_free(ctype_for())
    forced = post_form(client, f"/book/{ctype_id}/hold",
                       {"start": slot.start.isoformat(), "doctor": str(slot.doctor_id)},
                       token_from=f"/book/{ctype_id}/screening")
    assert forced.status_code == 302
    with app.app_context():
        s = db.session.scalar(select(Screening))
        assert s.outcome == "refer" and s.red_flags == ["bladder_bowel", "fever"]
        assert "bladder_bowel" in s.notes
        assert db.session.scalar(select(Booking.id)) is None


def test_missing_answers_are_explained_and_kept(as_role, app):
    ctype_id = _ctype_id(app)
    response = post_form(as_role("patient"), f"/book/{ctype_id}/screening",
                         answers(nrs="", odi_walking="", pain_months="abc"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Please correct the highlighted fields" in html
    assert re.search(r'<input checked [^>]*id="odi_pain-3"', html)  # ODI answers kept
    assert 'value="abc"' in html


def test_odi_score_follows_the_published_method():
    assert odi_score(dict.fromkeys(ODI_KEYS, 0)) == 0
    assert odi_score(dict.fromkeys(ODI_KEYS, 5)) == 100
    nine = {**dict.fromkeys(ODI_KEYS, 1), "sex": None}
    assert odi_score(nine) == round(9 * 100 / 45)  # skipped section leaves the maximum
    assert odi_score({**dict.fromkeys(ODI_KEYS[:7], 1), **dict.fromkeys(ODI_KEYS[7:])}) is None


def test_consent_is_recorded_with_version_and_time(as_role, app):
    with app.app_context():
        screen()
        booking_id = hold().id
    client = as_role("patient")
    page = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Review and consent" in page and "version 2026-11.1" in page
    one = post_form(client, f"/bookings/{booking_id}/consent", {"consent": "informed"},
                    token_from=f"/bookings/{booking_id}")
    assert one.status_code == 302
    assert "Please tick both boxes" in client.get(f"/bookings/{booking_id}").get_data(
        as_text=True)
    both = post_form(client, f"/bookings/{booking_id}/consent",
                     {"consent": ["informed", "pdpa"]}, token_from=f"/bookings/{booking_id}")
    assert both.status_code == 302
    with app.app_context():
        booking = db.session.get(Booking, booking_id)
        assert sorted((c.kind, c.version) for c in booking.consents) == [
            ("informed", "2026-11.1"), ("pdpa", "2026-11.1")]
        assert all(c.accepted_at.tzinfo is not None for c in booking.consents)
        actions = set(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_id == str(booking_id))))
        assert {"consent.informed", "consent.pdpa"} <= actions
    after = client.get(f"/bookings/{booking_id}").get_data(as_text=True)
    assert "Consents given" in after and 'name="consent"' not in after
