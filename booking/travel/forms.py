"""The trip's forms. They read what was typed; the rules (what a flight number is, which
dates make sense) are the services', whose refusals are shown beside the field they name."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import InputRequired, NumberRange, Optional

from booking.catalogue.forms import MoneyField
from booking.core.forms import in_day_range, length, strip
from booking.travel.models import AIRPORTS, RELATIONSHIP_LABELS, VEHICLE_LABELS


class FlightForm(FlaskForm):
    flight = StringField(_l("Flight number"), filters=[strip],
                         validators=[InputRequired(_l("Give the flight number.")), length(20)],
                         render_kw={"placeholder": "TG 917", "autocapitalize": "characters",
                                    "autocomplete": "off"})
    airport = SelectField(_l("Airport in Bangkok"),
                          choices=[(k, v) for k, v in AIRPORTS.items()])
    date = DateField(_l("Date (Bangkok)"),
                     validators=[InputRequired(_l("Give the date.")), in_day_range])
    time = TimeField(_l("Time (Bangkok)"), validators=[InputRequired(_l("Give the time."))])


class PassportForm(FlaskForm):
    nationality = SelectField(_l("Passport issued by"), validators=[InputRequired()])
    passport_number = StringField(_l("Passport number"), filters=[strip],
                                  validators=[InputRequired(_l("Give the passport number.")),
                                              length(40)],
                                  render_kw={"autocomplete": "off", "spellcheck": "false",
                                             "autocapitalize": "characters"})
    passport_expiry = DateField(_l("Expiry date"),
                                validators=[InputRequired(_l("Give the expiry date.")),
                                            in_day_range])


class CompanionForm(PassportForm):
    name = StringField(_l("Full name, as in the passport"), filters=[strip],
                       validators=[InputRequired(_l("Give the name.")), length(200)])
    relationship = SelectField(_l("Relationship to you"),
                               choices=[("", "—")] + [(k, v) for k, v in
                                                      RELATIONSHIP_LABELS.items()])


class HotelForm(FlaskForm):
    #: "partner-<id>", "own" or "undecided" (the choices are set per clinic).
    hotel_choice = RadioField(_l("Where will you stay?"), default="undecided")
    own_hotel_name = StringField(_l("Hotel name"), filters=[strip], validators=[length(200)])
    own_hotel_address = TextAreaField(_l("Address"), filters=[strip],
                                      validators=[length(1000)], render_kw={"rows": 2})


class PickupForm(FlaskForm):
    wanted = BooleanField(_l("Yes, meet me at the airport"))
    vehicle = SelectField(_l("Vehicle"), choices=[(k, v) for k, v in VEHICLE_LABELS.items()])
    wheelchair = BooleanField(_l("I need a wheelchair at the airport"))
    luggage = IntegerField(_l("Suitcases"), default=1,
                           validators=[InputRequired(_l("Give the number of suitcases.")),
                                       NumberRange(0, 20, _l("From 0 to 20, please."))])


class NeedsForm(FlaskForm):
    #: Choices are the clinic's treatments and the interpreter languages, set per page; a value
    #: outside them is refused beside the field.
    treatment = SelectField(_l("Treatment you are considering"), coerce=str)
    interpreter_language = SelectField(_l("Interpreter"), coerce=str)
    mobility_needs = TextAreaField(_l("Mobility needs"), filters=[strip],
                                   validators=[Optional(), length(1000)],
                                   render_kw={"rows": 2, "placeholder": _l(
                                       "e.g. I cannot walk more than 100 m; stairs are hard")})
    dietary_needs = TextAreaField(_l("Dietary needs"), filters=[strip],
                                  validators=[Optional(), length(1000)],
                                  render_kw={"rows": 2, "placeholder": _l(
                                      "e.g. vegetarian, halal, no nuts")})


class PartnerHotelForm(FlaskForm):
    name = StringField(_l("Name"), filters=[strip],
                       validators=[InputRequired(_l("Give the hotel's name.")), length(200)])
    address = TextAreaField(_l("Address"), filters=[strip], render_kw={"rows": 2},
                            validators=[InputRequired(_l("Give the address.")), length(1000)])
    distance_note = StringField(_l("How far from the clinic"), filters=[strip],
                                validators=[length(200)],
                                render_kw={"placeholder": _l("e.g. 5 minutes on foot")})
    nightly_min = MoneyField(_l("Lowest price a night (THB)"),
                             validators=[InputRequired(), NumberRange(min=0, max=1_000_000)])
    nightly_max = MoneyField(_l("Highest price a night (THB)"),
                             validators=[InputRequired(), NumberRange(min=0, max=1_000_000)])
    accessible = BooleanField(_l("Rooms suitable for a wheelchair"))
    active = BooleanField(_l("Offered to patients"), default=True)
