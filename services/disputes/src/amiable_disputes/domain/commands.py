"""What people ask of a claim's disputes: plain values, one decider each. Free text arrives
sealed: the application seals it with the debtor account's key before a decider sees it."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from amiable_events.disputes import DisputeReason, EvidenceItem, Outcome, RaisedBy


@dataclass(frozen=True)
class OpenDispute:
    claim_id: UUID
    dispute_id: UUID  # from the Idempotency-Key when there is one, so a retry names it
    reason: DisputeReason
    raised_by: RaisedBy
    disputed_amount: Decimal | None = None  # None: everything due
    description: str | None = None
    evidence: tuple[EvidenceItem, ...] = ()


@dataclass(frozen=True)
class Assign:
    dispute_id: UUID
    assignee: str


@dataclass(frozen=True)
class Mediate:
    dispute_id: UUID
    mediator: str


@dataclass(frozen=True)
class Resolve:
    dispute_id: UUID
    outcome: Outcome
    resolution_note: str
    accepted_amount: Decimal | None = None
    new_invoice_number: str | None = None


@dataclass(frozen=True)
class Withdraw:
    dispute_id: UUID
    note: str | None = None


@dataclass(frozen=True)
class Comment:
    dispute_id: UUID
    comment: str


@dataclass(frozen=True)
class Reclassify:
    dispute_id: UUID
    reason: DisputeReason
    note: str | None = None


#: The command that moves a dispute, by the name its route and its 409 use
TRANSITIONS: dict[type, str] = {
    Assign: "assign",
    Mediate: "mediation",
    Resolve: "resolve",
    Withdraw: "withdraw",
    Reclassify: "reclassify",
    Comment: "comments",
}
