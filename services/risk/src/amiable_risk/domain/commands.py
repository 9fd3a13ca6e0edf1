"""What people ask of risk about a debtor account: plain values, one decider each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from amiable_events.risk import ProceedingKind, Segment


@dataclass(frozen=True)
class RecordInsolvency:
    debtor_id: str
    kind: ProceedingKind
    opened_on: date
    reference: str


@dataclass(frozen=True)
class SetCreditLimit:
    debtor_id: str
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class OverrideSegment:
    debtor_id: str
    segment: Segment
    reason: str  # sealed by the application before it reaches the decider
    until: date | None = None
