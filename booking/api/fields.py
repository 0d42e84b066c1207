"""Marshmallow fields for the API's inputs: ids, instants, days and zones within the ranges the
app can store, refused with a message that never repeats the input."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError, fields, validate

from booking.core.ids import MAX_ID
from booking.core.inputs import MAX_DAY, MIN_DAY
from booking.core.zones import is_valid_zone

#: Longest IANA zone name we accept ("America/Argentina/ComodRivadavia" is 32).
MAX_ZONE = 64
#: Longest text an instant or a day may be; anything longer is not ISO 8601.
MAX_INSTANT = 40

ID_RANGE = validate.Range(min=1, max=MAX_ID, error=_l("Must be an id from 1 to {max}."))


def _range_error() -> ValidationError:
    return ValidationError(str(_l("Must lie between %(first)s and %(last)s.",
                                  first=MIN_DAY.isoformat(), last=MAX_DAY.isoformat())))


def no_nul(value: str) -> None:
    """Text the database can store: PostgreSQL refuses NUL characters."""
    if "\x00" in value:
        raise ValidationError(str(_l("Must not contain NUL characters.")))


def Id(**kwargs: Any) -> fields.Integer:  # noqa: N802 - reads as a field class
    """An id in a JSON body: a whole number (not a boolean, not a string) from 1 to 2**31-1."""
    return fields.Integer(strict=True, validate=ID_RANGE, **kwargs)


def QueryId(**kwargs: Any) -> fields.Integer:  # noqa: N802
    """An id in a query string (text of digits), same range."""
    return fields.Integer(validate=ID_RANGE, **kwargs)


class StrictBoolean(fields.Boolean):
    """true or false, nothing that merely looks like one ("yes", 1)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


class Instant(fields.DateTime):
    """An ISO 8601 date-time with a UTC offset, between MIN_DAY and MAX_DAY; loaded in UTC."""

    default_error_messages = {  # noqa: RUF012 - marshmallow merges these by class
        "invalid": _l("Not a valid ISO 8601 date-time."),
        "naive": _l("Needs a UTC offset, e.g. 2027-03-01T02:00:00Z."),
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str) or len(value) > MAX_INSTANT:
            raise self.make_error("invalid")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None
        if parsed.tzinfo is None or parsed.utcoffset() is None:
            raise self.make_error("naive")
        # Check the written day before converting: year 9999 with a negative offset overflows.
        if not MIN_DAY <= parsed.date() <= MAX_DAY:
            raise _range_error()
        return parsed.astimezone(UTC)


class DayOrInstant(fields.Field):
    """A day (YYYY-MM-DD, read in the asked zone) or an instant with an offset."""

    default_error_messages = {  # noqa: RUF012
        "invalid": _l("Not a date (YYYY-MM-DD) or an ISO 8601 date-time with an offset."),
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any,
                     **kwargs: Any) -> date | datetime:
        if not isinstance(value, str) or len(value) > MAX_INSTANT:
            raise self.make_error("invalid")
        if len(value) == 10:
            try:
                day = date.fromisoformat(value)
            except ValueError:
                raise self.make_error("invalid") from None
            if not MIN_DAY <= day <= MAX_DAY:
                raise _range_error()
            return day
        try:
            return Instant()._deserialize(value, attr, data)
        except ValidationError as error:
            if "offset" in str(error.messages):
                raise
            raise self.make_error("invalid") from None


def _known_zone(value: str) -> None:
    if len(value) <= MAX_ZONE and not is_valid_zone(value):
        raise ValidationError(str(_l("Not a known IANA time zone (e.g. Europe/London).")))


def Zone(*, metadata: dict | None = None, **kwargs: Any) -> fields.String:  # noqa: N802
    """An IANA time zone name, at most 64 characters."""
    return fields.String(validate=[validate.Length(min=1, max=MAX_ZONE), _known_zone],
                         metadata={"description": "IANA time zone, e.g. Europe/London",
                                   "examples": ["Europe/London"], **(metadata or {})}, **kwargs)
