"""The schema the migrations build matches the models; times come back aware in UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select

from booking.core.audit import AuditEvent
from booking.core.types import UtcDateTime
from booking.extensions import db


def test_migrations_match_the_models(ctx):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_datetimes_round_trip_as_aware_utc(ctx):
    bangkok = timezone(timedelta(hours=7))
    when = datetime(2027, 3, 14, 9, 30, tzinfo=bangkok)
    event = AuditEvent(actor_label="system", action="test.time", object_type="X",
                       object_id="1", created_at=when)
    db.session.add(event)
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "test.time"))
    assert loaded.created_at.tzinfo is not None
    assert loaded.created_at == when
    assert loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.created_at.hour == 2  # 09:30 in Bangkok is 02:30 UTC


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware"):
        UtcDateTime().process_bind_param(datetime(2027, 1, 1), None)
    assert UtcDateTime().process_result_value(datetime(2027, 1, 1), None).tzinfo == UTC
