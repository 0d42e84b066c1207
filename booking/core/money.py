"""Money as integer minor units plus an ISO 4217 code; conversion and formatting via Babel."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel import Locale
from babel.numbers import (
    NumberFormatError,
    format_currency,
    get_currency_precision,
    get_currency_symbol,
    parse_decimal,
)


@dataclass(frozen=True)
class Money:
    amount_minor: int
    currency: str

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.amount_minor).scaleb(-get_currency_precision(self.currency))

    @classmethod
    def from_decimal(cls, amount: Decimal, currency: str) -> Money:
        digits = get_currency_precision(currency)
        minor = (amount.scaleb(digits)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return cls(int(minor), currency)

    def convert(self, currency: str, rate: Decimal) -> Money:
        """Convert with `rate` = units of `currency` for one unit of self.currency."""
        return Money.from_decimal(self.decimal * rate, currency)

    def format(self, locale: str, *, whole: bool = False) -> str:
        """Format for display; `whole=True` drops minor units (for prices that are estimates)."""
        pattern = _pattern(locale, self.currency, whole)
        amount = self.decimal
        if whole:
            amount = amount.quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return format_currency(amount, self.currency, format=pattern, locale=locale,
                               currency_digits=not whole)


def _pattern(locale: str, currency: str, whole: bool) -> str:
    """The locale's currency pattern, with a space after a code-like symbol ("THB 1,500")."""
    pattern = Locale.parse(locale).currency_formats["standard"].pattern.split(";")[0]
    if whole:
        pattern = pattern.replace(".00", "")
    if get_currency_symbol(currency, locale).isalpha() and pattern.startswith("¤") \
            and not pattern.startswith("¤\u00a0"):
        pattern = "¤\u00a0" + pattern[1:]
    return pattern


def parse_amount(text: str, currency: str, locale: str = "en") -> int | None:
    """What a person typed ("1500", "1,500.50") as minor units of `currency`, or None when it
    is not a positive amount with at most the currency's decimals."""
    text = (text or "").strip().replace("\u00a0", "").replace(" ", "")
    if not text or len(text) > 20 or not all(c.isdigit() or c in ",." for c in text):
        return None
    try:
        amount = parse_decimal(text, locale=locale, strict=True)
    except (NumberFormatError, InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount <= 0:
        return None
    minor = amount.scaleb(get_currency_precision(currency))
    if minor != minor.to_integral_value():
        return None
    return int(minor)
