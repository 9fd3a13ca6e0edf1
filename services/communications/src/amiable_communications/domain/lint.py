"""The wording lint: phrases no message may contain, per language, kept as data
(``data/lint/refused_phrases.yaml``, each entry with the reason it is refused).

``lint(text, language)`` is pure; the list is read once from the package. The test suite lints
every template in every language and tone, so a refused phrase can never ship.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import yaml

COMMON = "all"


@dataclass(frozen=True)
class Finding:
    phrase: str
    reason: str
    position: int
    """Where the phrase starts in the text."""


@dataclass(frozen=True)
class _Rule:
    phrase: str
    reason: str
    pattern: re.Pattern[str]


def lint(text: str, language: str) -> list[Finding]:
    """Every refused phrase of ``language`` (``de``; a BCP 47 tag is reduced to its language)
    and of ``all`` found in ``text``, in text order."""
    findings = [
        Finding(rule.phrase, rule.reason, match.start())
        for rule in _rules(language.split("-")[0].lower())
        for match in rule.pattern.finditer(text)
    ]
    return sorted(findings, key=lambda finding: finding.position)


def _compile(phrase: str) -> re.Pattern[str]:
    """Whole words, any case, any run of spaces, hyphens or no-break spaces between words."""
    words = (re.escape(word) for word in re.split(r"[\s-]+", phrase.strip()))
    return re.compile(r"(?<!\w)" + r"[\s\-\u00a0\u202f]+".join(words) + r"(?!\w)", re.IGNORECASE)


@cache
def _rules(language: str) -> tuple[_Rule, ...]:
    entries = refused_phrases()
    return tuple(
        _Rule(entry["phrase"], entry["reason"], _compile(entry["phrase"]))
        for entry in (*entries.get(COMMON, ()), *entries.get(language, ()))
    )


@cache
def refused_phrases() -> dict[str, list[dict[str, str]]]:
    """The list as shipped: language (or ``all``) -> entries {phrase, reason}."""
    path = files("amiable_communications") / "data" / "lint" / "refused_phrases.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))
