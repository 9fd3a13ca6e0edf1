"""A positive amount in the currency's precision: the one check every service uses."""

from __future__ import annotations

from decimal import Decimal

import pytest

from amiable_rules.money import amount_error, minor_digits, quantize

D = Decimal


@pytest.mark.parametrize(
    ("amount", "currency", "error"),
    [
        ("1250.00", "EUR", None),
        ("1250", "EUR", None),
        ("10.125", "BHD", None),
        ("0", "EUR", "must be greater than 0"),
        ("-3", "EUR", "must be greater than 0"),
        ("10.005", "EUR", "EUR has at most 2 decimal digits"),
        ("10.000", "EUR", "EUR has at most 2 decimal digits"),
        ("10.5", "JPY", "JPY has at most 0 decimal digits"),
        ("10", "XXQ", "XXQ is not an ISO 4217 currency code"),
        ("NaN", "EUR", "must be a finite decimal amount"),
    ],
)
def test_amount_error(amount: str, currency: str, error: str | None) -> None:
    assert amount_error(D(amount), currency) == error


def test_zero_where_allowed_and_the_minor_unit() -> None:
    assert amount_error(D("0.00"), "EUR", allow_zero=True) is None
    assert (minor_digits("EUR"), minor_digits("JPY"), minor_digits("KWD")) == (2, 0, 3)
    assert quantize(D("10.005"), "EUR") == D("10.01")  # half up
    assert str(quantize(D("7"), "EUR")) == "7.00"
