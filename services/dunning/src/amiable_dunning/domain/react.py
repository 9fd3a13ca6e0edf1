"""What dunning appends when the log tells it something: plan on qualification, re-plan when
what chose the track changes, pause on a dispute or a promise, resume, stop, and fall back to
the next channel. Pure: ``(desk, envelope) -> events``, over the account's state right after
the event and the tenant's policies."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from amiable_dunning.domain.evolve import evolve
from amiable_dunning.domain.plans import (
    consolidate,
    firmer,
    full_plan,
    installment_reminders,
    new_plan,
    shifted,
    track_for,
)
from amiable_dunning.domain.policy import NEVER_CHASED, Policy
from amiable_dunning.domain.state import Account, ClaimDunning
from amiable_events.base import Event
from amiable_events.claims import (
    ClaimCancelled,
    ClaimQualified,
    ClaimRejected,
    ClaimSettled,
    ClaimWrittenOff,
    PaymentPlanAgreed,
    PaymentPlanDefaulted,
    PromiseBroken,
    PromiseToPayRecorded,
)
from amiable_events.communications import CommunicationFailed
from amiable_events.disputes import (
    DisputeOpened,
    DisputeResolved,
    DisputeWithdrawn,
    HardshipDeclared,
)
from amiable_events.dunning import (
    DunningPaused,
    DunningPlanScheduled,
    DunningRescheduled,
    DunningResumed,
    DunningStepSkipped,
    DunningStopped,
    ScheduledStep,
)
from amiable_events.envelope import Envelope
from amiable_events.ledger import Figures
from amiable_events.risk import InsolvencyRecorded, RiskAssessed, SegmentOverridden


@dataclass(frozen=True)
class PolicyBook:
    """A tenant's policy versions by activation time; before any, the shipped default."""

    default: Policy
    activations: tuple[tuple[datetime, Policy], ...] = ()

    def at(self, when: datetime) -> Policy:
        chosen = self.default
        for activated_at, policy in self.activations:
            if activated_at <= when:
                chosen = policy
        return chosen


@dataclass(frozen=True)
class Desk:
    """What a reaction sees: the account's state and its tenant's policies."""

    account: Account | None
    policies: PolicyBook
    figures: Figures | None = None


def evolve_desk(desk: Desk, envelope: Envelope) -> Desk:
    return Desk(evolve(desk.account, envelope), desk.policies, desk.figures)


React = Callable[[Desk, Envelope], list[Event]]


def _claim(desk: Desk, envelope: Envelope) -> ClaimDunning | None:
    if desk.account is None:
        return None
    return desk.account.claim(envelope.data.claim_id)


def _schedule(desk, claim, envelope, reason: str, track=None, steps=None) -> list[Event]:
    policy = desk.policies.at(envelope.time)
    account = desk.account
    if steps is None:
        planned = new_plan(policy, account, claim, envelope.time)
        if planned is None:
            return _stop(claim, envelope, "insolvency") if account.segment in NEVER_CHASED else []
        track, steps = planned.track.id, planned.steps
    return [
        DunningPlanScheduled(
            claim_id=claim.claim_id,
            revision=claim.revision + 1,
            steps=steps,
            reason=reason,
            policy_id=policy.id,
            policy_version=policy.version,
            track=track,
            max_reminders_per_stage=policy.max_reminders_per_stage,
            scheduled_at=envelope.time,
        )
    ]


def _stop(claim: ClaimDunning | None, envelope: Envelope, reason: str) -> list[Event]:
    if claim is None or not claim.chased:
        return []
    return [DunningStopped(claim_id=claim.claim_id, reason=reason, stopped_at=envelope.time)]


def _resume(claim, envelope, reason: str, steps: tuple[ScheduledStep, ...]):
    ledger = claim.ledger
    return [
        DunningResumed(
            claim_id=claim.claim_id,
            revision=claim.revision + 1,
            steps=shifted(steps, envelope.time, ledger.country, ledger.timezone),
            reason=reason,
            resumed_at=envelope.time,
        )
    ]


def _remaining(claim: ClaimDunning) -> tuple[ScheduledStep, ...]:
    return tuple(record.step for record in claim.pending)


def on_qualified(desk: Desk, envelope: Envelope) -> list[Event]:
    claim = _claim(desk, envelope)
    if claim is None or claim.revision or claim.ledger.closed:
        return []
    return _schedule(desk, claim, envelope, "claim_qualified")


def on_rejected(desk: Desk, envelope: Envelope) -> list[Event]:
    return _stop(_claim(desk, envelope), envelope, "claim_rejected")


def on_closed(reason: str) -> React:
    def react(desk: Desk, envelope: Envelope) -> list[Event]:
        return _stop(_claim(desk, envelope), envelope, reason)

    return react


def on_segment(reason: str) -> React:
    """The debtor's segment changed: each chased claim whose track it changes is re-planned
    (those on an agreed payment plan keep it); insolvency stops them all."""

    def react(desk: Desk, envelope: Envelope) -> list[Event]:
        account = desk.account
        if account is None:
            return []
        policy = desk.policies.at(envelope.time)
        events: list[Event] = []
        for claim in account.claims.values():
            if not claim.chased:
                continue
            if account.segment in NEVER_CHASED:
                events += _stop(claim, envelope, "insolvency")
                continue
            if claim.track == "payment_plan":
                continue
            track = track_for(policy, account, claim)
            if track is not None and track.id != claim.track:
                steps = full_plan(policy, account, claim, track, envelope.time)
                steps = consolidate(account, claim, steps, policy)
                events += _schedule(desk, claim, envelope, reason, track.id, steps)
        return events

    return react


def on_hardship(desk: Desk, envelope: Envelope) -> list[Event]:
    claim = _claim(desk, envelope)
    if claim is None or not claim.chased or claim.track in ("fragile_customer", "payment_plan"):
        return []
    policy = desk.policies.at(envelope.time)
    track = track_for(policy, desk.account, claim)
    if track is None:
        return []
    steps = full_plan(policy, desk.account, claim, track, envelope.time)
    steps = consolidate(desk.account, claim, steps, policy)
    return _schedule(desk, claim, envelope, "hardship_declared", track.id, steps)


def on_dispute_opened(desk: Desk, envelope: Envelope) -> list[Event]:
    """A dispute pauses the claim, unless it leaves enough undisputed to chase on its own."""
    claim = _claim(desk, envelope)
    if claim is None or claim.status != "active":
        return []
    return _dispute_pause(desk, claim, envelope)


def _dispute_pause(desk: Desk, claim: ClaimDunning, envelope: Envelope) -> list[Event]:
    dispute = claim.dispute
    if dispute is None:
        return []
    if not dispute.whole_claim and desk.figures is not None:
        policy = desk.policies.at(envelope.time)
        due = claim.ledger.amount_due(envelope.time.date(), desk.figures).total
        remainder = due - Decimal(dispute.disputed_amount)
        if policy.partial_dispute_min_remainder.reached_by(remainder, claim.ledger.currency):
            return []
    return [
        DunningPaused(
            claim_id=claim.claim_id,
            reason="dispute_opened",
            dispute_id=dispute.dispute_id,
            paused_at=envelope.time,
        )
    ]


#: Why a closed claim stops, by the ledger's status
_CLOSED_REASON = {
    "settled": "claim_settled",
    "written_off": "claim_written_off",
    "cancelled": "claim_cancelled",
    "rejected": "claim_rejected",
    "escalated": "escalated",
}


def on_own_plan(desk: Desk, envelope: Envelope) -> list[Event]:
    """When one of dunning's own plans is applied, what happened to the claim between its
    trigger and it: a reaction decided on the state before the plan existed (a claim settled,
    disputed, promised or re-segmented in the same batch as its qualification, a dispute opened
    during a promise's snooze) finds nothing chased and does nothing, so the plan catches up
    here, from the claim's facts at this point of the log."""
    claim = _claim(desk, envelope)
    if claim is None or envelope.data.revision != claim.revision or claim.status != "active":
        return []
    ledger, account = claim.ledger, desk.account
    if ledger.status in _CLOSED_REASON:
        return _stop(claim, envelope, _CLOSED_REASON[ledger.status])
    if account.segment in NEVER_CHASED:
        return _stop(claim, envelope, "insolvency")
    if claim.track != "payment_plan":
        if ledger.plan_id is not None and ledger.plan_defaulted_on is None and claim.installments:
            policy = desk.policies.at(envelope.time)
            steps = installment_reminders(policy, account, claim, claim.installments, envelope.time)
            return _schedule(desk, claim, envelope, "payment_plan_agreed", "payment_plan", steps)
        policy = desk.policies.at(envelope.time)
        track = track_for(policy, account, claim)
        if track is not None and track.id != claim.track:
            reason = "hardship_declared" if claim.hardship else "risk_assessed"
            steps = consolidate(
                account, claim, full_plan(policy, account, claim, track, envelope.time), policy
            )
            return _schedule(desk, claim, envelope, reason, track.id, steps)
    paused = _dispute_pause(desk, claim, envelope)
    if paused:
        return paused
    if claim.promised_until is not None and claim.promised_until >= envelope.time.date():
        return _snooze(claim, envelope)
    return []


def _paused_by_dispute(claim: ClaimDunning | None, dispute_id) -> bool:
    return (
        claim is not None
        and claim.pause is not None
        and claim.pause.reason == "dispute_opened"
        and claim.pause.dispute_id == str(dispute_id)
    )


def on_dispute_resolved(desk: Desk, envelope: Envelope) -> list[Event]:
    claim = _claim(desk, envelope)
    event: DisputeResolved = envelope.data
    if claim is None or not claim.chased:
        return []
    if event.outcome in ("upheld", "reissued") and event.whole_claim:
        return _stop(claim, envelope, "dispute_upheld")
    if not _paused_by_dispute(claim, event.dispute_id):
        return []
    reason = "dispute_rejected" if event.outcome == "rejected" else "partial_dispute_resolved"
    return _resume(claim, envelope, reason, _remaining(claim))


def on_dispute_withdrawn(desk: Desk, envelope: Envelope) -> list[Event]:
    claim = _claim(desk, envelope)
    if not _paused_by_dispute(claim, envelope.data.dispute_id):
        return []
    return _resume(claim, envelope, "dispute_withdrawn", _remaining(claim))


def on_promise(desk: Desk, envelope: Envelope) -> list[Event]:
    """A promise snoozes chasing until the promised day plus its grace."""
    claim = _claim(desk, envelope)
    if claim is None or claim.status != "active" or claim.track == "payment_plan":
        return []
    return _snooze(claim, envelope)


def _snooze(claim: ClaimDunning, envelope: Envelope) -> list[Event]:
    return [
        DunningPaused(
            claim_id=claim.claim_id,
            reason="promise_to_pay",
            until=claim.promised_until,
            paused_at=envelope.time,
        )
    ]


def on_promise_broken(desk: Desk, envelope: Envelope) -> list[Event]:
    claim = _claim(desk, envelope)
    if claim is None or claim.pause is None or claim.pause.reason != "promise_to_pay":
        return []
    ledger = claim.ledger
    steps = shifted(
        firmer(_remaining(claim), claim), envelope.time, ledger.country, ledger.timezone
    )
    return _schedule(desk, claim, envelope, "promise_broken", claim.track, steps)


def on_plan_agreed(desk: Desk, envelope: Envelope) -> list[Event]:
    claim = _claim(desk, envelope)
    event: PaymentPlanAgreed = envelope.data
    if claim is None or not claim.chased:
        return []
    policy = desk.policies.at(envelope.time)
    steps = installment_reminders(policy, desk.account, claim, event.installments, envelope.time)
    return _schedule(desk, claim, envelope, "payment_plan_agreed", "payment_plan", steps)


def on_plan_defaulted(desk: Desk, envelope: Envelope) -> list[Event]:
    """The track the claim followed before the plan, from one stage firmer than it reached."""
    claim = _claim(desk, envelope)
    if claim is None or not claim.chased:
        return []
    policy = desk.policies.at(envelope.time)
    track = track_for(policy, desk.account, claim)
    if track is None:
        return _stop(claim, envelope, "insolvency")
    whole = full_plan(policy, desk.account, claim, track, claim.registered_at)
    ledger = claim.ledger
    steps = shifted(firmer(whole, claim), envelope.time, ledger.country, ledger.timezone)
    return _schedule(desk, claim, envelope, "payment_plan_defaulted", track.id, steps)


def on_communication_failed(desk: Desk, envelope: Envelope) -> list[Event]:
    """The step goes again on the next channel of its fallback list, at the next contact time;
    with none left it is skipped."""
    claim = _claim(desk, envelope)
    event: CommunicationFailed = envelope.data
    if claim is None or claim.status != "active" or event.step is None:
        return []
    record = claim.step(event.step, event.revision)
    if record is None or record.status != "done" or record.channel != event.channel:
        return []
    channels = record.step.channels
    left = channels[channels.index(event.channel) + 1 :] if event.channel in channels else ()
    if not left:
        return [
            DunningStepSkipped(
                claim_id=claim.claim_id,
                revision=record.revision,
                step=record.step.key,
                reason="no_channel_left",
                skipped_at=envelope.time,
            )
        ]
    again = record.step.model_copy(update={"channels": left})
    ledger = claim.ledger
    steps = shifted((again, *_remaining(claim)), envelope.time, ledger.country, ledger.timezone)
    return [
        DunningRescheduled(
            claim_id=claim.claim_id,
            revision=claim.revision + 1,
            steps=steps,
            reason="channel_failed",
            step=record.step.key,
            rescheduled_at=envelope.time,
        )
    ]


TABLE: dict[type[Event], React] = {
    ClaimQualified: on_qualified,
    ClaimRejected: on_rejected,
    ClaimSettled: on_closed("claim_settled"),
    ClaimWrittenOff: on_closed("claim_written_off"),
    ClaimCancelled: on_closed("claim_cancelled"),
    RiskAssessed: on_segment("risk_assessed"),
    SegmentOverridden: on_segment("segment_overridden"),
    InsolvencyRecorded: on_segment("risk_assessed"),
    HardshipDeclared: on_hardship,
    DisputeOpened: on_dispute_opened,
    DisputeResolved: on_dispute_resolved,
    DisputeWithdrawn: on_dispute_withdrawn,
    PromiseToPayRecorded: on_promise,
    PromiseBroken: on_promise_broken,
    PaymentPlanAgreed: on_plan_agreed,
    PaymentPlanDefaulted: on_plan_defaulted,
    CommunicationFailed: on_communication_failed,
    DunningPlanScheduled: on_own_plan,
    DunningResumed: on_own_plan,
    DunningRescheduled: on_own_plan,
}
