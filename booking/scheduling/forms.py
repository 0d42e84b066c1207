"""Staff forms for scheduling: weekly plans, exceptions (leave, extra hours, blocks, closures),
public holidays, booking for a patient and the video link."""

from __future__ import annotations

import re
from datetime import time

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeLocalField, EmailField, SelectField, StringField, URLField
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError

from booking.core.forms import in_day_range, length, strip

WEEKDAYS = [("mon", _l("Monday")), ("tue", _l("Tuesday")), ("wed", _l("Wednesday")),
            ("thu", _l("Thursday")), ("fri", _l("Friday")), ("sat", _l("Saturday")),
            ("sun", _l("Sunday"))]
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*[-–]\s*(\d{1,2}):(\d{2})\s*$")


def parse_intervals(text: str) -> list[tuple[time, time]]:
    """"09:00-12:00, 13:00-17:00" -> [(09:00, 12:00), (13:00, 17:00)]; raises ValueError."""
    result = []
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        match = _INTERVAL.match(part)
        if not match:
            raise ValueError(part)
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = time(h1, m1), time(h2, m2)
        if end <= start:
            raise ValueError(part)
        result.append((start, end))
    result.sort()
    for (_, end), (start, _) in zip(result, result[1:], strict=False):
        if start < end:
            raise ValueError("overlap")
    return result


def format_intervals(intervals: list[tuple[time, time]]) -> str:
    return ", ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in intervals)


class IntervalsField(StringField):
    def pre_validate(self, form: FlaskForm) -> None:
        try:
            self.intervals = parse_intervals(self.data or "")
        except ValueError as exc:
            raise ValidationError(_l(
                "Write times like 09:00-12:00, 13:00-17:00 (each ends after it starts, no "
                "overlaps).")) from exc


class WeeklyPlanForm(FlaskForm):
    mon = IntervalsField(_l("Monday"))
    tue = IntervalsField(_l("Tuesday"))
    wed = IntervalsField(_l("Wednesday"))
    thu = IntervalsField(_l("Thursday"))
    fri = IntervalsField(_l("Friday"))
    sat = IntervalsField(_l("Saturday"))
    sun = IntervalsField(_l("Sunday"))

    def intervals(self) -> list[tuple[int, time, time]]:
        return [(index, start, end)
                for index, (name, _) in enumerate(WEEKDAYS)
                for start, end in getattr(self, name).intervals]


EXCEPTION_CHOICES = [("leave", _l("Leave (not available)")), ("block", _l("Blocked time")),
                     ("extra", _l("Extra hours"))]


class ExceptionForm(FlaskForm):
    doctor_id = SelectField(_l("Who"), coerce=int)
    kind = SelectField(_l("What"), choices=EXCEPTION_CHOICES)

    @staticmethod
    def kind_choices() -> list:
        return EXCEPTION_CHOICES
    starts_at = DateTimeLocalField(_l("From (Bangkok time)"), validators=[DataRequired()])
    ends_at = DateTimeLocalField(_l("Until (Bangkok time)"), validators=[DataRequired()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])

    def validate_ends_at(self, field: DateTimeLocalField) -> None:
        if self.starts_at.data and field.data and field.data <= self.starts_at.data:
            raise ValidationError(_l("The end must be after the start."))

    def validate_kind(self, field: SelectField) -> None:
        if field.data == "extra" and not self.doctor_id.data:
            raise ValidationError(_l("Extra hours are for one doctor."))


class HolidayForm(FlaskForm):
    """A public holiday: every clinic closes that day."""

    day = DateField(_l("Date"), validators=[InputRequired(), in_day_range])
    name = StringField(_l("Name"), validators=[DataRequired(), length(200)], filters=[strip])


class BookForPatientForm(FlaskForm):
    email = EmailField(_l("Patient's email"), validators=[DataRequired(), Email()])
    consultation_type = SelectField(_l("Consultation"), coerce=int)


class VideoLinkForm(FlaskForm):
    """Where a video consultation takes place (the clinic's meeting room for this booking)."""

    url = URLField(_l("Video call link"), validators=[DataRequired(), Length(max=500)])
