"""Events of the communications bounded context: what the service meant to send, what the
contact governor made of it, what went out on which channel and what became of it, the
outcomes of agents' calls, the debtor's replies, and the settings a message needs (the creditor's
profile, the debtor's contact preferences).

One message, one ``communication_id``, derived from what caused it (a dunning step, a
confirmed promise...), so a replayed cause never makes a second message. Its life on the log:

    CommunicationQueued -> [CommunicationReviewed] -> [CommunicationDeferred ...]
        -> CommunicationReleased -> CommunicationSent -> CommunicationDelivered
                                                     \\-> CommunicationFailed
    (or CommunicationSuppressed {reason} at any point before it is released)

The rendered content is sealed with the debtor account's key: after erasure it reads
``[erased]``.
"""

from __future__ import annotations

import re
import string
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from amiable_events.base import Amount, CurrencyCode, Event, Sealed
from amiable_events.dunning import AmountDue, Channel, StepKey, TenantEvent, Tone
from amiable_events.risk import DebtorAccountEvent

#: ``dunning_step``: a step of the claim's dunning plan. ``confirmation``: what the debtor just
#: did (a promise, a payment plan, a dispute), confirmed. ``thanks``: the claim is settled.
Purpose = Literal["dunning_step", "confirmation", "thanks"]
#: ``reminder``: a message that asks for payment. ``call_attempt``: an agent's call, answered or
#: not. ``transactional``: a confirmation of what the debtor just did (a promise, a plan, a
#: dispute) or a thank-you for a payment; the debtor expects it, so it is not counted against the
#: caps, but it keeps to the hours and to the opt-out like anything else.
Kind = Literal["reminder", "transactional", "call_attempt"]
DeferReason = Literal["not_business_day", "outside_hours", "daily_cap", "weekly_cap", "call_cap"]
SuppressReason = Literal[
    "opted_out",
    "no_allowed_slot",
    "claim_closed",
    "claim_paused",
    "debtor_erased",
    "no_address",
    "review_rejected",
    "superseded",
]
#: A task for a person rather than a message: a call, a visit, a hand-over to a bailiff or a
#: lawyer.
TASK_CHANNELS: frozenset[str] = frozenset({"phone", "visit", "bailiff", "lawyer"})
LETTER_CHANNELS: frozenset[str] = frozenset({"letter", "registered_letter"})


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


SenderMode = Literal["creditor", "collection_agency"]


class Party(_Part):
    """A company as a letter names it: a formal notice must identify both parties."""

    legal_name: str = Field(min_length=1, max_length=200)
    address: tuple[str, ...] = Field(min_length=1, description="Postal lines, in order")
    registration_number: str = Field(min_length=1, max_length=100, description="e.g. a SIREN")


class CreditorProfile(_Part):
    """The tenant's identity and payment details. With ``sender_mode`` ``collection_agency``
    the letters come from ``agency``, which must say that it acts for the creditor."""

    creditor: Party
    iban: str = Field(pattern=r"^[A-Z]{2}[0-9]{2}[A-Z0-9 ]{10,40}$")
    bic: str | None = Field(None, pattern=r"^[A-Z0-9]{8}([A-Z0-9]{3})?$")
    reference_format: str = Field(
        "{invoice}",
        description="The payment reference the debtor quotes; {invoice} is the invoice number",
    )
    reply_email: str = Field(min_length=3, max_length=200)
    reply_phone: str | None = Field(None, max_length=50)
    sender_mode: SenderMode = "creditor"
    agency: Party | None = None

    @field_validator("reference_format")
    @classmethod
    def _only_invoice_field(cls, value: str) -> str:
        names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        if names != {"invoice"}:
            raise ValueError("the reference format must contain {invoice} and no other field")
        return value

    @model_validator(mode="after")
    def _agency_iff_agency_mode(self) -> CreditorProfile:
        if (self.sender_mode == "collection_agency") != (self.agency is not None):
            raise ValueError("an agency is named exactly when the sender mode is collection_agency")
        return self

    @property
    def sender(self) -> Party:
        """Who signs: the agency when one acts, else the creditor."""
        return self.agency or self.creditor

    def payment_reference(self, invoice: str) -> str:
        return self.reference_format.format(invoice=invoice)

    @property
    def iban_grouped(self) -> str:
        """The IBAN in groups of four, as it is printed so a person can copy it."""
        compact = re.sub(r"\s", "", self.iban)
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


class CommunicationEvent(Event):
    """An event of one message. Subject: its (leading) claim; key: the debtor account."""

    claim_id: UUID
    communication_id: UUID


class StepDetails(_Part):
    """What the dunning step said its message must state, as ``DunningStepDue`` had it."""

    solution_first: bool = False
    contact_role: StepKey = "accounts_payable"
    amount_due: AmountDue | None = Field(None, description="formal_notice: on its day")
    payment_deadline: date | None = None
    disputed_amount: Amount | None = Field(None, description="Not claimed: under dispute")
    installment: int | None = None


class CommunicationQueued(CommunicationEvent):
    """The service means to send this message: the intent, recorded before anything else. Its
    event id and ``communication_id`` derive from its cause (``cause_id``), so a cause read
    twice queues one message."""

    type: ClassVar[str] = "amiable.communications.communication-queued.v1"
    source: ClassVar[str] = "communications"
    summary_fields: ClassVar[tuple[str, ...]] = ("template", "channel")

    purpose: Purpose
    cause_id: UUID = Field(description="The event it answers: a DunningStepDue, a confirmed...")
    claims: tuple[UUID, ...] = Field(
        min_length=1, description="The claims it is about (a consolidation group), leader first"
    )
    channel: Channel
    template: StepKey
    tone: Tone
    language: str = Field(description="The debtor's BCP 47 tag; the template may fall back")
    kind: Kind
    not_before: datetime = Field(description="The step's time, or the cause's")
    review_required: bool = False
    revision: int | None = Field(None, ge=1, description="The dunning plan revision it serves")
    step: StepKey | None = Field(None, description="The dunning step it serves")
    group_id: UUID | None = None
    details: StepDetails | None = Field(None, description="dunning_step: what it must state")
    queued_at: datetime


class CommunicationReviewed(CommunicationEvent):
    """A person approved, edited or rejected a message that its policy step held for review.
    An edit replaces the rendered subject and body (sealed)."""

    type: ClassVar[str] = "amiable.communications.communication-reviewed.v1"
    source: ClassVar[str] = "communications"
    summary_fields: ClassVar[tuple[str, ...]] = ("decision",)

    decision: Literal["approve", "edit", "reject"]
    reviewer: str = Field(min_length=1, max_length=200)
    edited_subject: Sealed | None = Field(None, description="edit: the subject, as written")
    edited_body: Sealed | None = Field(None, description="edit: the body, as written")
    reason: Sealed | None = Field(None, description="reject: why")
    reviewed_at: datetime


class CommunicationDeferred(CommunicationEvent):
    """The contact governor held the message back: sending it now would break ``rule``; the
    next allowed instant is ``until``, when the governor decides again."""

    type: ClassVar[str] = "amiable.communications.communication-deferred.v1"
    source: ClassVar[str] = "communications"
    summary_fields: ClassVar[tuple[str, ...]] = ("rule",)

    channel: Channel
    rule: DeferReason
    until: datetime
    deferred_at: datetime


class CommunicationSuppressed(CommunicationEvent):
    """The message will never be sent, and why: the claim was closed or paused since, the
    debtor was erased or opted out, no allowed slot, no address on its channel, a reviewer
    rejected it, or a later step of the claim made it moot."""

    type: ClassVar[str] = "amiable.communications.communication-suppressed.v1"
    source: ClassVar[str] = "communications"
    summary_fields: ClassVar[tuple[str, ...]] = ("reason",)

    reason: SuppressReason
    revision: int | None = Field(None, ge=1)
    step: StepKey | None = None
    suppressed_at: datetime


class CommunicationReleased(CommunicationEvent):
    """The contact governor allows the message now, on ``channel``: the sender's order. It
    counts as a contact from here on, whatever the channel then does."""

    type: ClassVar[str] = "amiable.communications.communication-released.v1"
    source: ClassVar[str] = "communications"
    summary_fields: ClassVar[tuple[str, ...]] = ("channel",)

    channel: Channel
    kind: Kind
    released_at: datetime


class Cost(_Part):
    amount: Amount
    currency: CurrencyCode


class CommunicationSent(CommunicationEvent):
    """The channel took the message: the SMTP server accepted it, the SMS gateway queued it, the
    letter's PDF was made and stored, the agent's task was opened. ``content`` is the rendered
    subject and body, sealed (JSON), kept for the audit trail."""

    type: ClassVar[str] = "amiable.communications.communication-sent.v1"
    source: ClassVar[str] = "communications"
    summary_fields: ClassVar[tuple[str, ...]] = ("channel", "template")

    claims: tuple[UUID, ...] = Field(
        min_length=1, description="The claims it is about, leader first: its cost is shared"
    )
    channel: Channel
    template: StepKey
    language: str = Field(description="The language the template was rendered in")
    tone: Tone
    cost: Cost
    message_id: str | None = Field(None, description="email: the Message-ID header")
    provider_reference: str | None = Field(None, description="sms: the gateway's message id")
    document_sha256: str | None = Field(
        None, pattern=r"^[0-9a-f]{64}$", description="letters: the SHA-256 of the PDF"
    )
    registered: bool = Field(False, description="A registered letter: tracking to follow")
    content: Sealed
    revision: int | None = Field(None, ge=1)
    step: StepKey | None = None
    sent_at: datetime


class CommunicationDelivered(CommunicationEvent):
    """The message reached its destination as far as the channel can tell: the receiving
    server (email), the gateway's delivery report (SMS), the carrier (a tracked letter)."""

    type: ClassVar[str] = "amiable.communications.communication-delivered.v1"
    source: ClassVar[str] = "communications"

    channel: Channel
    delivered_at: datetime


class CommunicationFailed(Event):
    """A message could not be delivered on ``channel`` for good (an SMTP permanent failure, a
    gateway error, an invalid number); temporary failures are retried before this."""

    type: ClassVar[str] = "amiable.communications.communication-failed.v1"
    source: ClassVar[str] = "communications"

    claim_id: UUID
    communication_id: UUID
    channel: Channel
    revision: int | None = Field(None, ge=1, description="The dunning plan revision it served")
    step: StepKey | None = Field(None, description="The dunning step it served, if any")
    reason: str = Field(min_length=1, max_length=500)
    failed_at: datetime


class TrackingRecorded(CommunicationEvent):
    """A letter's tracking number, and what the carrier says of it."""

    type: ClassVar[str] = "amiable.communications.tracking-recorded.v1"
    source: ClassVar[str] = "communications"

    tracking_number: str = Field(min_length=1, max_length=100)
    carrier: str | None = Field(None, max_length=100)
    status: Literal["posted", "in_transit", "delivered", "returned"] = "posted"
    recorded_at: datetime


class PromiseOutcome(_Part):
    amount: Amount = Field(gt=Decimal(0))
    date: date


class DisputeOutcome(_Part):
    reason: StepKey = Field(description="A dispute reason code, as the disputes service has them")
    amount: Amount | None = Field(None, gt=Decimal(0), description="None: the whole claim")


CallOutcome = Literal["reached", "no_answer", "wrong_number", "promise_to_pay", "dispute_raised"]


class CallOutcomeRecorded(CommunicationEvent):
    """An agent worked a call (or visit) task: what came of it. Claims records a promise, and
    disputes opens a dispute, from it, each exactly once."""

    type: ClassVar[str] = "amiable.communications.call-outcome-recorded.v1"
    source: ClassVar[str] = "communications"
    summary_fields: ClassVar[tuple[str, ...]] = ("outcome",)

    outcome: CallOutcome
    promise: PromiseOutcome | None = None
    dispute: DisputeOutcome | None = None
    notes: Sealed | None = None
    agent: str = Field(min_length=1, max_length=200)
    recorded_at: datetime


class InteractionRecorded(Event):
    """Something the debtor said or did outside a message of ours (a reply, an inbound call) or
    a note of the creditor's, on the claim's timeline; the text is sealed."""

    type: ClassVar[str] = "amiable.communications.interaction-recorded.v1"
    source: ClassVar[str] = "communications"
    summary_fields: ClassVar[tuple[str, ...]] = ("kind", "channel")

    claim_id: UUID
    interaction_id: UUID
    kind: Literal["reply", "inbound_call", "note"]
    channel: Channel | None = None
    summary: Sealed
    in_reply_to: UUID | None = Field(None, description="The communication it answers")
    recorded_by: str = Field(min_length=1, max_length=200)
    occurred_at: datetime
    recorded_at: datetime


class CreditorProfileSet(TenantEvent):
    """The tenant's identity and payment details as its letters state them: the whole profile,
    which replaces the previous one."""

    type: ClassVar[str] = "amiable.communications.creditor-profile-set.v1"
    source: ClassVar[str] = "communications"

    profile: CreditorProfile
    set_by: str = Field(min_length=1, max_length=200)
    set_at: datetime


class ContactPreferencesSet(DebtorAccountEvent):
    """How the debtor account wants to be contacted, or not at all: the whole set, which
    replaces the previous one."""

    type: ClassVar[str] = "amiable.communications.contact-preferences-set.v1"
    source: ClassVar[str] = "communications"

    opted_out: bool = False
    opted_out_channels: tuple[Channel, ...] = ()
    preferred_channel: Channel | None = None
    language: str | None = Field(None, description="BCP 47; overrides the claim's debtor language")
    set_by: str = Field(min_length=1, max_length=200)
    set_at: datetime


EVENTS: tuple[type[Event], ...] = (
    CommunicationQueued,
    CommunicationReviewed,
    CommunicationDeferred,
    CommunicationSuppressed,
    CommunicationReleased,
    CommunicationSent,
    CommunicationDelivered,
    CommunicationFailed,
    TrackingRecorded,
    CallOutcomeRecorded,
    InteractionRecorded,
    CreditorProfileSet,
    ContactPreferencesSet,
)
