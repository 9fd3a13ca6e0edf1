"""What the communications API answers and accepts.

Every bound a request must meet is in its schema (the kit's ``Text``, ``BoundedDate``, the
patterns below), so a request the schema allows is never refused for its shape; what crosses
fields (an agency with its sender mode, a promise with its outcome) is a rule, a 422 naming the
field."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from amiable_communications.domain.state import CommStatus
from amiable_events.communications import CallOutcome, SenderMode
from amiable_events.dunning import Channel, StepKey
from amiable_events.inputs import BoundedDate, BoundedDateTime, Text

#: A positive amount as the kit's ``Money`` writes it (16 digits before the point, 4 after), with
#: no leading zero: a pattern, since a schema's ``exclusiveMinimum`` is for numbers, not strings.
POSITIVE_AMOUNT = (
    r"^([1-9][0-9]{0,15}(\.[0-9]{1,4})?"
    r"|0\.([1-9][0-9]{0,3}|0[1-9][0-9]{0,2}|00[1-9][0-9]?|000[1-9]))$"
)


def _positive_amount(value: Any) -> Decimal:
    if not isinstance(value, str) or re.fullmatch(POSITIVE_AMOUNT, value) is None:
        raise ValueError("must be a positive decimal string such as '500.00'")
    return Decimal(value)


PositiveAmount = Annotated[
    Decimal,
    BeforeValidator(_positive_amount),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": POSITIVE_AMOUNT,
            "description": "A positive decimal string in the currency's major unit",
            "examples": ["500.00"],
        }
    ),
]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Content(BaseModel):
    subject: str
    body: str


class Tracking(BaseModel):
    tracking_number: str
    carrier: str | None
    status: str | None


class CostOut(BaseModel):
    amount: str
    currency: str


class CommunicationSummary(BaseModel):
    communication_id: uuid.UUID
    claim_id: uuid.UUID = Field(description="The leading claim")
    claims: list[uuid.UUID] = Field(description="Every claim it is about, leader first")
    debtor_id: str
    purpose: str
    template: str
    channel: str
    tone: str
    language: str = Field(description="Asked for; rendered_language: the template's")
    kind: str
    status: CommStatus
    review_required: bool
    revision: int | None
    step: str | None
    queued_at: datetime
    at: datetime = Field(description="When the contact governor decides (next)")
    deferrals: int
    sent_at: datetime | None
    reason: str | None = Field(description="Why it was suppressed or failed")

    @classmethod
    def of(cls, row: dict[str, Any]) -> dict[str, Any]:
        return {name: row[name] for name in cls.model_fields}


class CommunicationOut(CommunicationSummary):
    cause_id: uuid.UUID
    group_id: uuid.UUID | None
    details: dict[str, Any] | None = Field(description="What the dunning step said to state")
    not_before: datetime
    deferral_rule: str | None
    review_decision: str | None
    reviewer: str | None
    released_at: datetime | None
    delivered_at: datetime | None
    failed_at: datetime | None
    suppressed_at: datetime | None
    rendered_language: str | None
    message_id: str | None
    provider_reference: str | None
    document_sha256: str | None
    registered: bool
    tracking: Tracking | None
    cost: CostOut | None
    content: Content | None = Field(description="As sent; [erased] once the debtor is erased")
    edited: Content | None = Field(description="A reviewer's edit, which replaces the rendering")
    outcome: str | None
    outcome_detail: dict[str, Any] | None
    notes: str | None
    agent: str | None
    outcome_at: datetime | None


class CommunicationPage(BaseModel):
    items: list[CommunicationSummary]
    next_cursor: str | None


class TrackingIn(_In):
    tracking_number: Text(100)
    carrier: Text(100) | None = None
    status: Literal["posted", "in_transit", "delivered", "returned"] = "posted"

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"tracking_number": "1A00412345678", "carrier": "La Poste"}]
        },
    )


#: Control characters and bidirectional overrides, as the kit's ``Text`` forbids them
_NOT_PLAIN = "\\x00-\\x1f\\x7f-\\x9f\\u202a-\\u202e\\u2066-\\u2069"


class PartyIn(_In):
    legal_name: Text(200)
    address: list[Text(200)] = Field(min_length=1, max_length=6, description="Postal lines")
    registration_number: Text(100, description="e.g. a SIREN")


class ProfileIn(_In):
    """The contract's ``CreditorProfile``, every bound in the schema. An ``agency`` is given
    exactly when ``sender_mode`` is ``collection_agency`` (a rule: 422 naming ``agency``)."""

    creditor: PartyIn
    iban: str = Field(pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9 ]{10,40}$")
    bic: str | None = Field(None, pattern=r"^[A-Z0-9]{8}([A-Z0-9]{3})?$")
    reference_format: str = Field(
        "{invoice}",
        max_length=100,
        pattern=f"^[^{{}}{_NOT_PLAIN}]*\\{{invoice\\}}[^{{}}{_NOT_PLAIN}]*$",
        description="The payment reference the debtor quotes: {invoice} (the invoice number) "
        "once, no other braces",
    )
    reply_email: Text(200, min_length=3)
    reply_phone: Text(50, min_length=0) | None = None
    sender_mode: SenderMode = "creditor"
    agency: PartyIn | None = Field(None, description="Exactly in the collection_agency mode")


class PreferencesIn(_In):
    opted_out: bool = False
    opted_out_channels: list[Channel] = Field(default_factory=list, max_length=8)
    preferred_channel: Channel | None = None
    language: str | None = Field(
        None, pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", description="BCP 47"
    )

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"opted_out_channels": ["sms"], "preferred_channel": "email"}]
        },
    )


class PreferencesOut(BaseModel):
    debtor_id: str
    opted_out: bool
    opted_out_channels: list[Channel]
    preferred_channel: Channel | None
    language: str | None


class ProfileOut(BaseModel):
    profile: dict[str, Any] = Field(description="The CreditorProfile as set")
    set_by: str
    set_at: datetime


class ClaimAmount(BaseModel):
    claim_id: uuid.UUID
    invoice_number: str | None
    amount: str | None
    unpaid_principal: str | None
    currency: str | None


class Callee(BaseModel):
    name: str | None
    phone: str | None
    role: str | None


class CallTask(BaseModel):
    task_id: uuid.UUID = Field(description="The communication it is")
    claim_id: uuid.UUID
    debtor_id: str
    debtor_name: str
    channel: str
    template: str
    step: str | None
    sent_at: datetime
    claims: list[ClaimAmount]
    contacts: list[Callee] = Field(description="Whom to call; [erased] once erased")
    script: Content | None
    outcome: str | None
    outcome_detail: dict[str, Any] | None
    notes: str | None
    agent: str | None
    outcome_at: datetime | None


class CallTaskPage(BaseModel):
    items: list[CallTask]
    next_cursor: str | None


class PromiseIn(_In):
    amount: PositiveAmount
    date: BoundedDate


class DisputeIn(_In):
    reason: StepKey = Field(description="A dispute reason code, as the disputes service has them")
    amount: PositiveAmount | None = Field(None, description="None: the whole claim")


class OutcomeIn(_In):
    outcome: CallOutcome
    promise: PromiseIn | None = Field(None, description="promise_to_pay: its amount, date")
    dispute: DisputeIn | None = Field(None, description="dispute_raised: its reason, amount")
    notes: Text(5000, multiline=True) | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"outcome": "no_answer", "notes": "Voicemail"},
                {
                    "outcome": "promise_to_pay",
                    "promise": {"amount": "500.00", "date": "2026-12-01"},
                    "notes": "Will pay half next week",
                },
            ]
        },
    )


class ReviewItem(BaseModel):
    communication_id: uuid.UUID
    claim_id: uuid.UUID
    claims: list[uuid.UUID]
    debtor_id: str
    template: str
    channel: str
    tone: str
    language: str
    step: str | None
    revision: int | None
    details: dict[str, Any] | None
    queued_at: datetime
    preview: Content | None = Field(
        None, description="The text as it would go out now, for the reviewer to read"
    )
    cannot_write: str | None = Field(
        None, description="Why no text can be written now (e.g. no_creditor_profile)"
    )


class ReviewPage(BaseModel):
    items: list[ReviewItem]
    next_cursor: str | None


class DecisionIn(_In):
    decision: Literal["approve", "edit", "reject"]
    subject: Text(500, description="edit only") | None = None
    body: Text(50_000, multiline=True, description="edit only") | None = None
    reason: Text(2000, multiline=True, description="reject only") | None = None

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"decision": "reject", "reason": "Customer called"}]},
    )


class InteractionIn(_In):
    claim_id: uuid.UUID
    kind: Literal["reply", "inbound_call", "note"]
    channel: Channel | None = None
    summary: Text(10_000, multiline=True)
    in_reply_to: uuid.UUID | None = Field(None, description="The communication it answers")
    occurred_at: BoundedDateTime | None = Field(None, description="Default: now")


class InteractionOut(BaseModel):
    interaction_id: uuid.UUID
    claim_id: uuid.UUID
    debtor_id: str
    kind: str
    channel: str | None
    summary: str = Field(description="[erased] once the debtor is erased")
    in_reply_to: uuid.UUID | None
    recorded_by: str
    occurred_at: datetime
    recorded_at: datetime


class InteractionPage(BaseModel):
    items: list[InteractionOut]
    next_cursor: str | None
