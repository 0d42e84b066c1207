"""Parsing values from query strings and forms at the edge: dates within a sane range and
bounded page numbers, refused with a 422 that names the field (never a database error)."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from booking.core.errors import Unprocessable

#: No booking, holiday, plan change or audit filter makes sense outside these days; anything
#: beyond is a typo or a probe, and some of it overflows the database's date types.
MIN_DAY = date(2000, 1, 1)
MAX_DAY = date(2100, 12, 31)
MAX_PAGE = 100_000


def in_range(day: date, field: str) -> date:
    """`day` if it lies between MIN_DAY and MAX_DAY, else a 422 naming `field`."""
    if not MIN_DAY <= day <= MAX_DAY:
        raise Unprocessable(
            _l("'%(field)s' must be a date between %(first)s and %(last)s.", field=field,
               first=MIN_DAY.isoformat(), last=MAX_DAY.isoformat()), code="invalid_date")
    return day


def parse_day(value: str | None, field: str, default: date | None = None) -> date | None:
    """A YYYY-MM-DD value (or `default` when empty); malformed or out of range is a 422."""
    if not value:
        return default
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Unprocessable(_l("'%(field)s' must be a date written YYYY-MM-DD.", field=field),
                            code="invalid_date") from None
    return in_range(day, field)


def page_number(value: str | None, field: str = "page") -> int:
    """A page number from 1 to MAX_PAGE (1 when empty); anything else is a 422."""
    if not value:
        return 1
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        raise Unprocessable(_l("'%(field)s' must be a whole number from 1 to %(max)s.",
                               field=field, max=MAX_PAGE), code="invalid_page")
    return int(value)
