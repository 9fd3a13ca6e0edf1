"""The debtor's language: which template to write in, and how to format amounts, dates and
percentages (Babel, CLDR).

The template is chosen by the language alone (``fr-BE`` reads the ``fr`` templates); numbers
and dates are formatted in the full locale (``de-CH`` groups thousands with an apostrophe). A
language with no templates falls back to English; its figures are then formatted in English for
the same region where CLDR has that locale (``en_DE``), else plain ``en``, so that month names
never come in another language than the words around them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from babel import Locale, UnknownLocaleError, parse_locale
from babel.dates import format_date
from babel.numbers import format_currency, format_percent

LANGUAGES: tuple[str, ...] = ("fr", "en", "de", "es", "it", "nl")
FALLBACK = "en"


@dataclass(frozen=True)
class Resolved:
    language: str
    """The templates' language: one of LANGUAGES."""
    locale: Locale
    """The Babel locale figures are formatted in."""

    @property
    def tag(self) -> str:
        """The BCP 47 form of the formatting locale (``fr-BE``)."""
        return str(self.locale).replace("_", "-")


@cache
def resolve(tag: str) -> Resolved:
    """Map a BCP 47 tag (``en-US``, ``fr-BE``, ``pt-BR``) onto a template language and a
    locale. Unknown or malformed tags fall back to English rather than refuse: a message in
    English is better than none."""
    try:
        language, territory, *_ = parse_locale(tag, sep="-" if "-" in tag else "_")
    except ValueError:
        return Resolved(FALLBACK, Locale.parse(FALLBACK))
    if language not in LANGUAGES:
        language = FALLBACK
    for candidate in (f"{language}_{territory}" if territory else None, language):
        try:
            return Resolved(language, Locale.parse(candidate))
        except (UnknownLocaleError, ValueError, TypeError):
            continue
    return Resolved(FALLBACK, Locale.parse(FALLBACK))


def money(amount: Decimal, currency: str, locale: Locale) -> str:
    return format_currency(amount, currency, locale=locale)


def long_date(day: date, locale: Locale) -> str:
    return format_date(day, format="long", locale=locale)


def percent(rate_points: Decimal, locale: Locale) -> str:
    """A rate given in percentage points (``12.15`` for 12.15 %), every digit kept."""
    return format_percent(rate_points / 100, locale=locale, decimal_quantization=False)
