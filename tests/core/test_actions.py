"""The one way to write: a change commits once, whole, or (refused or failing) not at all."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from booking.catalogue.models import Clinic
from booking.core.actions import attempt, transaction
from booking.core.audit import AuditEvent
from booking.core.audit import record as audit_record
from booking.core.errors import DomainError
from booking.extensions import db


def _events() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(AuditEvent.id)))


def _change_then(exc: Exception | None):  # type: ignore[no-untyped-def]
    def action():  # type: ignore[no-untyped-def]
        clinic = db.session.scalars(select(Clinic)).first()
        audit_record(None, "clinic.test_change", clinic)
        db.session.flush()  # written to the database inside the transaction
        if exc is not None:
            raise exc
        return clinic.id
    return action


def test_refused_change_leaves_nothing_behind(ctx, demo) -> None:
    before = _events()
    result = attempt(_change_then(DomainError("no, not now", code="refused")))
    assert not result.ok and result.error.code == "refused" and result.message == "no, not now"
    assert _events() == before


def test_accepted_change_is_committed_once_and_returns_its_value(ctx, demo) -> None:
    before = _events()
    result = attempt(_change_then(None))
    assert result.ok and result.value == db.session.scalars(select(Clinic)).first().id
    db.session.remove()  # a new session sees it: it was committed, not only flushed
    assert _events() == before + 1


def test_any_error_rolls_back_and_goes_on(ctx, demo) -> None:
    before = _events()
    with pytest.raises(RuntimeError), transaction():
        _change_then(RuntimeError("disk full"))()
    assert _events() == before
