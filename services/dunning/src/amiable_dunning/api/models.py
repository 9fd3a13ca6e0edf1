"""What the dunning API answers and accepts."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from amiable_dunning.domain.state import ClaimStatus, StepStatus
from amiable_events.dunning import Action, Channel, ScheduledStep, Stage, StepKey, StopReason


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StepOut(BaseModel):
    revision: int
    key: str
    action: Action
    channels: list[Channel]
    stage: Stage
    planned_on: date
    at: datetime
    status: StepStatus
    reason: str | None = Field(description="Why it was skipped, paused, cancelled or approved")
    channel: str | None = Field(description="The channel it went out on")
    policy_version: str
    needs_approval: bool
    template: str
    tone: str

    @classmethod
    def of(cls, record) -> StepOut:
        step: ScheduledStep = record.step
        return cls(
            revision=record.revision,
            key=step.key,
            action=step.action,
            channels=list(step.channels),
            stage=step.stage,
            planned_on=step.planned_on,
            at=step.at,
            status=record.status,
            reason=record.reason,
            channel=record.channel,
            policy_version=record.policy_version,
            needs_approval=step.needs_approval,
            template=step.template,
            tone=step.tone,
        )


class PauseOut(BaseModel):
    reason: str
    since: datetime
    dispute_id: str | None
    until: date | None


class ClaimDunningOut(BaseModel):
    claim_id: uuid.UUID
    status: ClaimStatus = Field(
        description="waiting (not qualified yet, or never chased), active, paused, stopped, "
        "escalated, completed (every step done)"
    )
    stop_reason: StopReason | None
    track: str | None
    policy_id: str | None
    policy_version: str | None
    revision: int
    pause: PauseOut | None
    next_step: StepOut | None
    steps: list[StepOut] = Field(description="The current revision's steps")
    history: list[StepOut] = Field(description="Earlier revisions' steps, in order")


class UpcomingStep(BaseModel):
    claim_id: uuid.UUID
    debtor_id: str
    step: str
    revision: int
    action: Action
    channel: Channel
    stage: Stage
    at: datetime
    amount: str
    currency: str
    due_on: date
    bucket: str = Field(description="The claim's aged-balance bucket on the step's day")
    days_overdue: int


class UpcomingPage(BaseModel):
    items: list[UpcomingStep]


class ApprovalItem(BaseModel):
    claim_id: uuid.UUID
    debtor_id: str
    step: str
    revision: int
    action: Action
    channel: Channel
    stage: Stage
    at: datetime = Field(description="When it fell due and started waiting")
    amount: str
    currency: str
    due_on: date


class ApprovalPage(BaseModel):
    items: list[ApprovalItem]


class ApproveIn(_In):
    step: StepKey = Field(description="The key of the step waiting for approval")
