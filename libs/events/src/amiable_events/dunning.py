"""Events of the dunning bounded context: which steps a claim's recovery takes and when, and
what paused, resumed, skipped or stopped them.

A claim's plan has a ``revision``: every event that sets dates (``DunningPlanScheduled``,
``DunningResumed``, ``DunningRescheduled``) carries the whole list of steps still to come with
a new revision, so a consumer needs no earlier event to know the plan, and a step's timer id
(``<revision>:<step>``) changes whenever its date may have, so nothing fires twice.

Every event about a claim has subject = the claim id and key = its debtor account. The two
policy events are tenant events (docs/events.md): subject ``tenant:<tenant>``, key
``<tenant>:``; a policy applies to plans made after its ``activated_at``.

Consolidation: steps of one debtor account's claims that fall within the policy's window are
aligned on one day and share a ``group_id``. Each claim still gets its own
``DunningStepDue`` (so each claim's audit trail is complete); ``group`` lists the claims whose
reminder goes out that day, and the message composer sends the debtor one statement per
group (on the event whose claim is ``group[0]``) rather than one letter per invoice.

What other services do with them:

- communications composes and sends the message of a ``DunningStepDue`` (one statement per
  ``group_id``), and reports a failed channel with ``CommunicationFailed``;
- claims moves the claim to ``escalated`` on ``ClaimEscalated``;
- everyone may show the plan: ``DunningPlanScheduled`` says which policy version made it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from amiable_events.base import Amount, CurrencyCode, Event

Action = Literal[
    "call_task",
    "email",
    "sms",
    "letter",
    "registered_letter",
    "visit_task",
    "propose_payment_plan",
    "propose_partial_remission",
    "formal_notice",
    "bailiff_summons",
    "litigation_handoff",
]
Channel = Literal[
    "phone", "email", "sms", "letter", "registered_letter", "visit", "bailiff", "lawyer"
]
Tone = Literal["courteous", "neutral", "direct", "firm"]
Stage = Literal["amicable", "firm", "formal_notice", "after_formal_notice"]
#: The policy's tracks, and ``payment_plan``: the instalment reminders of an agreed plan.
Track = Literal[
    "standard_b2b", "large_claim", "fragile_customer", "chronic_late_payer", "payment_plan"
]
StepKey = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)]
PlanReason = Literal[
    "claim_qualified",
    "risk_assessed",
    "segment_overridden",
    "hardship_declared",
    "payment_plan_agreed",
    "promise_broken",
    "payment_plan_defaulted",
]
PauseReason = Literal["dispute_opened", "promise_to_pay"]
ResumeReason = Literal[
    "dispute_rejected",
    "dispute_withdrawn",
    "partial_dispute_resolved",
    "promise_period_over",
]
RescheduleReason = Literal["channel_failed"]
StopReason = Literal[
    "claim_settled",
    "claim_written_off",
    "claim_cancelled",
    "claim_rejected",
    "dispute_upheld",
    "insolvency",
    "escalated",
    # in the contract since v1 and never emitted: a track whose steps all went out shows as
    # status ``completed`` (a default or a dispute may still change it), not as stopped
    "track_completed",
]
SkipReason = Literal["paid_since_planned", "stage_cap_reached", "no_channel_left"]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ScheduledStep(_Part):
    """One step of a plan, as the policy version that planned it defined it."""

    key: StepKey
    action: Action
    channels: tuple[Channel, ...] = Field(min_length=1, description="Tried in order")
    template: StepKey
    tone: Tone
    solution_first: bool = Field(description="Open with the way out before the amount (US)")
    contact_role: StepKey
    stage: Stage
    planned_on: date = Field(description="A business day of the debtor's country")
    at: datetime = Field(description="The opening of contact hours that day, debtor's zone")
    needs_approval: bool = False
    review: bool = Field(False, description="Its message waits for a person's review")
    payment_deadline_days: int | None = Field(None, description="formal_notice only")
    caught_up: bool = Field(
        False,
        description="A reminder brought forward at registration so that a formal notice "
        "never comes first",
    )
    installment: int | None = Field(None, description="payment_plan: the instalment's index")


class DueLine(_Part):
    kind: Literal["principal", "interest", "fixed_fee"]
    amount: Amount
    note: str = Field(description="For interest: the rate and the period it ran")


class AmountDue(_Part):
    """What is owed at the end of ``as_of``, itemised: the figures of the claims service's
    ``GET /v1/claims/{id}/amount-due`` that day."""

    as_of: date
    currency: CurrencyCode
    principal_outstanding: Amount
    interest: Amount
    fixed_fee: Amount
    total: Amount
    rule: str
    lines: tuple[DueLine, ...]


class PlanEvent(Event):
    """An event that sets the claim's remaining steps, under a new revision."""

    claim_id: UUID
    revision: int = Field(ge=1)
    steps: tuple[ScheduledStep, ...] = Field(description="Every step still to come, in order")


class DunningPlanScheduled(PlanEvent):
    """The claim's plan, made (``claim_qualified``) or remade when what chose the track
    changed, or after a broken promise (``promise_broken``: the steps left from one stage firmer
    than the claim reached, dated from now; it ends the promise's pause). Carries the policy id
    and version, so a replay never depends on the policy in force today."""

    type: ClassVar[str] = "amiable.dunning.plan-scheduled.v1"
    source: ClassVar[str] = "dunning"

    reason: PlanReason
    policy_id: str
    policy_version: str
    track: Track
    max_reminders_per_stage: int = Field(
        3, ge=1, description="The policy's cap: more reminders in one stage are skipped"
    )
    scheduled_at: datetime


class DunningPaused(Event):
    """Chasing stops for now: a dispute under review (``dispute_id``), or a promise to pay
    (``until``: the promised day plus its grace)."""

    type: ClassVar[str] = "amiable.dunning.paused.v1"
    source: ClassVar[str] = "dunning"

    claim_id: UUID
    reason: PauseReason
    dispute_id: UUID | None = None
    until: date | None = None
    paused_at: datetime


class DunningResumed(PlanEvent):
    """Chasing resumes; the steps left are dated again from now, keeping their spacing. (A
    broken promise re-plans instead: ``DunningPlanScheduled`` ``promise_broken``, one stage
    firmer.)"""

    type: ClassVar[str] = "amiable.dunning.resumed.v1"
    source: ClassVar[str] = "dunning"

    reason: ResumeReason
    resumed_at: datetime


class DunningRescheduled(PlanEvent):
    """The plan's steps changed without a pause: a step moves to the next channel of its
    fallback list after its channel failed."""

    type: ClassVar[str] = "amiable.dunning.rescheduled.v1"
    source: ClassVar[str] = "dunning"

    reason: RescheduleReason
    step: StepKey
    rescheduled_at: datetime


class DunningStopped(Event):
    """No more steps for this claim."""

    type: ClassVar[str] = "amiable.dunning.stopped.v1"
    source: ClassVar[str] = "dunning"

    claim_id: UUID
    reason: StopReason
    stopped_at: datetime


class DunningStepSkipped(Event):
    """A planned step will not go out: the debtor paid since it was planned, the stage already
    had as many reminders as the policy allows, or no channel is left."""

    type: ClassVar[str] = "amiable.dunning.step-skipped.v1"
    source: ClassVar[str] = "dunning"

    claim_id: UUID
    revision: int = Field(ge=1)
    step: StepKey
    reason: SkipReason
    skipped_at: datetime


class DunningApprovalRequested(Event):
    """A step that needs a person (a bailiff's summons, the litigation handoff) is due: it
    waits in the collectors' approval queue."""

    type: ClassVar[str] = "amiable.dunning.approval-requested.v1"
    source: ClassVar[str] = "dunning"

    claim_id: UUID
    revision: int = Field(ge=1)
    step: StepKey
    action: Action
    requested_at: datetime


class DunningStepDue(Event):
    """A step goes out now, on ``channel``. Appended by the step's timer (id
    ``dunning:<claim>:<revision>:<step>``), or by a person's approval."""

    type: ClassVar[str] = "amiable.dunning.step-due.v1"
    source: ClassVar[str] = "dunning"
    summary_fields: ClassVar[tuple[str, ...]] = ("step", "channel")

    claim_id: UUID
    revision: int = Field(ge=1)
    step: StepKey
    action: Action
    channel: Channel
    fallback_channels: tuple[Channel, ...] = Field(description="Left after this one, in order")
    template: StepKey
    tone: Tone
    solution_first: bool
    contact_role: StepKey
    stage: Stage
    due_at: datetime
    group_id: UUID = Field(
        description="The debtor account's consolidation group: its reminders of that day"
    )
    group: tuple[UUID, ...] = Field(description="The claims in the group, the leader first")
    amount_due: AmountDue | None = Field(None, description="formal_notice: on its day")
    payment_deadline: date | None = Field(None, description="formal_notice: pay by this day")
    disputed_amount: Amount | None = Field(
        None,
        description="Under an active partial dispute that leaves enough to chase: the part "
        "contested, which the message must not claim",
    )
    installment: int | None = None
    approved_by: str | None = Field(None, description="The person who approved the step")
    review: bool = Field(False, description="Its message waits for a person's review first")


class ClaimEscalated(Event):
    """Amicable recovery is over: a person approved the handoff to litigation. Claims moves
    the claim to ``escalated``."""

    type: ClassVar[str] = "amiable.dunning.claim-escalated.v1"
    source: ClassVar[str] = "dunning"

    claim_id: UUID
    reason: Literal["litigation_handoff"]
    timeline_reference: UUID = Field(
        description="The id of the DunningApprovalRequested that put the handoff before a "
        "person: the claim's timeline entry it answers"
    )
    approved_by: str
    escalated_at: datetime


class TenantEvent(Event):
    """An event about a tenant's settings: subject ``tenant:<tenant>``, key ``<tenant>:``."""

    tenant: str = Field(min_length=1, max_length=100, pattern=r"^[^:]+$")

    @property
    def subject(self) -> str:
        return f"tenant:{self.tenant}"


class DunningPolicyPublished(TenantEvent):
    """A new version of a tenant's policy, validated: the whole document, as data."""

    type: ClassVar[str] = "amiable.dunning.policy-published.v1"
    source: ClassVar[str] = "dunning"

    policy_id: StepKey
    version: str = Field(min_length=1, max_length=100)
    document: dict[str, Any] = Field(description="The policy, as its YAML reads")
    published_at: datetime


class DunningPolicyActivated(TenantEvent):
    """The tenant's plans made from ``activated_at`` on follow this policy version."""

    type: ClassVar[str] = "amiable.dunning.policy-activated.v1"
    source: ClassVar[str] = "dunning"

    policy_id: StepKey
    version: str = Field(min_length=1, max_length=100)
    activated_at: datetime


EVENTS: tuple[type[Event], ...] = (
    DunningPlanScheduled,
    DunningPaused,
    DunningResumed,
    DunningRescheduled,
    DunningStopped,
    DunningStepSkipped,
    DunningApprovalRequested,
    DunningStepDue,
    ClaimEscalated,
    DunningPolicyPublished,
    DunningPolicyActivated,
)
