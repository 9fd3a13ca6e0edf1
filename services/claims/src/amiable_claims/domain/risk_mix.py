"""The risk mix of a tenant's portfolio, a line of its KPIs: per risk grade and per segment (as
the risk service last assessed each debtor), the debtors with claims open at a date and their
open balance, per currency. Pure: the reference the SQL read (``adapters/portfolio.py``) is
checked against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import get_args

from amiable_claims.domain.kpis import ClaimFacts, open_balance
from amiable_events.risk import Grade, Segment
from amiable_rules import money

UNASSESSED = "unassessed"  # a debtor the risk service has not assessed (yet)
GRADES: tuple[str, ...] = (*get_args(Grade), UNASSESSED)
SEGMENTS: tuple[str, ...] = (*get_args(Segment), UNASSESSED)


@dataclass(frozen=True)
class Assessment:
    """What claims holds of a debtor's latest assessment (``None``: never assessed)."""

    grade: str | None
    segment: str | None


@dataclass(frozen=True)
class MixLine:
    key: str  # the grade or the segment
    debtors: int
    open_balance: Decimal


@dataclass(frozen=True)
class RiskMix:
    currency: str
    as_of: date
    by_grade: tuple[MixLine, ...]  # every grade, then unassessed
    by_segment: tuple[MixLine, ...]  # every segment, then unassessed

    def as_dict(self) -> dict:
        return {
            "as_of": self.as_of.isoformat(),
            "by_grade": [
                {"grade": line.key, "debtors": line.debtors, "open_balance": str(line.open_balance)}
                for line in self.by_grade
            ],
            "by_segment": [
                {
                    "segment": line.key,
                    "debtors": line.debtors,
                    "open_balance": str(line.open_balance),
                }
                for line in self.by_segment
            ],
        }


def is_open(claim: ClaimFacts, as_of: date) -> bool:
    """Issued by ``as_of`` and not closed by then: a claim :func:`kpis.open_balance` counts."""
    return claim.issued_on <= as_of and (claim.closed_on is None or claim.closed_on > as_of)


def debtor_balances(
    claims: Iterable[tuple[str, ClaimFacts]], as_of: date, currency: str
) -> dict[str, Decimal]:
    """Each debtor with a claim in ``currency`` open at ``as_of``: its open balance then."""
    balances: dict[str, Decimal] = {}
    for debtor_id, claim in claims:
        if claim.currency == currency and is_open(claim, as_of):
            balances[debtor_id] = balances.get(debtor_id, Decimal(0)) + open_balance(claim, as_of)
    return balances


@dataclass(frozen=True)
class Group:
    """Debtors of one grade and segment (``None``: not assessed) and their open balance."""

    grade: str | None
    segment: str | None
    debtors: int
    open_balance: Decimal


def groups(balances: Mapping[str, Decimal], assessments: Mapping[str, Assessment]) -> list[Group]:
    """One group per debtor with open claims (``balances``: debtor -> open balance), as its
    assessment places it (none: unassessed)."""
    unassessed = Assessment(None, None)
    return [
        Group(assessment.grade, assessment.segment, 1, balance)
        for debtor_id, balance in balances.items()
        for assessment in [assessments.get(debtor_id, unassessed)]
    ]


def mix(currency: str, as_of: date, found: Iterable[Group]) -> RiskMix:
    """Every grade's and every segment's line, from the groups found (the others: 0 debtors)."""
    grades = {key: [0, Decimal(0)] for key in GRADES}
    segments = {key: [0, Decimal(0)] for key in SEGMENTS}
    for group in found:
        for lines, key in ((grades, group.grade), (segments, group.segment)):
            line = lines[key or UNASSESSED]
            line[0] += group.debtors
            line[1] += group.open_balance

    def lines(totals: dict[str, list]) -> tuple[MixLine, ...]:
        return tuple(
            MixLine(key, debtors, money.quantize(amount, currency))
            for key, (debtors, amount) in totals.items()
        )

    return RiskMix(currency, as_of, lines(grades), lines(segments))
