"""Money as integer minor units plus an ISO 4217 code; conversion and formatting via Babel."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale
from babel.numbers import format_currency, get_currency_precision, get_currency_symbol


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
