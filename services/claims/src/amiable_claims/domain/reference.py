"""Reference data for validating claims: ISO countries, currencies, languages and time zones.

All of it comes from maintained packages (tzdata's ``iso3166.tab``/``zone.tab``, babel's CLDR
data), never from lists kept by hand here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale, UnknownLocaleError
from babel.languages import get_official_languages
from babel.numbers import list_currencies

# Where B2B correspondence is customarily in another official language than the first one
# CLDR lists (Hindi for India), the customary one wins.
BUSINESS_LANGUAGE = {"IN": "en"}


def _tab(name: str) -> list[list[str]]:
    text = resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@cache
def countries() -> frozenset[str]:
    return frozenset(row[0] for row in _tab("iso3166.tab"))


@cache
def _zones_by_country() -> dict[str, list[str]]:
    zones: dict[str, list[str]] = {}
    for row in _tab("zone.tab"):
        zones.setdefault(row[0], []).append(row[2])
    return zones


def default_timezone(country: str) -> str | None:
    """The country's time zone when it has one offset; None when it spans several."""
    zones = _zones_by_country().get(country, [])
    if not zones:
        return None
    now = datetime(2026, 1, 15, tzinfo=UTC)
    offsets = {now.astimezone(ZoneInfo(zone)).utcoffset() for zone in zones}
    return zones[0] if len(offsets) == 1 else None


@cache
def timezones() -> frozenset[str]:
    """Every zone of the tz database (tzdata's list, not whatever file path ZoneInfo opens)."""
    return frozenset(available_timezones())


def is_timezone(name: str) -> bool:
    return name in timezones()


def default_language(country: str) -> str:
    language = BUSINESS_LANGUAGE.get(country)
    if language is None:
        official = get_official_languages(country, de_facto=True)
        language = official[0] if official else "en"
    return f"{language}-{country}"


def canonical_language(tag: str) -> str | None:
    """The BCP 47 tag in canonical case (``fr-FR``), or None when CLDR does not know it."""
    try:
        locale = Locale.parse(tag.replace("_", "-"), sep="-")
    except (UnknownLocaleError, ValueError, TypeError):
        return None
    parts = [locale.language, locale.script, locale.territory]
    return "-".join(part for part in parts if part)


@cache
def currencies() -> frozenset[str]:
    return frozenset(list_currencies())
