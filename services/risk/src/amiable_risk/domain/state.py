"""A debtor account as risk sees it: what its features are computed from, bounded in size.

Only the debtor id identifies the debtor: no name, no contact. The one free text, an
override's reason, is kept sealed and dropped when the debtor's personal data is erased.
The state is stored as JSON in the projection; everything in it derives from the log, in log
order, with event time only, so a rebuild gives the same bytes.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from amiable_events.risk import Evidence, Grade, ProceedingKind, Reason, Segment, Signal


class _Value(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OpenClaim(_Value):
    principal: Decimal  # not yet paid: payments are taken off it (fees are claims' business)
    currency: str
    issued_on: date
    due_on: date


class Settled(_Value):
    issued_on: date
    due_on: date
    settled_on: date

    @property
    def days_late(self) -> int:
        return max(0, (self.settled_on - self.due_on).days)

    @property
    def days_to_pay(self) -> int:
        return (self.settled_on - self.issued_on).days


class RecentClaim(_Value):
    claim_id: str
    disputed: bool = False


class Dispute(_Value):
    dispute_id: str
    claim_id: str
    opened_on: date  # the debtor's local date


class MonthVolume(_Value):
    claims: int = 0
    amount: Decimal = Decimal(0)


class Proceeding(_Value):
    kind: ProceedingKind
    opened_on: date
    reference: str


class CreditLimit(_Value):
    amount: Decimal
    currency: str


class Override(_Value):
    segment: Segment
    until: date | None = None
    reason: str | None = None  # sealed; None once the debtor's personal data is erased

    def applies_on(self, day: date) -> bool:
        return self.until is None or day <= self.until


class Alert(_Value):
    signal: Signal
    evidence: Evidence


class Assessment(_Value):
    score: int
    band: int
    grade: Grade
    segment: Segment
    scored_segment: Segment
    reasons: tuple[Reason, ...]
    scorecard_version: str
    as_of: date

    @property
    def key(self) -> tuple[int, str, str]:
        """What a published assessment must differ in: band, grade, segment (not every point)."""
        return (self.band, self.grade, self.segment)


class Account(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    debtor_id: str
    country: str | None = None
    timezone: str = "UTC"
    first_claim_on: date | None = None
    #: The debtor's local date of the latest event: the day the features are computed for.
    as_of: date | None = None
    assessed_at: datetime | None = None
    open: dict[str, OpenClaim] = {}
    #: The latest settlements, oldest first.
    settlements: tuple[Settled, ...] = ()
    #: Within the last 365 days (older ones are dropped).
    broken_promises: tuple[date, ...] = ()
    defaulted_plans: tuple[date, ...] = ()
    #: Declared by the debtor (``HardshipDeclared``), within the last 365 days.
    hardships: tuple[date, ...] = ()
    #: Opened within the last 365 days, and any on a recent claim (whether a recent claim is
    #: still disputed once one of its disputes is reclassified as a hardship depends on them).
    disputes: tuple[Dispute, ...] = ()
    #: The latest claims registered, oldest first, and whether each was disputed.
    recent_claims: tuple[RecentClaim, ...] = ()
    #: Claims per issue month ("2026-11"), over the baseline and the current month.
    months: dict[str, MonthVolume] = {}
    proceeding: Proceeding | None = None
    credit_limit: CreditLimit | None = None
    override: Override | None = None
    assessment: Assessment | None = None
    #: The key of the last assessment published (RiskAssessed), and whether the latest event
    #: publishes one.
    published: tuple[int, str, str] | None = None
    publish: bool = False
    #: Signals above their threshold as of the latest event that can raise one, and the ones that
    #: event raised (crossed since).
    alerts: tuple[Signal, ...] = ()
    raised: tuple[Alert, ...] = ()

    def open_balance(self) -> dict[str, Decimal]:
        balance: dict[str, Decimal] = {}
        for claim in self.open.values():
            balance[claim.currency] = balance.get(claim.currency, Decimal(0)) + claim.principal
        return {currency: balance[currency] for currency in sorted(balance)}
