"""Request bodies and responses of the risk API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from amiable_events.base import CurrencyCode
from amiable_events.inputs import BoundedDate, Money, Text
from amiable_events.risk import Evidence, Grade, ProceedingKind, Reason, Segment, Signal


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class InsolvencyIn(_Body):
    kind: ProceedingKind
    opened_on: BoundedDate = Field(description="The day the court opened the proceeding")
    reference: Text(100) = Field(description="The court's reference for the case")


class CreditLimitIn(_Body):
    amount: Money
    currency: CurrencyCode


class SegmentOverrideIn(_Body):
    segment: Segment = Field(description="Any segment but insolvency (set by proceedings)")
    reason: Text(1000, multiline=True) = Field(
        description="Why a person decided so (kept sealed: it may name a person)"
    )
    until: BoundedDate | None = Field(
        None, description="Last day it applies (none: until replaced)"
    )


class ProceedingOut(BaseModel):
    kind: ProceedingKind
    opened_on: date
    reference: str


class CreditLimitOut(BaseModel):
    amount: str
    currency: str


class OverrideOut(BaseModel):
    segment: Segment
    until: date | None
    reason: str | None = Field(description="None once the debtor's personal data is erased")


class RiskOut(BaseModel):
    debtor_id: str
    score: int | None = Field(description="0 (no risk) to 100; none before any claim")
    band: int | None
    grade: Grade | None
    segment: Segment | None = Field(description="What applies: proceedings, an override, or scored")
    scored_segment: Segment | None
    reasons: list[Reason]
    features: dict[str, Any] | None
    scorecard_version: str | None
    as_of: date | None = Field(description="The debtor's local date of the latest event")
    assessed_at: datetime | None = Field(description="The time of the event that last changed it")
    active_signals: list[Signal]
    proceeding: ProceedingOut | None
    credit_limit: CreditLimitOut | None
    override: OverrideOut | None


class AssessmentOut(BaseModel):
    event_id: uuid.UUID
    score: int
    band: int
    grade: Grade
    segment: Segment
    scored_segment: Segment
    reasons: list[Reason]
    scorecard_version: str
    as_of: date
    assessed_at: datetime
    trigger: str
    claim_id: uuid.UUID | None


class HistoryPage(BaseModel):
    items: list[AssessmentOut]
    next_cursor: str | None


class AlertOut(BaseModel):
    event_id: uuid.UUID
    debtor_id: str
    signal: Signal
    evidence: Evidence
    as_of: date
    raised_at: datetime


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None


class MixLine(BaseModel):
    debtors: int
    exposure: dict[str, str] = Field(description="Open principal per currency")


class GradeLine(MixLine):
    grade: Grade | None = Field(description="None: not assessed yet")


class SegmentLine(MixLine):
    segment: Segment | None = Field(description="None: not assessed yet")


class PortfolioOut(BaseModel):
    by_grade: list[GradeLine]
    by_segment: list[SegmentLine]
