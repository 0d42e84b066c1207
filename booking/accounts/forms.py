"""Account forms (Flask-WTF: CSRF on every one)."""

from __future__ import annotations

import phonenumbers
from babel import Locale
from flask import current_app
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TelField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from booking.core.forms import length, strip
from booking.core.i18n import SUPPORTED_CURRENCIES
from booking.core.zones import aliases, canonical_zone, is_valid_zone, zone_groups

PASSWORD_MIN = 10
PHONE_REQUIRED = DataRequired(_l("Enter a phone number so the clinic can reach you."))


def country_choices() -> list[tuple[str, str]]:
    locale = Locale.parse(str(get_locale() or "en"))
    names = {code: name for code, name in locale.territories.items()
             if len(code) == 2 and code.isalpha() and code not in {"ZZ", "EU", "EZ", "UN", "QO"}}
    return [("", _l("Choose your country"))] + sorted(names.items(), key=lambda kv: kv[1])


def zone_choices() -> dict[str, list[tuple]]:
    """Grouped, labelled with city, country and today's offset (optgroups); each option knows
    its old names, so the page can find the zone a browser reports under one."""
    old = aliases()
    return {group: [(z, label, {"data-aliases": " ".join(old[z])} if z in old else {})
                    for z, label in options]
            for group, options in zone_groups(str(get_locale() or "en")).items()}


def language_choices() -> list[tuple[str, str]]:
    return list(current_app.config["LANGUAGES"].items())


def currency_choices() -> list[tuple[str, str]]:
    return [(c, c) for c in SUPPORTED_CURRENCIES]


#: The longest IANA zone name we store (user_account.timezone).
ZONE_MAX = 64
PHONE_MAX = 40
NAME_MAX = 200
EMAIL_MAX = 320


def _at_most(limit: int) -> Length:
    return Length(max=limit, message=_l("Use at most %(max)d characters."))


def _valid_zone(form: FlaskForm, field: SelectField) -> None:
    value = field.data or ""
    if len(value) <= ZONE_MAX and is_valid_zone(value):
        field.data = canonical_zone(value)  # Asia/Calcutta is stored as Asia/Kolkata
        return
    # Named back only in part: whatever was posted (a page of text) is not repeated. Plain
    # gettext, not lazy: a lazy string counts as safe HTML, and this one holds posted text.
    shown = value[:32] + ("…" if len(value) > 32 else "")
    raise ValidationError(gettext("“%(zone)s” is not a time zone we know. Choose your time "
                                  "zone from the list.", zone=shown))


def _valid_country(form: FlaskForm, field: SelectField) -> None:
    if field.data not in {code for code, _label in field.choices if code}:
        raise ValidationError(_l("Choose your country from the list."))


class PhoneMixin:
    """Parses the phone number against the chosen country and stores it as E.164."""

    #: Staff accounts may leave phone and country empty; patients may not.
    contact_optional = False
    #: The number in E.164 once validated; None when left empty (staff only).
    phone_e164: str | None = None

    def validate_phone(self, field: TelField) -> None:
        raw = (field.data or "").strip()
        if len(raw) > PHONE_MAX:
            raise ValidationError(_l("A phone number has at most %(max)d characters.",
                                     max=PHONE_MAX))
        if not raw and self.contact_optional:
            self.phone_e164 = None
            return
        if not raw:
            raise ValidationError(_l("Enter a phone number so the clinic can reach you."))
        region = (self.country.data or None) if hasattr(self, "country") else None
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException as exc:
            raise ValidationError(
                _l("Enter the number with its country code, for example +1 415 555 0123.")
            ) from exc
        if not phonenumbers.is_valid_number(number):
            raise ValidationError(
                _l("This does not look like a valid phone number for that country.")
            )
        self.phone_e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class RegistrationForm(PhoneMixin, FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), _at_most(NAME_MAX)],
                       render_kw={"autocomplete": "name"})
    email = EmailField(_l("Email"), validators=[DataRequired(), _at_most(EMAIL_MAX), Email()],
                       render_kw={"autocomplete": "email"})
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(min=PASSWORD_MIN,
                                           message=_l("Use at least 10 characters.")),
                    _at_most(200)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )
    country = SelectField(_l("Country you live in"),
                          validators=[DataRequired(_l("Choose your country from the list.")),
                                      _valid_country], validate_choice=False)
    phone = TelField(_l("Phone (with country code)"), render_kw={"autocomplete": "tel"},
                     validators=[PHONE_REQUIRED])
    timezone = SelectField(_l("Your time zone"), validators=[DataRequired(), _valid_zone],
                           validate_choice=False)
    language = SelectField(_l("Preferred language"), validators=[DataRequired()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()
        self.timezone.choices = zone_choices()
        self.language.choices = language_choices()


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()],
                       render_kw={"autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired()],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField(_l("Keep me signed in on this device"))


class EmailOnlyForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email()],
                       render_kw={"autocomplete": "email"})


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(min=PASSWORD_MIN,
                                           message=_l("Use at least 10 characters.")),
                    _at_most(200)],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat new password"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"},
    )


class ChangePasswordForm(ResetPasswordForm):
    current = PasswordField(_l("Current password"), validators=[DataRequired()],
                            render_kw={"autocomplete": "current-password"})


class ProfileForm(PhoneMixin, FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), _at_most(NAME_MAX)])
    # Phone and country: required for patients, optional for staff (see __init__).
    country = SelectField(_l("Country you live in"),
                          validators=[DataRequired(_l("Choose your country from the list.")),
                                      _valid_country], validate_choice=False)
    phone = TelField(_l("Phone (with country code)"), render_kw={"autocomplete": "tel"},
                     validators=[PHONE_REQUIRED])
    timezone = SelectField(_l("Your time zone"), validators=[DataRequired(), _valid_zone],
                           validate_choice=False)
    language = SelectField(_l("Preferred language"), validators=[DataRequired()])
    currency = SelectField(_l("Show prices also in"), validators=[DataRequired()])
    booking_alerts = BooleanField(_l("Email me when a patient holds, moves or cancels a "
                                     "booking at my clinic"))

    def __init__(self, *args: object, contact_optional: bool = False,
                 coordinator: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.contact_optional = contact_optional
        if not coordinator:
            del self.booking_alerts
        if contact_optional:
            self.country.validators = [Optional(), _valid_country]
            self.phone.validators = [Optional()]
            self.country.flags.required = self.phone.flags.required = False
        self.country.choices = country_choices()
        self.timezone.choices = zone_choices()
        if self.timezone.data:  # a zone saved under an old name shows as its listed name
            self.timezone.data = canonical_zone(self.timezone.data) or self.timezone.data
        self.language.choices = language_choices()
        self.currency.choices = currency_choices()


# Staff accounts (made by an admin) -------------------------------------------------------

class StaffForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), length(200)],
                       filters=[strip])
    email = EmailField(_l("Email"), validators=[DataRequired(), length(320), Email()],
                       filters=[strip])
    role = SelectField(_l("Role"), choices=[("coordinator", _l("Coordinator")),
                                            ("admin", _l("Admin"))])
    clinic_id = SelectField(_l("Clinic (coordinators)"), coerce=int)

    def validate_clinic_id(self, field: SelectField) -> None:
        if self.role.data == "coordinator" and not field.data:
            raise ValidationError(_l("A coordinator must belong to a clinic."))


class StaffEditForm(StaffForm):
    """The same as a new staff account, but the email stays (it is how they sign in)."""

    email = None


class PatientByPhoneForm(PhoneMixin, FlaskForm):
    """A coordinator registers a patient who called or wrote (they choose a password from the
    emailed link)."""

    name = StringField(_l("Patient's full name"), validators=[DataRequired(), _at_most(NAME_MAX)])
    email = EmailField(_l("Patient's email"),
                       validators=[DataRequired(), _at_most(EMAIL_MAX), Email()])
    country = SelectField(_l("Country they live in"),
                          validators=[DataRequired(_l("Choose the country from the list.")),
                                      _valid_country], validate_choice=False)
    phone = TelField(_l("Phone (with country code)"), validators=[PHONE_REQUIRED])
    timezone = SelectField(_l("Their time zone"), validators=[DataRequired(), _valid_zone],
                           validate_choice=False)
    language = SelectField(_l("Language for their emails"), validators=[DataRequired()])

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()
        self.timezone.choices = zone_choices()
        self.language.choices = language_choices()
