"""Naming objects by id for the audit trail's sentences: one query per type, by name column."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from booking.extensions import db


def int_ids(ids: list[str]) -> list[int]:
    """The audit trail keeps ids as text; the rows' keys are integers."""
    return [int(i) for i in ids if i.isdigit()]


def by_column(model: type, column: str = "name") -> Callable[[list[str]], dict[str, str]]:
    """A labeller naming each row of `model` by one of its columns."""

    def label(ids: list[str]) -> dict[str, str]:
        rows = db.session.execute(select(model.id, getattr(model, column))
                                  .where(model.id.in_(int_ids(ids))))
        return {str(ident): str(value) for ident, value in rows}

    return label
