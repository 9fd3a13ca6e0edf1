"""Folds the claim log into a debtor account's dunning state. Pure and total: an event about a
claim the account has not seen registered changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import singledispatch

from amiable_dunning.domain.state import Account, ClaimDunning, Dispute, Pause, StepRecord
from amiable_events.claims import (
    ClaimQualified,
    ClaimRegistered,
    PaymentPlanAgreed,
    PaymentReceived,
    PromiseBroken,
    PromiseToPayRecorded,
)
from amiable_events.disputes import (
    DisputeOpened,
    DisputeResolved,
    DisputeWithdrawn,
    HardshipDeclared,
)
from amiable_events.dunning import (
    ClaimEscalated,
    DunningApprovalRequested,
    DunningPaused,
    DunningPlanScheduled,
    DunningRescheduled,
    DunningResumed,
    DunningStepDue,
    DunningStepSkipped,
    DunningStopped,
    PlanEvent,
)
from amiable_events.envelope import Envelope
from amiable_events.ledger import FOLDED, fold
from amiable_events.risk import InsolvencyRecorded, RiskAssessed, SegmentOverridden

#: Risk events about the debtor that set its segment
SEGMENT_EVENTS = (RiskAssessed, SegmentOverridden, InsolvencyRecorded)


def evolve(account: Account | None, envelope: Envelope) -> Account | None:
    event = envelope.data
    if isinstance(event, SEGMENT_EVENTS):
        account = account or Account(tenant=envelope.tenant, debtor_id=envelope.debtor_id)
        segment = "insolvency" if isinstance(event, InsolvencyRecorded) else event.segment
        return account.model_copy(update={"segment": segment})
    if isinstance(event, ClaimRegistered):
        account = account or Account(tenant=envelope.tenant, debtor_id=envelope.debtor_id)
        if account.claim(event.claim_id) is not None:
            return account
        ledger = fold(None, event, envelope.tenant)
        return account.with_claim(
            ClaimDunning(
                claim_id=str(event.claim_id), ledger=ledger, registered_at=event.registered_at
            )
        )
    claim_id = getattr(event, "claim_id", None)
    claim = account.claim(claim_id) if account is not None and claim_id is not None else None
    if claim is None:
        return account
    if type(event) in FOLDED:
        claim = claim.model_copy(update={"ledger": fold(claim.ledger, event, envelope.tenant)})
    return account.with_claim(_apply(event, claim, envelope.time))


@singledispatch
def _apply(event: object, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    return claim


def _update(claim: ClaimDunning, **changes) -> ClaimDunning:
    return claim.model_copy(update=changes)


@_apply.register
def _(event: ClaimQualified, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    return _update(claim, qualified=True)


@_apply.register
def _(event: PaymentReceived, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    return _update(claim, paid_at=at)


@_apply.register
def _(event: DisputeOpened, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    dispute = Dispute(
        dispute_id=str(event.dispute_id),
        disputed_amount=format(event.disputed_amount, "f"),
        whole_claim=event.whole_claim,
    )
    return _update(claim, dispute=dispute)


@_apply.register(DisputeResolved)
@_apply.register(DisputeWithdrawn)
def _(event, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    if claim.dispute is None or claim.dispute.dispute_id != str(event.dispute_id):
        return claim
    return _update(claim, dispute=None)


@_apply.register
def _(event: HardshipDeclared, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    return _update(claim, hardship=True)


def _replace_plan(claim: ClaimDunning, event: PlanEvent, reason: str, at: datetime, **changes):
    """A new revision: the steps of the old one still to come are cancelled, and everything of
    it goes to the history."""
    old = [
        record.now("cancelled", reason, at)
        if record.status in ("planned", "paused", "due")
        else record
        for record in claim.steps
    ]
    version = changes.get("policy_version", claim.policy_version) or ""
    steps = tuple(
        StepRecord(revision=event.revision, step=step, policy_version=version)
        for step in event.steps
    )
    return _update(
        claim,
        revision=event.revision,
        planned_at=at,
        steps=steps,
        history=(*claim.history, *old),
        status="active" if steps else "completed",
        pause=None,
        **changes,
    )


@_apply.register
def _(event: DunningPlanScheduled, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    before_plan = claim.track_before_plan
    if event.track == "payment_plan" and claim.track != "payment_plan":
        before_plan = claim.track
    return _replace_plan(
        claim,
        event,
        event.reason,
        at,
        track=event.track,
        track_before_plan=before_plan,
        policy_id=event.policy_id,
        policy_version=event.policy_version,
        max_reminders_per_stage=event.max_reminders_per_stage,
        stop_reason=None,
    )


@_apply.register(DunningResumed)
@_apply.register(DunningRescheduled)
def _(event, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    return _replace_plan(claim, event, event.reason, at)


@_apply.register
def _(event: DunningPaused, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    pause = Pause(
        reason=event.reason,
        since=at,
        dispute_id=str(event.dispute_id) if event.dispute_id else None,
        until=event.until,
    )
    steps = tuple(
        record.now("paused", event.reason, at) if record.status == "planned" else record
        for record in claim.steps
    )
    return _update(claim, status="paused", pause=pause, steps=steps)


@_apply.register
def _(event: DunningStopped, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    steps = tuple(
        record.now("cancelled", event.reason, at)
        if record.status in ("planned", "paused", "due")
        else record
        for record in claim.steps
    )
    return _update(claim, status="stopped", stop_reason=event.reason, steps=steps, pause=None)


def _step_changed(claim: ClaimDunning, event, status: str, reason: str | None, at, **changes):
    steps = tuple(
        record.now(status, reason, at, **changes)
        if record.revision == event.revision and record.step.key == event.step
        else record
        for record in claim.steps
    )
    claim = _update(claim, steps=steps)
    if claim.status == "active" and not claim.pending and not claim.awaiting_approval:
        claim = _update(claim, status="completed")
    return claim


@_apply.register
def _(event: DunningStepSkipped, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    return _step_changed(claim, event, "skipped", event.reason, at)


@_apply.register
def _(event: DunningApprovalRequested, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    return _step_changed(claim, event, "due", "awaiting_approval", at)


@_apply.register
def _(event: DunningStepDue, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    reason = f"approved by {event.approved_by}" if event.approved_by else None
    return _step_changed(claim, event, "done", reason, at, channel=event.channel)


@_apply.register
def _(event: ClaimEscalated, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    steps = tuple(
        record.now("cancelled", "escalated", at) if record.status in ("planned", "due") else record
        for record in claim.steps
    )
    return _update(claim, status="escalated", stop_reason="escalated", escalated_at=at, steps=steps)


@_apply.register
def _(event: PaymentPlanAgreed, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    return _update(claim, installments=event.installments)


@_apply.register
def _(event: PromiseToPayRecorded, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    return _update(claim, promised_until=event.promised_on + timedelta(days=event.grace_days))


@_apply.register
def _(event: PromiseBroken, claim: ClaimDunning, at: datetime) -> ClaimDunning:
    return _update(claim, promised_until=None)
