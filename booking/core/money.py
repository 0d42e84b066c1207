"""Money as integer minor units plus an ISO 4217 code; conversion and formatting via Babel."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from babel.numbers import format_currency, get_currency_precision


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
        if whole:
            rounded = self.decimal.quantize(Decimal(1), rounding=ROUND_HALF_UP)
            return format_currency(
                rounded, self.currency, locale=locale, currency_digits=False, format="¤#,##0"
            )
        return format_currency(self.decimal, self.currency, locale=locale)
