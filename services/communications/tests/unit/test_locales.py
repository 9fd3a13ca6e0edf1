"""The debtor's BCP 47 language picks the templates by its language and formats figures in its
full locale; the expected strings are Babel's exact output (CLDR spacing included)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from amiable_communications.domain.locales import long_date, money, percent, resolve
from amiable_communications.domain.templates import render

from .conftest import build_context

NARROW_NBSP = "\u202f"
NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("tag", "language", "locale"),
    [
        ("fr", "fr", "fr"),
        ("fr-BE", "fr", "fr-BE"),
        ("de-CH", "de", "de-CH"),
        ("en-US", "en", "en-US"),
        ("nl-BE", "nl", "nl-BE"),
        ("es-MX", "es", "es-MX"),
        ("it", "it", "it"),
        ("pt-BR", "en", "en"),  # no template in Portuguese, and no en_BR in CLDR
        ("pl-DE", "en", "en-DE"),  # English words, the German region's figures
        ("not a tag", "en", "en"),
    ],
)
def test_a_bcp47_tag_maps_onto_a_template_language_and_a_locale(
    tag: str, language: str, locale: str
) -> None:
    resolved = resolve(tag)
    assert (resolved.language, resolved.tag) == (language, locale)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("fr-FR", f"1{NARROW_NBSP}234,56{NBSP}€"),
        ("fr-BE", f"1{NARROW_NBSP}234,56{NBSP}€"),
        ("de-DE", f"1.234,56{NBSP}€"),
        ("de-CH", f"EUR{NBSP}1\u2019234.56"),
        ("en-US", "€1,234.56"),
        ("nl-NL", f"€{NBSP}1.234,56"),
        ("it-IT", f"1.234,56{NBSP}€"),
        ("es-ES", f"1.234,56{NBSP}€"),
    ],
)
def test_amounts_are_formatted_in_the_full_locale(tag: str, expected: str) -> None:
    assert money(Decimal("1234.56"), "EUR", resolve(tag).locale) == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("fr", "5 mars 2031"),
        ("de", "5. März 2031"),
        ("en-US", "March 5, 2031"),
        ("en-GB", "5 March 2031"),
        ("es", "5 de marzo de 2031"),
        ("nl", "5 maart 2031"),
    ],
)
def test_dates_are_long_dates_of_the_locale(tag: str, expected: str) -> None:
    assert long_date(date(2031, 3, 5), resolve(tag).locale) == expected


def test_percentages_keep_every_digit_in_the_locale() -> None:
    assert percent(Decimal("12.15"), resolve("fr").locale) == f"12,15{NBSP}%"
    assert percent(Decimal("12.15"), resolve("en-US").locale) == "12.15%"
    assert percent(Decimal("10"), resolve("de").locale) == f"10{NBSP}%"


def test_a_rendered_message_carries_the_locale_s_figures() -> None:
    context = build_context()
    french = render("email.reminder", "fr-FR", "neutral", context)
    german = render("email.reminder", "de-DE", "neutral", context)
    assert f"Total à régler : 2{NARROW_NBSP}734,56{NBSP}€" in french.body
    assert f"Zu zahlen insgesamt: 2.734,56{NBSP}€" in german.body
    assert (french.locale, german.locale) == ("fr-FR", "de-DE")


def test_a_remission_states_its_share_as_a_percentage_of_the_locale() -> None:
    # 273,46 of 2 734,56 requested
    message = render("offer.partial_remission", "fr", "courteous", build_context())
    assert f"renoncer à 273,46{NBSP}€ (10{NBSP}% des sommes ci-dessous)" in message.body
