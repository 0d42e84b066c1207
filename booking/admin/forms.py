"""The admin's own forms: the audit trail's filter."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from booking.core.forms import in_day_range


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    action = StringField(_l("Action"), validators=[Optional(), Length(max=80)])
    object_type = SelectField(_l("Object"), validators=[Optional()])
    actor = StringField(_l("Who (email)"), validators=[Optional(), Length(max=320)])
    since = DateField(_l("From"), validators=[Optional(), in_day_range])
    until = DateField(_l("To"), validators=[Optional(), in_day_range])
