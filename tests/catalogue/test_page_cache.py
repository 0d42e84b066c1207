"""Public pages are cached whole for anonymous visitors, per language and currency; signed-in
visitors and pending messages get their own page; an edit shows at once."""

from __future__ import annotations

from markupsafe import escape
from sqlalchemy import select

from booking.catalogue.models import Clinic
from booking.extensions import db


def test_anonymous_pages_are_cached_per_language_and_currency_and_cleared_by_an_edit(
        client, app, demo, as_role):
    first = client.get("/clinics").get_data(as_text=True)
    with app.app_context():
        clinic = db.session.scalar(select(Clinic).where(Clinic.slug == "sukhumvit-spine"))
        old_name = escape(clinic.name)
        # A change that bypasses the session (no commit hook) is not seen until the cache
        # is cleared: the page really comes from the cache.
        db.session.execute(Clinic.__table__.update().where(Clinic.id == clinic.id)
                           .values(name="Renamed Behind The Cache"))
        db.session.commit()
    assert old_name in client.get("/clinics").get_data(as_text=True)
    assert "Renamed Behind The Cache" not in first
    # Another language or currency is its own page.
    thai = app.test_client()
    thai.get("/language/th")
    assert "Renamed Behind The Cache" in thai.get("/clinics").get_data(as_text=True)
    # Signed in: rendered for them (their name in the bar), never served from the cache.
    patient_page = as_role("patient").get("/clinics").get_data(as_text=True)
    assert "Jane Miller" in patient_page and "Renamed Behind The Cache" in patient_page
    # An edit through the app clears the cache at its commit.
    with app.app_context():
        clinic = db.session.scalar(select(Clinic).where(Clinic.slug == "sukhumvit-spine"))
        clinic.name = "Sukhumvit Spine Centre, renamed"
        db.session.commit()
    assert "Sukhumvit Spine Centre, renamed" in client.get("/clinics").get_data(as_text=True)
    assert "Jane Miller" not in client.get("/clinics").get_data(as_text=True)
