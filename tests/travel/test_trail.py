"""Travel's changes read as sentences in the audit trail, never "trip.x Trip #3"."""

from __future__ import annotations

from sqlalchemy import select

from booking.core.audit import AuditEvent, sentences
from booking.extensions import db
from tests.travel.helpers import make_trip


def test_trip_changes_read_as_sentences(ctx, demo, as_role):
    trip = make_trip(companion=True)
    said = sentences(db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "Trip")).all()).values()
    assert "Jane Miller set the flight to Bangkok of their trip" in said
    assert "Jane Miller added a companion to their trip" in said
    assert not any("Trip #" in s for s in said), said
    coordinator = as_role("coordinator")
    page = coordinator.get(f"/trips/{trip.id}?reveal=passports")
    assert page.status_code == 200
    viewed = sentences(db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "passport.viewed")).all()).values()
    assert "Kanya Suwan viewed a passport number in the trip of Jane Miller" in viewed
