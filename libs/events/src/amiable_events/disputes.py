"""Events of the disputes bounded context: a debtor contests a claim (all of it or a part), the
creditor reviews it, perhaps through a mediator, and resolves it; or the debtor declares a
temporary cash-flow difficulty, which is not a contestation (``HardshipDeclared``).

Every one is about one claim: subject = the claim id, key = its debtor account, so it is ordered
with the claim's other events. A dispute has its own id (``dispute_id``); a claim has at most one
active dispute at a time, and any number over its life. Free text (the description, comments,
notes) is sealed with the debtor account's key.

What other services do with them:

- claims cancels or adjusts the claim on ``DisputeResolved`` (``upheld``, ``partially_upheld``,
  ``reissued``), counts ``DisputeOpened`` in its dispute rate and shows every one on the timeline;
- dunning pauses chasing the disputed part on ``DisputeOpened`` and resumes on
  ``DisputeResolved`` (``rejected``) or ``DisputeWithdrawn``; ``HardshipDeclared`` moves the
  claim to a track that proposes a payment plan;
- risk counts ``DisputeOpened`` in its dispute features.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from amiable_events.base import Amount, CurrencyCode, Event, Sealed

#: Why the debtor does not pay. ``cash_flow_difficulty`` is no contestation: it declares a
#: hardship instead of opening a dispute.
DisputeReason = Literal[
    "quality_or_service",
    "delivery",
    "administrative",
    "billing_error",
    "already_paid",
    "cash_flow_difficulty",
    "other",
]
HARDSHIP: DisputeReason = "cash_flow_difficulty"
RaisedBy = Literal["debtor_contact", "agent"]
Outcome = Literal["upheld", "partially_upheld", "rejected", "reissued"]
SlaKind = Literal["acknowledge", "resolve"]

Person = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        description="The creditor's user id of a person handling the dispute (not a debtor's)",
    ),
]


class EvidenceItem(BaseModel):
    """A document the debtor or the agent relies on, stored elsewhere: its name, its SHA-256 (so
    the audit trail pins what was shown) and where to fetch it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="lowercase hex")
    url: str = Field(pattern=r"^https?://\S+$", max_length=2000)


class DisputeEvent(Event):
    """An event about one dispute of one claim."""

    claim_id: UUID
    dispute_id: UUID


class DisputeOpened(DisputeEvent):
    """The debtor contests ``disputed_amount`` of the claim (the whole amount due when
    ``whole_claim``). Its deadlines are fixed here, from the settings in force and the debtor's
    business days, so a later change of a setting does not move them."""

    type: ClassVar[str] = "amiable.disputes.dispute-opened.v1"
    source: ClassVar[str] = "disputes"

    reason: DisputeReason = Field(description="Never cash_flow_difficulty: that is a hardship")
    disputed_amount: Amount = Field(description="What the debtor contests, at most the amount due")
    currency: CurrencyCode
    whole_claim: bool = Field(description="The debtor contests everything due on the claim")
    description: Sealed | None = None
    raised_by: RaisedBy
    evidence: tuple[EvidenceItem, ...] = ()
    opened_at: datetime
    acknowledge_by: datetime = Field(description="SLA: assigned by then, else breached")
    resolve_by: datetime = Field(description="SLA: resolved or withdrawn by then, else breached")


class DisputeAssigned(DisputeEvent):
    """Someone reviews the dispute (``open`` -> ``under_review``), or it changes hands."""

    type: ClassVar[str] = "amiable.disputes.dispute-assigned.v1"
    source: ClassVar[str] = "disputes"

    assignee: Person
    assigned_at: datetime


class DisputeEscalatedToMediation(DisputeEvent):
    """A mediator, never the assignee, takes the dispute; ``automatic``: the service escalated
    it because it was unresolved past its deadline (then no mediator is named yet)."""

    type: ClassVar[str] = "amiable.disputes.dispute-escalated-to-mediation.v1"
    source: ClassVar[str] = "disputes"

    mediator: Person | None = None
    automatic: bool = False
    escalated_at: datetime


class DisputeCommented(DisputeEvent):
    """A note added to an open dispute (``comment``, sealed: it may name a person); it changes
    nothing else."""

    type: ClassVar[str] = "amiable.disputes.dispute-commented.v1"
    source: ClassVar[str] = "disputes"

    comment: Sealed
    commented_at: datetime


class DisputeReclassified(DisputeEvent):
    """An agent changed the dispute's reason. To ``cash_flow_difficulty`` it is no longer a
    contestation: a ``HardshipDeclared`` follows and the dispute is closed as a hardship."""

    type: ClassVar[str] = "amiable.disputes.dispute-reclassified.v1"
    source: ClassVar[str] = "disputes"

    from_reason: DisputeReason
    to_reason: DisputeReason
    note: Sealed | None = None
    reclassified_at: datetime


class DisputeResolved(DisputeEvent):
    """The creditor's decision. ``upheld``: the debtor is right about the disputed amount (the
    claim is cancelled when that is the whole claim, else reduced by it); ``partially_upheld``:
    right about ``accepted_amount``, by which the claim is reduced; ``rejected``: chasing
    resumes; ``reissued``: a billing error corrected by ``new_invoice_number``, which replaces the
    claim. The dispute's amounts are repeated so that a consumer needs no other event."""

    type: ClassVar[str] = "amiable.disputes.dispute-resolved.v1"
    source: ClassVar[str] = "disputes"

    outcome: Outcome
    accepted_amount: Amount | None = Field(None, description="partially_upheld only")
    new_invoice_number: str | None = Field(
        None, min_length=1, max_length=64, description="reissued only"
    )
    resolution_note: Sealed
    disputed_amount: Amount
    currency: CurrencyCode
    whole_claim: bool
    resolved_at: datetime


class DisputeWithdrawn(DisputeEvent):
    """The debtor withdrew the dispute: it is closed without a decision, and dunning resumes
    chasing what the dispute paused (reason ``dispute_withdrawn``)."""

    type: ClassVar[str] = "amiable.disputes.dispute-withdrawn.v1"
    source: ClassVar[str] = "disputes"

    note: Sealed | None = None
    withdrawn_at: datetime


class HardshipDeclared(DisputeEvent):
    """The debtor cannot pay for now: dunning proposes a payment plan instead of pressure.
    ``dispute_id`` names the case: a dispute reclassified as hardship (``reclassified``), or one
    opened with reason ``cash_flow_difficulty``."""

    type: ClassVar[str] = "amiable.disputes.hardship-declared.v1"
    source: ClassVar[str] = "disputes"

    description: Sealed | None = None
    raised_by: RaisedBy
    reclassified: bool = False
    declared_at: datetime


class DisputeSlaBreached(DisputeEvent):
    """The dispute was not assigned (``acknowledge``) or not closed (``resolve``) by its
    deadline. Appended by the service's timer at the deadline."""

    type: ClassVar[str] = "amiable.disputes.dispute-sla-breached.v1"
    source: ClassVar[str] = "disputes"

    which: SlaKind
    due_at: datetime


EVENTS: tuple[type[Event], ...] = (
    DisputeOpened,
    DisputeAssigned,
    DisputeEscalatedToMediation,
    DisputeCommented,
    DisputeReclassified,
    DisputeResolved,
    DisputeWithdrawn,
    HardshipDeclared,
    DisputeSlaBreached,
)
