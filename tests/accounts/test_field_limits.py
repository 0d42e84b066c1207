"""Registration and profile fields at their edge: refused with a clear message (422), what was
typed kept, nothing stored, and a bogus time zone not repeated back in full."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from booking.accounts.models import User
from booking.extensions import db
from tests.accounts.test_profile import profile_data
from tests.accounts.test_registration import GOOD, register
from tests.conftest import post_form


def _nobody_registered(app) -> bool:
    with app.app_context():
        return db.session.scalar(select(User).where(
            User.email == GOOD["email"].lower())) is None


@pytest.mark.parametrize("zone", [
    "Mars/Olympus_Mons" + "x" * 5000,  # far past the 64 characters a zone may have
    "Europe/" + "L" * 60,  # 67: just past the limit
    "<script>alert(1)</script>/Nowhere",
])
def test_an_unknown_or_overlong_time_zone_is_refused_without_repeating_it(client, app, zone):
    response = register(client, timezone=zone)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "is not a time zone we know. Choose your time zone from the list." in html
    assert zone not in html and "<script>alert(1)" not in html
    assert 'value="Maria Lopez"' in html  # what was typed elsewhere is kept
    assert _nobody_registered(app)


def test_a_time_zone_of_64_characters_or_fewer_that_exists_is_accepted(client, app):
    """An old name of a zone is accepted and kept under the name the picker lists."""
    assert register(client, timezone="America/Argentina/ComodRivadavia").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(User.timezone).where(
            User.email == GOOD["email"].lower())) == "America/Argentina/Catamarca"


def test_the_zone_picker_groups_canonical_zones_with_city_country_and_offset(client):
    html = client.get("/register").get_data(as_text=True)
    assert '<optgroup label="Common time zones">' in html
    assert "Kolkata · India (UTC+05:30)" in html and 'value="Asia/Calcutta"' not in html
    assert "Ho Chi Minh · Vietnam (UTC+07:00)" in html and 'value="Asia/Saigon"' not in html
    assert 'data-zone-picker' in html and 'data-search-label="Search city or country"' in html
    assert html.count('value="America/New_York"') == 1  # each zone once


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "M" * 201, "Use at most 200 characters."),
    ("phone", "+1 212 555 0199" + " 0" * 20, "A phone number has at most 40 characters."),
    ("country", "USA", "Choose your country from the list."),
    ("country", "ZZ", "Choose your country from the list."),
    ("email", "m" * 310 + "@example.org", "Use at most 320 characters."),
    ("password", "p" * 201, "Use at most 200 characters."),
])
def test_registration_fields_past_their_limit_are_explained(client, app, field, value,
                                                            message):
    changes = {field: value}
    if field == "password":
        changes["confirm"] = value
    response = register(client, **changes)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    if field != "name":
        assert 'value="Maria Lopez"' in html
    if field in ("name", "phone"):
        assert f'value="{value}"' in html  # kept, to be shortened
    assert _nobody_registered(app)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", "J" * 201, "Use at most 200 characters."),
    ("phone", "0" * 41, "A phone number has at most 40 characters."),
    ("country", "GBR", "Choose your country from the list."),
    ("timezone", "Europe/" + "L" * 100, "is not a time zone we know."),
])
def test_profile_fields_past_their_limit_are_explained_and_nothing_changes(as_role, app, demo,
                                                                           field, value,
                                                                           message):
    client = as_role("patient")
    response = post_form(client, "/account", profile_data(**{field: value}))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == demo["patient"]))
        assert (user.name, user.country, user.timezone) == (
            "Jane Miller", "US", "America/New_York")
