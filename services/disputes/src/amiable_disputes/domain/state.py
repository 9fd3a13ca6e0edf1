"""The disputes service's state of one claim: what is owed on it (the shared ledger of the claim
log) and its disputes, active or closed. Pure: no I/O here, ever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from amiable_events.disputes import DisputeReason, EvidenceItem, Outcome, RaisedBy, SlaKind
from amiable_events.ledger import ClaimLedger, Figures
from amiable_rules.local_time import zone

ActiveStatus = Literal["open", "under_review", "mediation"]
Status = Literal[ActiveStatus, "resolved", "withdrawn", "hardship"]
ACTIVE: frozenset[str] = frozenset({"open", "under_review", "mediation"})


@dataclass(frozen=True)
class Policy:
    """The disputes rules as data: how owed amounts are computed and the service levels."""

    figures: Figures
    #: Assigned within this many business days of the debtor's country
    acknowledge_business_days: int = 2
    #: Resolved or withdrawn within this many calendar days
    resolve_days: int = 30
    #: An unresolved dispute past its resolution deadline goes to mediation by itself
    escalate_on_resolve_breach: bool = True


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Dispute(_State):
    dispute_id: str
    claim_id: str
    reason: DisputeReason
    status: Status
    raised_by: RaisedBy
    opened_at: datetime
    currency: str
    disputed_amount: Decimal | None = None  # None: a hardship, which contests nothing
    whole_claim: bool = False
    description: str | None = None  # sealed
    evidence: tuple[EvidenceItem, ...] = ()
    acknowledge_by: datetime | None = None
    resolve_by: datetime | None = None
    assignee: str | None = None
    mediator: str | None = None
    mediated: bool = False  # went through mediation
    escalated_automatically: bool = False
    outcome: Outcome | None = None
    accepted_amount: Decimal | None = None
    new_invoice_number: str | None = None
    resolution_note: str | None = None  # sealed
    closed_at: datetime | None = None
    breaches: tuple[SlaKind, ...] = ()
    limitation_at_risk: bool = False
    comments: int = 0

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


class ClaimFile(_State):
    """One claim as disputes knows it. ``ledger`` is None only for a claim whose registration
    this service has not seen (a log that starts later): nothing can be disputed on it."""

    claim_id: str
    ledger: ClaimLedger | None = None
    disputes: tuple[Dispute, ...] = ()
    #: The prescription date of claims' latest LimitationApproaching for this claim
    prescription_warned: date | None = None

    @property
    def active(self) -> Dispute | None:
        return next((d for d in self.disputes if d.active), None)

    def dispute(self, dispute_id: str) -> Dispute | None:
        return next((d for d in self.disputes if d.dispute_id == dispute_id), None)

    def with_dispute(self, dispute: Dispute) -> ClaimFile:
        others = tuple(d for d in self.disputes if d.dispute_id != dispute.dispute_id)
        if len(others) == len(self.disputes):
            return self.model_copy(update={"disputes": (*self.disputes, dispute)})
        disputes = tuple(
            dispute if d.dispute_id == dispute.dispute_id else d for d in self.disputes
        )
        return self.model_copy(update={"disputes": disputes})


def local_day(ledger: ClaimLedger | None, moment: datetime) -> date:
    """The debtor's local date at ``moment`` (UTC's without a ledger)."""
    return moment.astimezone(zone(ledger.timezone if ledger else "UTC")).date()
