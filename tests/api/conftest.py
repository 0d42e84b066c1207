"""Fixtures for the API tests: bearer tokens for the demo accounts, a free slot, and `api()`."""

from __future__ import annotations

import pytest

from booking.accounts import services as accounts
from booking.extensions import db
from tests.scheduling.helpers import ctype_for, first_free, screen, user

ROLES = ("patient", "patient2", "coordinator", "other_coordinator", "admin")


@pytest.fixture()
def tokens(app, demo):
    """A bearer token per demo account; both patients have a passed screening (a patient's hold
    needs one), so the booking tests start where a patient would after the questions."""
    with app.app_context():
        issued = {role: accounts.create_api_token(user(demo[role])) for role in ROLES}
        db.session.commit()
        screen(demo["patient"])
        screen(demo["patient2"])
        db.session.remove()
    return issued


@pytest.fixture()
def slot(app, demo):
    with app.app_context():
        ctype = ctype_for("sukhumvit-spine", "video")
        s = first_free(ctype)
        return {"consultation_type": ctype.id, "doctor": s.doctor_id,
                "start": s.start.isoformat().replace("+00:00", "Z")}
