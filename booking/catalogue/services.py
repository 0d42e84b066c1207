"""Catalogue use cases: reading the public catalogue, admin edits (audited), price display."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import current_app, g
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from booking.accounts.models import User
from booking.catalogue.models import (
    Clinic,
    Condition,
    ConsultationType,
    Doctor,
    ExchangeRate,
    Treatment,
)
from booking.core import audit
from booking.core.errors import DomainError, NotFound
from booking.core.i18n import SUPPORTED_CURRENCIES, select_currency
from booking.core.money import Money
from booking.extensions import db
from booking.scheduling.cache import mark_changed


@dataclass(frozen=True)
class PriceDisplay:
    base: str
    converted: str | None


def exchange_rates() -> dict[str, Decimal]:
    """Display rates per THB, read once per request."""
    if "exchange_rates" not in g:
        g.exchange_rates = {r.currency: r.rate for r in db.session.scalars(select(ExchangeRate))}
    return g.exchange_rates


def display_price(amount_minor: int, currency: str = "THB", *, whole: bool = True) -> PriceDisplay:
    """The price in its own currency, and approximately in the visitor's chosen currency."""
    locale = str(get_locale() or "en")
    money = Money(amount_minor, currency)
    base = money.format(locale, whole=whole)
    target = select_currency()
    if target == currency:
        return PriceDisplay(base, None)
    rate = exchange_rates().get(target)
    if rate is None or currency != current_app.config["BASE_CURRENCY"]:
        return PriceDisplay(base, None)
    return PriceDisplay(base, money.convert(target, rate).format(locale, whole=True))


# Public catalogue ---------------------------------------------------------------------------


def list_clinics() -> list[Clinic]:
    return list(db.session.scalars(select(Clinic).where(Clinic.active).order_by(Clinic.name)))


def get_clinic(slug: str) -> Clinic:
    clinic = db.session.scalar(select(Clinic).where(Clinic.slug == slug, Clinic.active))
    if clinic is None:
        raise NotFound(_l("No such clinic"))
    return clinic


def list_conditions() -> list[Condition]:
    return list(db.session.scalars(select(Condition).order_by(Condition.name)))


def get_condition(slug: str) -> Condition:
    condition = db.session.scalar(select(Condition).where(Condition.slug == slug))
    if condition is None:
        raise NotFound(_l("No such condition"))
    return condition


def list_treatments(*, include_inactive: bool = False) -> list[Treatment]:
    query = select(Treatment).order_by(Treatment.name)
    if not include_inactive:
        query = query.where(Treatment.active)
    return list(db.session.scalars(query))


def get_treatment(slug: str) -> Treatment:
    treatment = db.session.scalar(select(Treatment).where(Treatment.slug == slug, Treatment.active))
    if treatment is None:
        raise NotFound(_l("No such treatment"))
    return treatment


# Admin edits (every one audited) --------------------------------------------------------------

CLINIC_FIELDS = ["name", "slug", "summary", "address", "accreditation", "licence", "languages",
                 "phone", "email", "cancellation_policy", "active"]
DOCTOR_FIELDS = ["name", "specialty", "languages", "bio", "active", "clinic_id"]
TREATMENT_FIELDS = ["name", "slug", "summary", "description", "price_min_minor", "price_max_minor",
                    "evidence_summary", "regulatory_status", "regulatory_note", "not_candidates",
                    "recovery_days", "active"]
CONSULTATION_FIELDS = ["name", "mode", "duration_minutes", "deposit_minor", "active", "clinic_id",
                       "buffer_before_minutes", "buffer_after_minutes", "min_notice_minutes",
                       "horizon_days"]


def _save(actor: User, obj: object, fields: list[str], values: dict, kind: str) -> None:
    is_new = getattr(obj, "id", None) is None
    before = audit.snapshot(obj, fields) if not is_new else {}
    for field in fields:
        if field in values:
            setattr(obj, field, values[field])
    if is_new:
        db.session.add(obj)
    db.session.flush()
    if kind in ("clinic", "doctor", "consultation_type"):
        mark_changed()  # a switched-off type, doctor or clinic must leave cached availability
    after = audit.snapshot(obj, fields)
    if is_new:
        audit.record(actor, f"{kind}.created", obj, after=after)
    else:
        old, new = audit.changes(before, after)
        if new:
            audit.record(actor, f"{kind}.updated", obj, before=old, after=new)


def _slug_free(model: type, slug: str, current_id: int | None) -> None:
    existing = db.session.scalar(select(model).where(model.slug == slug))
    if existing is not None and existing.id != current_id:
        raise DomainError(_l("That short name is already used; choose another."), code="slug_taken")


def save_clinic(actor: User, clinic: Clinic | None, values: dict) -> Clinic:
    """Create or update a clinic."""
    clinic = clinic or Clinic()
    _slug_free(Clinic, values["slug"], clinic.id)
    _save(actor, clinic, CLINIC_FIELDS, values, "clinic")
    return clinic


def save_doctor(actor: User, doctor: Doctor | None, values: dict) -> Doctor:
    """Create or update a doctor."""
    doctor = doctor or Doctor()
    _save(actor, doctor, DOCTOR_FIELDS, values, "doctor")
    return doctor


def save_treatment(actor: User, treatment: Treatment | None, values: dict,
                   condition_ids: list[int], clinic_ids: list[int]) -> Treatment:
    """Create or update a treatment, including its price range and regulatory status."""
    if values["price_max_minor"] < values["price_min_minor"]:
        raise DomainError(_l("The highest price must not be below the lowest."), code="price_range")
    treatment = treatment or Treatment(currency=current_app.config["BASE_CURRENCY"])
    _slug_free(Treatment, values["slug"], treatment.id)
    before_links = (
        {"conditions": sorted(c.id for c in treatment.conditions),
         "clinics": sorted(c.id for c in treatment.clinics)}
        if treatment.id else {}
    )
    _save(actor, treatment, TREATMENT_FIELDS, values, "treatment")
    treatment.conditions = list(
        db.session.scalars(select(Condition).where(Condition.id.in_(condition_ids)))
    )
    treatment.clinics = list(db.session.scalars(select(Clinic).where(Clinic.id.in_(clinic_ids))))
    after_links = {"conditions": sorted(condition_ids), "clinics": sorted(clinic_ids)}
    if before_links != after_links:
        audit.record(actor, "treatment.links_updated", treatment,
                     before=before_links or None, after=after_links)
    return treatment


def save_consultation_type(actor: User, ctype: ConsultationType | None,
                           values: dict) -> ConsultationType:
    """Create or update a consultation type (duration, deposit)."""
    ctype = ctype or ConsultationType(currency=current_app.config["BASE_CURRENCY"])
    _save(actor, ctype, CONSULTATION_FIELDS, values, "consultation_type")
    return ctype


def set_exchange_rate(actor: User, currency: str, rate: Decimal) -> ExchangeRate:
    """Set how many units of `currency` one THB buys, for display."""
    currency = currency.upper()
    if currency not in SUPPORTED_CURRENCIES or currency == "THB":
        raise DomainError(_l("That currency is not offered."), code="currency_unknown")
    if not rate.is_finite() or rate <= 0 or rate > 1000:
        raise DomainError(_l("The rate must be a number above zero and at most 1000."),
                          code="rate_invalid")
    row = db.session.get(ExchangeRate, currency)
    before = {"rate": str(row.rate)} if row else None
    if row is None:
        row = ExchangeRate(currency=currency, rate=rate)
        db.session.add(row)
    else:
        row.rate = rate
    db.session.flush()
    audit.record(actor, "exchange_rate.set", row, before=before, after={"rate": str(rate)})
    return row
