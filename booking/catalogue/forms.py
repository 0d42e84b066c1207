"""Forms for managing the catalogue: clinics, doctors, treatments, consultation types and
exchange rates."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import phonenumbers
from babel.numbers import get_currency_precision
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from booking.core.forms import LONG_TEXT, SHORT_TEXT, length, strip

#: Columns hold minor units in 32-bit integers on PostgreSQL (at most 21,474,836.47 THB).
MAX_PRICE_THB = 20_000_000
MAX_DEPOSIT_THB = 1_000_000
MAX_RATE = 1000  # units per THB; the weakest currency we offer is far below this

SLUG = Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
              message=_l("Use lower-case letters, digits and hyphens, e.g. silom-spine."))
SLUG_RULES = [DataRequired(), Length(max=80), SLUG]

class PhoneField(StringField):
    """A phone number, stored in E.164; a local Bangkok number is read as Thai."""

    def pre_validate(self, form: FlaskForm) -> None:
        raw = (self.data or "").strip()
        if not raw:
            self.data = ""
            return
        try:
            number = phonenumbers.parse(raw, "TH")
        except phonenumbers.NumberParseException as exc:
            raise ValidationError(_l("Enter a phone number, for example +66 2 123 4567.")) from exc
        if not phonenumbers.is_valid_number(number):
            raise ValidationError(_l("This does not look like a valid phone number."))
        self.data = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def _value(self) -> str:
        return self.raw_data[0] if self.raw_data else (self.data or "")


class MoneyField(DecimalField):
    """An amount in a currency's major units ("1500" or "1500.50"), never more decimals than
    the currency has minor units; whole amounts are shown without ".00"."""

    def __init__(self, *args, currency: str = "THB", **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.currency = currency

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            amount = Decimal(valuelist[0].strip().replace(",", ""))
        except (InvalidOperation, ValueError):
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value.")) from None
        if not amount.is_finite():
            self.data = None
            raise ValueError(_l("Enter an amount, for example 1500."))
        if amount.as_tuple().exponent < -get_currency_precision(self.currency):  # type: ignore[operator]
            self.data = None
            raise ValueError(_l("%(currency)s amounts have at most %(digits)d decimals.",
                                currency=self.currency,
                                digits=get_currency_precision(self.currency)))
        self.data = amount

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        amount = Decimal(self.data)
        return str(amount.quantize(Decimal(1))) if amount == amount.to_integral() else str(amount)


class LanguagesField(StringField):
    """Comma-separated locale codes, e.g. "en, th, ar", held as a list."""

    def _value(self) -> str:
        return ", ".join(self.data or [])

    def process_formdata(self, valuelist: list[str]) -> None:
        raw = valuelist[0] if valuelist else ""
        codes = []
        for part in raw.split(","):
            # "en-us" and "en_US" are the same language; keep each once, in order.
            language, _, region = part.strip().replace("-", "_").partition("_")
            if language:
                codes.append(language.lower() + (f"_{region.upper()}" if region else ""))
        self.data = list(dict.fromkeys(codes))

    def pre_validate(self, form: FlaskForm) -> None:
        from babel import Locale, UnknownLocaleError

        for code in self.data or []:
            try:
                Locale.parse(code)
            except (ValueError, UnknownLocaleError) as exc:
                raise ValidationError(
                    gettext("Unknown language code: %(code)s", code=code)) from exc
            if code.split("_")[0] in {"und", "root"}:
                raise ValidationError(gettext("Unknown language code: %(code)s", code=code))


class ClinicForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), length(200)], filters=[strip])
    slug = StringField(_l("Short name for the address bar"), validators=SLUG_RULES,
                       filters=[strip])
    summary = TextAreaField(_l("Summary"), validators=[length(SHORT_TEXT)], filters=[strip])
    address = TextAreaField(_l("Address in Bangkok"), validators=[DataRequired(), length(1000)],
                            filters=[strip])
    accreditation = StringField(_l("Accreditation"), validators=[length(300)], filters=[strip])
    licence = StringField(_l("Ministry of Public Health licence (printed on visa letters)"),
                          validators=[length(120)], filters=[strip])
    languages = LanguagesField(_l("Languages spoken (codes, comma separated)"))
    phone = PhoneField(_l("Phone"), validators=[length(40)])
    email = EmailField(_l("Email"), validators=[Optional(), length(320), Email()],
                       filters=[strip])
    cancellation_policy = TextAreaField(_l("Cancellation policy"), validators=[length(LONG_TEXT)],
                                        filters=[strip])
    active = BooleanField(_l("Listed publicly"), default=True)


class DoctorForm(FlaskForm):
    clinic_id = SelectField(_l("Clinic"), coerce=int)
    name = StringField(_l("Name"), validators=[DataRequired(), length(200)], filters=[strip])
    specialty = StringField(_l("Specialty"), validators=[DataRequired(), length(200)],
                            filters=[strip])
    languages = LanguagesField(_l("Languages (codes, comma separated)"))
    bio = TextAreaField(_l("Short biography"), validators=[length(LONG_TEXT)], filters=[strip])
    active = BooleanField(_l("Active"), default=True)


class TreatmentForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), length(200)], filters=[strip])
    slug = StringField(_l("Short name for the address bar"), validators=SLUG_RULES,
                       filters=[strip])
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(), length(SHORT_TEXT)],
                            filters=[strip])
    description = TextAreaField(_l("Description"), validators=[length(LONG_TEXT)],
                                filters=[strip])
    price_min = MoneyField(_l("Lowest typical price (THB)"),
                           validators=[InputRequired(), NumberRange(min=0, max=MAX_PRICE_THB)])
    price_max = MoneyField(_l("Highest typical price (THB)"),
                           validators=[InputRequired(), NumberRange(min=0, max=MAX_PRICE_THB)])
    evidence_summary = TextAreaField(_l("Evidence summary"),
                                     validators=[DataRequired(), length(LONG_TEXT)],
                                     filters=[strip])
    regulatory_status = SelectField(_l("Regulatory status"), validators=[DataRequired()])
    regulatory_note = TextAreaField(_l("Regulatory note (approval, protocol, registry)"),
                                    validators=[length(LONG_TEXT)], filters=[strip])
    not_candidates = TextAreaField(_l("Who is not a candidate"),
                                   validators=[DataRequired(), length(LONG_TEXT)],
                                   filters=[strip])
    recovery_days = IntegerField(
        _l("Days to stay in Bangkok after it before flying home"), default=3,
        validators=[InputRequired(), NumberRange(min=0, max=60)])
    conditions = SelectMultipleField(_l("Conditions it addresses"), coerce=int)
    clinics = SelectMultipleField(_l("Clinics that offer it"), coerce=int)
    active = BooleanField(_l("Listed publicly"), default=True)

    def validate_price_max(self, field: IntegerField) -> None:
        if self.price_min.data is not None and field.data is not None \
                and field.data < self.price_min.data:
            raise ValidationError(_l("The highest price must not be below the lowest."))


class ConsultationTypeForm(FlaskForm):
    clinic_id = SelectField(_l("Clinic"), coerce=int)
    name = StringField(_l("Name"), validators=[DataRequired(), length(200)], filters=[strip])
    mode = SelectField(_l("How it takes place"), validators=[DataRequired()])
    duration_minutes = IntegerField(_l("Duration (minutes)"),
                                    validators=[DataRequired(), NumberRange(min=5, max=480)])
    deposit = MoneyField(_l("Deposit (THB)"),
                         validators=[InputRequired(), NumberRange(min=0, max=MAX_DEPOSIT_THB)])
    buffer_before_minutes = IntegerField(_l("Free time before (minutes)"), default=0,
                                         validators=[InputRequired(), NumberRange(min=0, max=240)])
    buffer_after_minutes = IntegerField(_l("Free time after (minutes)"), default=0,
                                        validators=[InputRequired(), NumberRange(min=0, max=240)])
    min_notice_minutes = IntegerField(_l("Minimum notice (minutes)"), default=1440,
                                      validators=[InputRequired(),
                                                  NumberRange(min=0, max=60 * 24 * 60)])
    horizon_days = IntegerField(_l("Bookable up to (days ahead)"), default=120,
                                validators=[InputRequired(), NumberRange(min=1, max=730)])
    active = BooleanField(_l("Bookable"), default=True)


class ExchangeRateForm(FlaskForm):
    currency = SelectField(_l("Currency"))
    rate = DecimalField(_l("Units of this currency for 1 THB"), places=8,
                        validators=[InputRequired(), NumberRange(min=Decimal("0.00000001"),
                                                                 max=Decimal(MAX_RATE))])
