"""What every staff form shares: trimming, length limits with a readable message, date bounds."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField
from wtforms.validators import Length, ValidationError

from booking.core.inputs import MAX_DAY, MIN_DAY

#: Limits for Text columns (the database has none; a page of text is plenty).
SHORT_TEXT = 2000
LONG_TEXT = 20000


def strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def length(limit: int) -> Length:
    return Length(max=limit, message=_l("At most %(max)d characters, please.", max=limit))


def in_day_range(form: FlaskForm, field: DateField) -> None:
    if field.data is not None and not MIN_DAY <= field.data <= MAX_DAY:
        raise ValidationError(_l("Choose a date between %(first)s and %(last)s.",
                                 first=MIN_DAY.isoformat(), last=MAX_DAY.isoformat()))
