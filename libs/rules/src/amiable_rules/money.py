"""Amounts of money in a currency: its precision (babel, CLDR) and the one check of an amount.

Every service checks an amount with :func:`amount_error` and rounds or prints one with
:func:`quantize`, so "a positive amount in the currency's precision" means the same everywhere.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from babel.numbers import get_currency_precision, is_currency


# Cached: babel builds the set of every currency on each call, and a replay asks per event.
@lru_cache(maxsize=512)
def known_currency(currency: str) -> bool:
    """An ISO 4217 code CLDR knows."""
    return is_currency(currency)


@lru_cache(maxsize=512)
def minor_digits(currency: str) -> int:
    """Decimal places of the currency's minor unit: 2 for EUR, 0 for JPY, 3 for KWD."""
    return get_currency_precision(currency)


def unit(currency: str) -> Decimal:
    """The currency's minor unit as a Decimal exponent: ``0.01`` for EUR, ``1`` for JPY."""
    return Decimal(1).scaleb(-minor_digits(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """``amount`` with exactly the currency's decimals (ROUND_HALF_UP if it had more)."""
    return amount.quantize(unit(currency), ROUND_HALF_UP)


def amount_error(amount: Decimal, currency: str, *, allow_zero: bool = False) -> str | None:
    """Why ``amount`` is not a valid amount of ``currency``, or None when it is.

    Valid: a finite Decimal, greater than 0 (or >= 0 with ``allow_zero``), with no more decimals
    than the currency's minor unit. An unknown currency is reported as such.
    """
    if not isinstance(amount, Decimal) or not amount.is_finite():
        return "must be a finite decimal amount"
    if amount < 0 or (amount == 0 and not allow_zero):
        return "must be greater than or equal to 0" if allow_zero else "must be greater than 0"
    if not known_currency(currency):
        return f"{currency} is not an ISO 4217 currency code"
    digits = minor_digits(currency)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > digits:  # "10.005" and "10.000" alike
        return f"{currency} has at most {digits} decimal digits"
    return None
