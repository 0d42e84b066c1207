"""Naming objects by id for the audit trail's sentences: one query per type, by name column."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from booking.extensions import db


def by_column(model: type, column: str = "name") -> Callable[[list[str]], dict[str, str]]:
    """A labeller naming each row of `model` by one of its columns."""

    def label(ids: list[str]) -> dict[str, str]:
        wanted = [int(i) for i in ids if i.isdigit()]
        rows = db.session.execute(select(model.id, getattr(model, column))
                                  .where(model.id.in_(wanted)))
        return {str(ident): str(value) for ident, value in rows}

    return label
