"""Limitation (prescription): the date after which a claim can no longer be enforced.

The rules are data (``data/limitation_rules.json``, dated, with their sources); the computation
is pure: the limitation period runs from the due date or from the last event that interrupts it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Any, Literal

Interruption = Literal["acknowledgement", "payment", "payment_plan"]
INTERRUPTIONS: tuple[Interruption, ...] = ("acknowledgement", "payment", "payment_plan")
RunsFrom = Literal["due_date", "end_of_year"]


@dataclass(frozen=True)
class LimitationRule:
    law: str  # the entry used ("FR", or "*" for the default)
    years: int
    interrupted_by: frozenset[str]
    warn_days_before: int
    source: str
    runs_from: RunsFrom = "due_date"


@dataclass(frozen=True)
class LimitationRules:
    last_checked: date
    default: str
    rules: Mapping[str, LimitationRule]

    @classmethod
    def load(cls) -> LimitationRules:
        """The rules shipped in ``amiable_rules/data`` (read once, then cached)."""
        return _load_packaged()

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> LimitationRules:
        default = document["default"]
        rules = {}
        for law, spec in document["rules"].items():
            unknown = set(spec["interrupted_by"]) - set(INTERRUPTIONS)
            if unknown:
                raise ValueError(f"{law}: unknown interrupting events {sorted(unknown)}")
            runs_from = spec.get("runs_from", "due_date")
            if runs_from not in ("due_date", "end_of_year"):
                raise ValueError(f"{law}: runs_from due_date or end_of_year")
            rules[law] = LimitationRule(
                law=law,
                years=int(spec["years"]),
                interrupted_by=frozenset(spec["interrupted_by"]),
                warn_days_before=int(spec.get("warn_days_before", 90)),
                source=spec["source"],
                runs_from=runs_from,
            )
        if default not in rules:
            raise ValueError(f"default limitation entry {default} is not configured")
        return cls(
            last_checked=date.fromisoformat(document["last_checked"]),
            default=default,
            rules=rules,
        )

    def for_law(self, law: str) -> LimitationRule:
        """The governing law's own entry, else the default one."""
        return self.rules.get(law) or self.rules[self.default]


@cache
def _load_packaged() -> LimitationRules:
    text = (
        resources.files("amiable_rules")
        .joinpath("data", "limitation_rules.json")
        .read_text(encoding="utf-8")
    )
    return LimitationRules.parse(json.loads(text))


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def prescription_date(
    rule: LimitationRule,
    *,
    due_on: date,
    acknowledgements: Iterable[date] = (),
    payments: Iterable[date] = (),
    payment_plans: Iterable[date] = (),
) -> date:
    """When the period ends: it runs from the due date (or the end of its year, by the rule),
    or from the last event the rule counts as interrupting, for the rule's years."""
    starts = [date(due_on.year, 12, 31) if rule.runs_from == "end_of_year" else due_on]
    if "acknowledgement" in rule.interrupted_by:
        starts += acknowledgements
    if "payment" in rule.interrupted_by:
        starts += payments
    if "payment_plan" in rule.interrupted_by:
        starts += payment_plans
    return add_years(max(starts), rule.years)


def warning_date(rule: LimitationRule, prescription: date) -> date:
    """When to warn that the claim is about to be time-barred."""
    return prescription - timedelta(days=rule.warn_days_before)
