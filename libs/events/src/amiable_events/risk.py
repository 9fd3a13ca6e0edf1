"""Events of the risk bounded context: a debtor account's assessment and early warnings, and
what people record about the account (collective proceedings, a credit limit, a segment
override).

Every one is about a debtor account (docs/events.md): subject ``debtor:<debtor_id>``, key
``<tenant>:<debtor_id>``, so it lands in the partition of the debtor's claims, after the event
that caused it. Risk keeps no personal data beyond the debtor id: the one free text, an
override's reason, is sealed with the debtor account's key.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from amiable_events.base import Amount, CurrencyCode, Event
from amiable_events.claims import SEALED_TEXT

Grade = Literal["A", "B", "C", "D", "E"]
Segment = Literal[
    "new_customer",
    "reliable",
    "loyal_temporary_difficulty",
    "chronic_late_payer",
    "systematic_disputer",
    "high_risk",
    "insolvency",
]
Signal = Literal[
    "slowing_payments",
    "dispute_frequency",
    "volume_anomaly",
    "broken_promises",
    "exposure_above_limit",
]
ProceedingKind = Literal["safeguard", "receivership", "liquidation"]
AssessmentTrigger = Literal["claim_qualified", "account_changed", "time_passed"]

DebtorId = Annotated[str, Field(description="The creditor's own id for this customer")]


class DebtorAccountEvent(Event):
    """An event about a debtor account, not one claim: subject ``debtor:<debtor_id>``."""

    debtor_id: DebtorId

    @property
    def subject(self) -> str:
        return f"debtor:{self.debtor_id}"


class Reason(BaseModel):
    """One feature's contribution to a score: the scorecard's reason code for the band the
    feature fell in, its points, and the feature's value as text."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str
    points: int
    value: str


class RiskAssessed(DebtorAccountEvent):
    """The debtor account's score, grade and segment. Emitted when one of its claims is
    qualified, and when an event (or time passing) changes the score band, the grade or the
    segment; never for a change that leaves all three as they were."""

    type: ClassVar[str] = "amiable.risk.risk-assessed.v1"
    source: ClassVar[str] = "risk"

    score: int = Field(ge=0, le=100, description="0 (no risk) to 100; higher is riskier")
    band: int = Field(ge=0, description="The scorecard's score band the score falls in")
    grade: Grade
    segment: Segment = Field(
        description="The segment that applies: an unexpired override, else the scored one"
    )
    scored_segment: Segment = Field(description="The segment the scorecard gave")
    reasons: tuple[Reason, ...] = Field(
        description="The features that added the most points, largest first"
    )
    scorecard_version: str
    as_of: date = Field(description="The debtor's local date the features were computed for")
    assessed_at: datetime = Field(description="The time of the event that caused it")
    trigger: AssessmentTrigger
    claim_id: UUID | None = Field(None, description="trigger claim_qualified: the claim")


Evidence = dict[str, int | str | tuple[int, ...]]


class RiskAlertRaised(DebtorAccountEvent):
    """A weak signal crossed its threshold. Raised once when it crosses; raised again only
    after the signal has fallen back below its threshold and crossed it anew."""

    type: ClassVar[str] = "amiable.risk.risk-alert-raised.v1"
    source: ClassVar[str] = "risk"

    signal: Signal
    evidence: Evidence = Field(
        description="The facts behind the signal and the threshold they crossed; decimals "
        "as strings (e.g. {'days_late': [5, 9, 14, 20, 30], 'slope_days': '6.1'})"
    )
    as_of: date
    raised_at: datetime


class SegmentOverridden(DebtorAccountEvent):
    """A person put the debtor in a segment the score did not give (GDPR Art. 22): it applies
    until ``until`` (included), or until another override."""

    type: ClassVar[str] = "amiable.risk.segment-overridden.v1"
    source: ClassVar[str] = "risk"

    segment: Segment
    reason: str = Field(description=SEALED_TEXT)
    until: date | None = None
    overridden_at: datetime


class InsolvencyRecorded(DebtorAccountEvent):
    """The debtor is in collective proceedings from ``opened_on``: segment ``insolvency``,
    dunning stops, and claims stop adding the fixed recovery fee from that date."""

    type: ClassVar[str] = "amiable.risk.insolvency-recorded.v1"
    source: ClassVar[str] = "risk"

    kind: ProceedingKind
    opened_on: date
    reference: str = Field(max_length=100, description="The court's reference for the case")
    recorded_at: datetime


class CreditLimitSet(DebtorAccountEvent):
    """The most the creditor accepts to have open on this debtor; an open balance above it
    raises ``exposure_above_limit``."""

    type: ClassVar[str] = "amiable.risk.credit-limit-set.v1"
    source: ClassVar[str] = "risk"

    amount: Amount
    currency: CurrencyCode
    set_at: datetime


EVENTS: tuple[type[Event], ...] = (
    RiskAssessed,
    RiskAlertRaised,
    SegmentOverridden,
    InsolvencyRecorded,
    CreditLimitSet,
)
