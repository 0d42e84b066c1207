"""Admin forms for the catalogue, staff accounts, exchange rates and the audit filter."""

from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
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

#: Columns hold minor units in 32-bit integers on PostgreSQL (at most 21,474,836.47 THB).
MAX_PRICE_THB = 20_000_000
MAX_DEPOSIT_THB = 1_000_000
MAX_RATE = 1000  # units per THB; the weakest currency we offer is far below this

SLUG = Regexp(r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
              message=_l("Use lower-case letters, digits and hyphens, e.g. silom-spine."))
SLUG_RULES = [DataRequired(), Length(max=80), SLUG]


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
                raise ValidationError(_l("Unknown language code: %(code)s", code=code)) from exc
            if code.split("_")[0] in {"und", "root"}:
                raise ValidationError(_l("Unknown language code: %(code)s", code=code))


class ClinicForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(_l("Short name for the address bar"), validators=SLUG_RULES)
    summary = TextAreaField(_l("Summary"), validators=[Length(max=2000)])
    address = TextAreaField(_l("Address in Bangkok"), validators=[DataRequired()])
    accreditation = StringField(_l("Accreditation"), validators=[Length(max=300)])
    languages = LanguagesField(_l("Languages spoken (codes, comma separated)"))
    phone = StringField(_l("Phone"), validators=[Length(max=20)])
    email = EmailField(_l("Email"), validators=[Optional(), Email()])
    cancellation_policy = TextAreaField(_l("Cancellation policy"))
    active = BooleanField(_l("Listed publicly"), default=True)


class DoctorForm(FlaskForm):
    clinic_id = SelectField(_l("Clinic"), coerce=int)
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    specialty = StringField(_l("Specialty"), validators=[DataRequired(), Length(max=200)])
    languages = LanguagesField(_l("Languages (codes, comma separated)"))
    bio = TextAreaField(_l("Short biography"))
    active = BooleanField(_l("Active"), default=True)


class TreatmentForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(_l("Short name for the address bar"), validators=SLUG_RULES)
    summary = TextAreaField(_l("Summary"), validators=[DataRequired()])
    description = TextAreaField(_l("Description"))
    price_min = IntegerField(_l("Lowest typical price (THB)"),
                             validators=[InputRequired(), NumberRange(min=0, max=MAX_PRICE_THB)])
    price_max = IntegerField(_l("Highest typical price (THB)"),
                             validators=[InputRequired(), NumberRange(min=0, max=MAX_PRICE_THB)])
    evidence_summary = TextAreaField(_l("Evidence summary"), validators=[DataRequired()])
    regulatory_status = SelectField(_l("Regulatory status"), validators=[DataRequired()])
    regulatory_note = TextAreaField(_l("Regulatory note (approval, protocol, registry)"))
    not_candidates = TextAreaField(_l("Who is not a candidate"), validators=[DataRequired()])
    conditions = SelectMultipleField(_l("Conditions it addresses"), coerce=int)
    clinics = SelectMultipleField(_l("Clinics that offer it"), coerce=int)
    active = BooleanField(_l("Listed publicly"), default=True)

    def validate_price_max(self, field: IntegerField) -> None:
        if self.price_min.data is not None and field.data is not None \
                and field.data < self.price_min.data:
            raise ValidationError(_l("The highest price must not be below the lowest."))


class ConsultationTypeForm(FlaskForm):
    clinic_id = SelectField(_l("Clinic"), coerce=int)
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    mode = SelectField(_l("How it takes place"), validators=[DataRequired()])
    duration_minutes = IntegerField(_l("Duration (minutes)"),
                                    validators=[DataRequired(), NumberRange(min=5, max=480)])
    deposit = IntegerField(_l("Deposit (THB)"),
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


class StaffForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()])
    role = SelectField(_l("Role"), choices=[("coordinator", _l("Coordinator")),
                                            ("admin", _l("Admin"))])
    clinic_id = SelectField(_l("Clinic (coordinators)"), coerce=int)

    def validate_clinic_id(self, field: SelectField) -> None:
        if self.role.data == "coordinator" and not field.data:
            raise ValidationError(_l("A coordinator must belong to a clinic."))


class StaffEditForm(StaffForm):
    """The same as a new staff account, but the email stays (it is how they sign in)."""

    email = None


class ExchangeRateForm(FlaskForm):
    currency = SelectField(_l("Currency"))
    rate = DecimalField(_l("Units of this currency for 1 THB"), places=8,
                        validators=[InputRequired(), NumberRange(min=Decimal("0.00000001"),
                                                                 max=Decimal(MAX_RATE))])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter changes nothing

    action = StringField(_l("Action"), validators=[Optional(), Length(max=80)])
    object_type = SelectField(_l("Object"), validators=[Optional()])
    actor = StringField(_l("Who (email)"), validators=[Optional(), Length(max=320)])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])
