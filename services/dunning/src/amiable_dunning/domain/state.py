"""The dunning state of one debtor account: each of its claims' money facts, plan, steps and
pauses, and what the service knows of the debtor (its segment).

One state per account, not per claim: consolidation aligns the reminders of an account's
claims, and a risk event about the debtor re-plans all of them at once.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from amiable_dunning.domain.policy import REMINDERS
from amiable_events.claims import Installment
from amiable_events.dunning import ScheduledStep, Stage, StopReason, Track
from amiable_events.ledger import ClaimLedger

StepStatus = Literal["planned", "due", "done", "skipped", "paused", "cancelled"]
ClaimStatus = Literal["waiting", "active", "paused", "stopped", "escalated", "completed"]


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StepRecord(_State):
    """A step of a revision and what became of it."""

    revision: int
    step: ScheduledStep
    status: StepStatus = "planned"
    reason: str | None = None
    #: The channel it went out on (done), or the channel that failed
    channel: str | None = None
    at: datetime | None = None
    policy_version: str = ""

    def now(self, status: StepStatus, reason: str | None, at: datetime, **changes) -> StepRecord:
        return self.model_copy(update={"status": status, "reason": reason, "at": at, **changes})


class Pause(_State):
    reason: Literal["dispute_opened", "promise_to_pay"]
    since: datetime
    dispute_id: str | None = None
    until: date | None = None


class Dispute(_State):
    dispute_id: str
    disputed_amount: str
    whole_claim: bool


class ClaimDunning(_State):
    claim_id: str
    ledger: ClaimLedger
    registered_at: datetime
    qualified: bool = False
    hardship: bool = False
    status: ClaimStatus = "waiting"
    stop_reason: StopReason | None = None
    track: Track | None = None
    #: The track to go back to when an agreed payment plan defaults
    track_before_plan: Track | None = None
    policy_id: str | None = None
    policy_version: str | None = None
    max_reminders_per_stage: int = 3
    revision: int = 0
    planned_at: datetime | None = None
    steps: tuple[StepRecord, ...] = ()
    #: Steps of earlier revisions that went out, were skipped or were replaced
    history: tuple[StepRecord, ...] = ()
    pause: Pause | None = None
    dispute: Dispute | None = None
    #: When the latest payment was recorded: a step planned before it is skipped
    paid_at: datetime | None = None
    escalated_at: datetime | None = None
    #: The agreed payment plan's instalments, while the claim follows it
    installments: tuple[Installment, ...] = ()
    #: A promise to pay not broken yet: the promised day plus its grace
    promised_until: date | None = None

    @property
    def chased(self) -> bool:
        """Planned and not stopped: a completed track is still an open claim (a default, a
        dispute or a payment still changes it)."""
        return self.status in ("active", "paused", "completed")

    @property
    def pending(self) -> list[StepRecord]:
        return [r for r in self.steps if r.status in ("planned", "paused")]

    @property
    def awaiting_approval(self) -> list[StepRecord]:
        return [r for r in self.steps if r.status == "due"]

    @property
    def sent(self) -> list[StepRecord]:
        return [r for r in (*self.history, *self.steps) if r.status == "done"]

    def stage_reached(self) -> Stage | None:
        sent = self.sent
        return sent[-1].step.stage if sent else None

    def reminders_in(self, stage: Stage) -> int:
        """Reminders that went out in ``stage``; a letter and its email copy the same day are
        one reminder in two channels."""
        return len(
            {
                r.step.planned_on
                for r in self.sent
                if r.step.stage == stage and r.step.action in REMINDERS
            }
        )

    def step(self, key: str, revision: int | None = None) -> StepRecord | None:
        return next(
            (
                r
                for r in self.steps
                if r.step.key == key and (revision is None or r.revision == revision)
            ),
            None,
        )


class Account(_State):
    tenant: str
    debtor_id: str
    segment: str | None = None
    claims: dict[str, ClaimDunning] = {}

    def claim(self, claim_id: UUID | str) -> ClaimDunning | None:
        return self.claims.get(str(claim_id))

    def with_claim(self, claim: ClaimDunning) -> Account:
        return self.model_copy(update={"claims": {**self.claims, claim.claim_id: claim}})
