"""The clinic's cancellation policy form: up to five notice windows and what each gives back."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FieldList, Form, FormField, IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange, Optional

MAX_WINDOWS = 5
UNITS = [("days", _l("days")), ("hours", _l("hours"))]


class WindowForm(Form):
    notice = IntegerField(_l("At least"), validators=[Optional(), NumberRange(
        min=1, max=365 * 24, message=_l("A whole number from 1 up."))])
    unit = SelectField(_l("Unit"), choices=UNITS, default="days")
    percent = IntegerField(_l("Refund (%)"), validators=[Optional(), NumberRange(
        min=0, max=100, message=_l("0 to 100."))])


class PolicyForm(FlaskForm):
    windows = FieldList(FormField(WindowForm), min_entries=MAX_WINDOWS, max_entries=MAX_WINDOWS)
    later = IntegerField(_l("Later than that: refund (%)"), validators=[
        InputRequired(_l("Say what a late cancellation gives back (0 for nothing).")),
        NumberRange(min=0, max=100, message=_l("0 to 100."))])
