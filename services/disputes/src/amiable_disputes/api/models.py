"""Request bodies and responses of the disputes API."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from amiable_events.disputes import DisputeReason, Outcome, RaisedBy, SlaKind
from amiable_events.inputs import Money, Text

Note = Text(4000, multiline=True)
PersonIn = Text(200, description="Your user id of the person (not a debtor's)")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EvidenceIn(_Body):
    name: Text(200) = Field(description="The document's name")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Its SHA-256, lowercase hex")
    # A host of plain characters (no IPv6 literal): "http://[" matched [!-~]+, and a reader of
    # the log that splits the URL (urllib) failed on it.
    url: str = Field(
        pattern=r"^https?://[A-Za-z0-9._~%!$&'()*+,;=:@-]+(?:[/?#][!-~]*)?$",
        max_length=2000,
        description="Where it is: an http(s) URL",
    )


class DisputeIn(_Body):
    claim_id: uuid.UUID
    reason: DisputeReason = Field(
        description="`cash_flow_difficulty` is no contestation: it declares a hardship "
        "(`HardshipDeclared`), so that dunning proposes a payment plan"
    )
    disputed_amount: Money | None = Field(
        None, description="What the debtor contests; absent: everything due on the claim"
    )
    description: Note | None = Field(None, description="In the debtor's words (kept sealed)")
    raised_by: RaisedBy
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=50)


class AssignIn(_Body):
    assignee: PersonIn


class MediationIn(_Body):
    mediator: PersonIn = Field(description="Not the assignee")


class ResolveIn(_Body):
    outcome: Outcome
    accepted_amount: Money | None = Field(None, description="partially_upheld: what is conceded")
    new_invoice_number: Text(64) | None = Field(
        None, description="reissued: the invoice that replaces the disputed one"
    )
    resolution_note: Note = Field(description="Why (kept sealed)")


class WithdrawIn(_Body):
    note: Note | None = Field(None, description="Kept sealed")


class CommentIn(_Body):
    comment: Note = Field(description="Kept sealed")


class ReclassifyIn(_Body):
    reason: DisputeReason = Field(
        description="The right reason; `cash_flow_difficulty` turns the dispute into a hardship"
    )
    note: Note | None = Field(None, description="Kept sealed")


class EvidenceOut(BaseModel):
    name: str
    sha256: str
    url: str


class HistoryItem(BaseModel):
    event_id: uuid.UUID
    type: str
    time: datetime
    actor: str | None
    data: dict[str, Any] = Field(description="The payload, sealed fields opened (`[erased]`)")


class DisputeOut(BaseModel):
    dispute_id: uuid.UUID
    claim_id: uuid.UUID
    debtor_id: str
    invoice_number: str | None
    status: str = Field(description="open, under_review, mediation, resolved, withdrawn, hardship")
    reason: DisputeReason
    raised_by: RaisedBy
    disputed_amount: str | None = Field(description="None for a hardship")
    currency: str
    whole_claim: bool
    description: str | None
    evidence: list[EvidenceOut]
    opened_at: datetime
    acknowledge_by: datetime | None
    resolve_by: datetime | None
    assignee: str | None
    mediator: str | None
    mediated: bool
    escalated_automatically: bool
    outcome: Outcome | None
    accepted_amount: str | None
    new_invoice_number: str | None
    resolution_note: str | None
    closed_at: datetime | None
    breaches: list[SlaKind]
    limitation_at_risk: bool = Field(
        description="Claims warned that the claim nears its limitation date: the dispute does "
        "not stop that clock"
    )
    comments: int
    allowed: list[str] = Field(description="What the dispute's status allows next")
    history: list[HistoryItem] | None = Field(None, description="On GET by id: its events")


class DisputeSummary(BaseModel):
    dispute_id: uuid.UUID
    claim_id: uuid.UUID
    debtor_id: str
    invoice_number: str | None
    status: str
    reason: DisputeReason
    raised_by: RaisedBy
    opened_at: datetime
    closed_at: datetime | None
    outcome: Outcome | None
    mediated: bool
    limitation_at_risk: bool
    breaches: list[SlaKind]
    disputed_amount: str | None
    accepted_amount: str | None
    currency: str
    assignee: str | None
    mediator: str | None


class DisputePage(BaseModel):
    items: list[DisputeSummary]
    next_cursor: str | None


class DisputeStats(BaseModel):
    open: dict[str, dict[str, int]] = Field(
        description="Active disputes per reason, per age in days since opened (0-7, 8-30, "
        "31-60, 61+)"
    )
    open_total: int
    median_resolution: timedelta | None = Field(
        description="Of resolved disputes, from opening to resolution (ISO 8601 duration)"
    )
    resolved: int
    withdrawn: int
    hardship: int
    share_upheld: float | None = Field(description="Resolved upheld / resolved")
    share_partially_upheld: float | None
    mediated: int = Field(description="Closed disputes that went through mediation")
    mediation_success_rate: float | None = Field(
        description="Of those, the share settled without a rejection: withdrawn, upheld, "
        "partially upheld or reissued"
    )
