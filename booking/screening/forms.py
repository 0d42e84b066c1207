"""The pre-screening form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, RadioField, SelectField, SelectMultipleField
from wtforms.validators import InputRequired, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from booking.screening.questions import ODI_SECTIONS, PRIOR_TREATMENTS, RED_FLAGS

YES_NO = [("yes", _l("Yes")), ("no", _l("No"))]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ScreeningForm(FlaskForm):
    condition_id = SelectField(_l("Which condition were you told you have? (if known)"),
                               coerce=int, validators=[Optional()])
    pain_months = IntegerField(_l("How many months have you had this pain?"),
                               validators=[InputRequired(), NumberRange(min=0, max=600)])
    prior_treatments = MultiCheckboxField(_l("What have you tried already?"),
                                          choices=PRIOR_TREATMENTS, validators=[Optional()])
    prior_surgery = RadioField(_l("Have you had surgery on your spine?"), choices=YES_NO,
                               validators=[InputRequired()])
    nrs = RadioField(_l("How bad is your pain right now, from 0 (no pain) to 10 (worst "
                        "imaginable)?"), choices=[(str(i), str(i)) for i in range(11)],
                     validators=[InputRequired()])
    imaging_available = RadioField(_l("Do you have an MRI or other scan from the last two "
                                      "years?"), choices=YES_NO, validators=[InputRequired()])
    red_flags = MultiCheckboxField(_l("Do you have any of these now? Tick all that apply."),
                                   choices=RED_FLAGS, validators=[Optional()])

    def odi_fields(self) -> list:
        return [getattr(self, f"odi_{key}") for key, _label, _options in ODI_SECTIONS]

    def odi_answers(self) -> dict[str, int | None]:
        return {key: (int(getattr(self, f"odi_{key}").data)
                      if getattr(self, f"odi_{key}").data not in (None, "", "None") else None)
                for key, _label, _options in ODI_SECTIONS}


for _key, _label, _options in ODI_SECTIONS:
    setattr(ScreeningForm, f"odi_{_key}", RadioField(
        _label, choices=[(str(i), text) for i, text in enumerate(_options)],
        validators=[Optional()] if _key == "sex" else [InputRequired()]))
