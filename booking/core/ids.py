"""Database ids are 32-bit on PostgreSQL: anything larger cannot exist, so it is "not found"."""

from __future__ import annotations

from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:…>` in routes, bounded so an absurd id is a 404 rather than a database error."""

    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]  # noqa: A002
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def id_value(value: object) -> int | None:
    """A positive id that could exist, or None (for query strings and form fields)."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None
