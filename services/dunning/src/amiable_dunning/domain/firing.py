"""The timers an account's state needs, and the event each appends when it fires.

Decided here, from the state, not by the timer loop: a step due is sent, skipped (the debtor
paid since the claim's last step, the stage has had its reminders, an instalment is paid) or
put before a person; a promise's snooze that runs out resumes chasing. The projection writes
these with the state they come from, so the event a timer appends is always the one the latest
state calls for, and a rebuild writes the same rows. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from amiable_dunning.domain.plans import shifted, start_of_day_after
from amiable_dunning.domain.policy import REMINDERS
from amiable_dunning.domain.state import Account, ClaimDunning, StepRecord
from amiable_events.base import Event
from amiable_events.dunning import (
    DunningApprovalRequested,
    DunningResumed,
    DunningStepDue,
    DunningStepSkipped,
)
from amiable_events.ids import keyed_id
from amiable_events.ledger import Figures

STEP = "step"
SNOOZE = "snooze"


@dataclass(frozen=True)
class Timer:
    timer_id: str
    due_at: datetime
    claim_id: str
    kind: str
    event: Event


def step_timer_id(claim_id: str, revision: int, step: str) -> str:
    """Plan revision + step: a re-planned step is another timer, so nothing fires twice."""
    return f"dunning:{claim_id}:{revision}:{step}"


def snooze_timer_id(claim_id: str, revision: int) -> str:
    return f"snooze:{claim_id}:{revision}"


def timers(account: Account, figures: Figures) -> list[Timer]:
    """Every timer the account's claims need now."""
    groups = _groups(account)
    out = []
    for claim in account.claims.values():
        if claim.status == "active":
            for record in claim.steps:
                if record.status == "planned":
                    out.append(
                        Timer(
                            step_timer_id(claim.claim_id, record.revision, record.step.key),
                            record.step.at,
                            claim.claim_id,
                            STEP,
                            _outcome(account, claim, record, figures, groups),
                        )
                    )
        resumed = snooze_over(claim)
        if resumed is not None:
            out.append(
                Timer(
                    snooze_timer_id(claim.claim_id, claim.revision),
                    resumed.resumed_at,
                    claim.claim_id,
                    SNOOZE,
                    resumed,
                )
            )
    return out


def snooze_over(claim: ClaimDunning) -> DunningResumed | None:
    """The end of a promise's snooze: chasing resumes where it stood, dated again from then.
    A day after the grace ends, so that claims' broken-promise check (at the start of the day
    after the grace, UTC) comes first: a broken promise resumes one stage firmer instead."""
    pause = claim.pause
    if claim.status != "paused" or pause is None or pause.until is None:
        return None
    ledger = claim.ledger
    start = start_of_day_after(pause.until + timedelta(days=1), ledger.timezone)
    steps = tuple(record.step for record in claim.pending)
    return DunningResumed(
        claim_id=claim.claim_id,
        revision=claim.revision + 1,
        steps=shifted(steps, start, ledger.country, ledger.timezone),
        reason="promise_period_over",
        resumed_at=start,
    )


def _groups(account: Account) -> dict[datetime, list[ClaimDunning]]:
    """The account's claims with a reminder planned at each instant: one statement each."""
    groups: dict[datetime, list[ClaimDunning]] = {}
    for claim in account.claims.values():
        if claim.status != "active":
            continue
        for at in {r.step.at for r in claim.steps if r.status == "planned" and _grouped(r)}:
            groups.setdefault(at, []).append(claim)
    for members in groups.values():
        members.sort(key=lambda c: (c.ledger.due_on, c.claim_id))
    return groups


def _grouped(record: StepRecord) -> bool:
    return record.step.action in REMINDERS and not record.step.needs_approval


def _skip(claim, record, reason) -> DunningStepSkipped:
    return DunningStepSkipped(
        claim_id=claim.claim_id,
        revision=record.revision,
        step=record.step.key,
        reason=reason,
        skipped_at=record.step.at,
    )


def _last_step_at(claim: ClaimDunning, record: StepRecord) -> datetime:
    """When the claim's dunning last did something before ``record``: planned it, or sent or
    skipped an earlier step."""
    times = [claim.planned_at] + [
        r.step.at
        for r in claim.steps
        if r.status in ("done", "skipped") and r.step.at < record.step.at
    ]
    return max(t for t in times if t is not None)


def _installment_paid(claim: ClaimDunning, index: int) -> bool:
    ledger = claim.ledger
    since = ledger.plan_agreed_on
    paid = sum(
        (m.amount for m in ledger.moves if m.kind == "payment" and since and m.on >= since),
        Decimal(0),
    )
    return paid >= sum((i.amount for i in claim.installments[: index + 1]), Decimal(0))


def _outcome(account, claim, record, figures, groups) -> Event:
    step = record.step
    if claim.track == "payment_plan":
        if step.installment is not None and _installment_paid(claim, step.installment):
            return _skip(claim, record, "paid_since_planned")
    else:
        if claim.paid_at is not None and claim.paid_at > _last_step_at(claim, record):
            return _skip(claim, record, "paid_since_planned")
        if (
            step.action in REMINDERS
            and claim.reminders_in(step.stage) >= claim.max_reminders_per_stage
            and not any(r.step.planned_on == step.planned_on for r in claim.sent)
        ):
            return _skip(claim, record, "stage_cap_reached")
    if step.needs_approval:
        return DunningApprovalRequested(
            claim_id=claim.claim_id,
            revision=record.revision,
            step=step.key,
            action=step.action,
            requested_at=step.at,
        )
    return step_due(
        account, claim, record, figures, groups.get(step.at) if _grouped(record) else None
    )


def step_due(
    account: Account,
    claim: ClaimDunning,
    record: StepRecord,
    figures: Figures,
    group: list[ClaimDunning] | None = None,
    approved_by: str | None = None,
) -> DunningStepDue:
    step = record.step
    if group:
        group_id = keyed_id("dunning-group", account.tenant, account.debtor_id, step.at.isoformat())
        members = tuple(c.claim_id for c in group)
    else:
        group_id = keyed_id("dunning-step", claim.claim_id, str(record.revision), step.key)
        members = (claim.claim_id,)
    amount_due = deadline = None
    if step.action == "formal_notice":
        amount_due = claim.ledger.itemised(step.planned_on, figures)
        deadline = step.planned_on + timedelta(days=step.payment_deadline_days or 8)
    return DunningStepDue(
        claim_id=claim.claim_id,
        revision=record.revision,
        step=step.key,
        action=step.action,
        channel=step.channels[0],
        fallback_channels=step.channels[1:],
        template=step.template,
        tone=step.tone,
        solution_first=step.solution_first,
        contact_role=step.contact_role,
        stage=step.stage,
        due_at=step.at,
        group_id=group_id,
        group=members,
        amount_due=amount_due,
        payment_deadline=deadline,
        installment=step.installment,
        approved_by=approved_by,
        review=step.review,
        disputed_amount=Decimal(claim.dispute.disputed_amount) if claim.dispute else None,
    )
