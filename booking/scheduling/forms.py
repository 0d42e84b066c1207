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
_TIME = r"(\d{1,2})(?:[:.](\d{2}))?\s*([ap])?\.?\s*m?\.?"
_INTERVAL = re.compile(rf"^\s*{_TIME}\s*(?:-|–|—|to)\s*{_TIME}\s*$", re.IGNORECASE)


#: The longest readable interval ("12:30 p.m. – 11:45 p.m." is 23 characters).
MAX_PART = 40


class IntervalError(ValueError):
    """One part of a plan that cannot be read, and why (shown beside the day's field)."""

    def __init__(self, part: str, why: object) -> None:
        super().__init__(part)
        self.part, self.why = part, why


def _clock(hours: str, minutes: str | None, half: str | None, part: str) -> time:
    hour, minute = int(hours), int(minutes or 0)
    if half:  # 12-hour clock: 12am is midnight, 12pm is noon
        if not 1 <= hour <= 12:
            raise IntervalError(part, _l("with am or pm the hour is 1 to 12"))
        hour = hour % 12 + (12 if half.lower() == "p" else 0)
    if hour > 23 or minute > 59:
        raise IntervalError(part, _l("that is not a time of day"))
    return time(hour, minute)


def parse_intervals(text: str) -> list[tuple[time, time]]:
    """What people type, read as working hours: "9-12, 13:00-17:30", "9am-12pm",
    "09.00 – 12.00", "9 to 12:30" -> [(09:00, 12:00), (13:00, 17:30)], sorted. Raises
    IntervalError naming the part that is wrong and why."""
    result = []
    for part in filter(None, (p.strip() for p in re.split(r"[,;\n]", text or ""))):
        # Bounded before the pattern runs: its optional spaces backtrack badly on long input.
        match = _INTERVAL.match(part) if len(part) <= MAX_PART else None
        if not match:
            raise IntervalError(part[:MAX_PART] + ("…" if len(part) > MAX_PART else ""),
                                _l("write a start and an end, like 9-12 or 13:00-17:30"))
        h1, m1, ap1, h2, m2, ap2 = match.groups()
        if ap2 and not ap1 and int(h1) <= 12:  # "9-12pm": the start takes the end's half
            ap1 = "a" if ap2.lower() == "a" or int(h1) > int(h2) % 12 else "p"
        start, end = _clock(h1, m1, ap1, part), _clock(h2, m2, ap2, part)
        if end <= start:
            raise IntervalError(part, _l("the end must be after the start"))
        result.append((start, end, part))
    result.sort()
    for (_s, end, first), (start, _e, second) in zip(result, result[1:], strict=False):
        if start < end:
            raise IntervalError(f"{first}, {second}", _l("these overlap"))
    return [(start, end) for start, end, _part in result]


def format_intervals(intervals: list[tuple[time, time]]) -> str:
    return ", ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in intervals)


class IntervalsField(StringField):
    def pre_validate(self, form: FlaskForm) -> None:
        try:
            self.intervals = parse_intervals(self.data or "")
        except IntervalError as exc:
            raise ValidationError(_l(
                "“%(part)s”: %(why)s. Write times like 9-12, 13:00-17:30 or 9am-5pm.",
                part=exc.part, why=exc.why)) from exc


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
