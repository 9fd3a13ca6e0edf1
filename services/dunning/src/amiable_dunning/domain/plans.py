"""From the policy and a claim's state to the steps of a plan: a new plan, the steps left after
a pause (dated again), one stage firmer after a broken promise, the reminders of a payment
plan, and the alignment of an account's reminders (consolidation). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import get_args

from amiable_dunning.domain.policy import REMINDERS, Policy, Track
from amiable_dunning.domain.schedule import (
    ClaimFacts,
    PlannedStep,
    add_business_days,
    business_days_between,
    choose_track,
    contact_time,
    plan,
)
from amiable_dunning.domain.state import Account, ClaimDunning
from amiable_events.dunning import ScheduledStep, Stage
from amiable_rules.business_days import next_business_day
from amiable_rules.local_time import zone

STAGES: tuple[Stage, ...] = get_args(Stage)


@dataclass(frozen=True)
class Planned:
    track: Track
    steps: tuple[ScheduledStep, ...]


def facts(account: Account, claim: ClaimDunning) -> ClaimFacts:
    ledger = claim.ledger
    return ClaimFacts(
        amount=ledger.amount,
        currency=ledger.currency,
        issued_on=ledger.issued_on,
        due_on=ledger.due_on,
        segment=account.segment,
        tenant=account.tenant,
    )


def track_for(policy: Policy, account: Account, claim: ClaimDunning) -> Track | None:
    ledger = claim.ledger
    return choose_track(
        policy,
        account.segment,
        claim.hardship,
        ledger.amount,
        ledger.currency,
        rejected=ledger.status == "rejected",
    )


def _scheduled(track: Track, planned: list[PlannedStep]) -> tuple[ScheduledStep, ...]:
    stage_of = dict(zip((s.key for s in track.steps), track.stages(), strict=True))
    return tuple(
        ScheduledStep(
            key=p.step.key,
            action=p.step.action,
            channels=p.step.channels,
            template=p.step.template,
            tone=p.tone,
            solution_first=p.solution_first,
            contact_role=p.step.contact_role,
            stage=stage_of[p.step.key],
            planned_on=p.day,
            at=p.at,
            needs_approval=p.step.needs_approval,
            review=p.step.review,
            payment_deadline_days=p.step.payment_deadline_days,
            caught_up=p.caught_up,
        )
        for p in planned
    )


def full_plan(
    policy: Policy, account: Account, claim: ClaimDunning, track: Track, now: datetime
) -> tuple[ScheduledStep, ...]:
    """The track's steps from its anchors, those before ``now`` left out (with a reminder
    brought forward when a formal notice would otherwise come first; none when one went out
    already)."""
    ledger = claim.ledger
    planned = plan(policy, track, facts(account, claim), now, ledger.country, ledger.timezone)
    steps = _scheduled(track, planned)
    if any(r.step.action in REMINDERS for r in claim.sent):
        steps = tuple(s for s in steps if not s.caught_up)
    return steps


def new_plan(
    policy: Policy, account: Account, claim: ClaimDunning, now: datetime
) -> Planned | None:
    """The plan the policy gives the claim now, or None when it is not chased."""
    track = track_for(policy, account, claim)
    if track is None:
        return None
    # The first plan counts from the registration: a claim imported late catches up from there.
    since = claim.registered_at if claim.revision == 0 else now
    return Planned(
        track, consolidate(account, claim, full_plan(policy, account, claim, track, since), policy)
    )


def shifted(steps: tuple[ScheduledStep, ...], start: datetime, country: str, timezone: str):
    """The steps dated again so that the first is not before ``start``, each keeping its
    business-day spacing from the first and its local time of day. Steps already after
    ``start`` keep their dates."""
    if not steps or steps[0].at >= start:
        return steps
    tz = zone(timezone)
    first = steps[0]
    local_start = start.astimezone(tz)
    day = next_business_day(local_start.date(), country)
    if day == local_start.date() and local_start.time() > first.at.astimezone(tz).time():
        day = next_business_day(day + timedelta(days=1), country)
    out = []
    for step in steps:
        gap = business_days_between(first.planned_on, step.planned_on, country)
        new_day = add_business_days(day, gap, country) if gap else day
        local_time = step.at.astimezone(tz).time()
        at = datetime.combine(new_day, local_time, tz).astimezone(first.at.tzinfo)
        out.append(step.model_copy(update={"planned_on": new_day, "at": at}))
    return tuple(out)


def firmer(steps: tuple[ScheduledStep, ...], claim: ClaimDunning) -> tuple[ScheduledStep, ...]:
    """The steps from one stage firmer than the claim reached, at least ``firm``; never the
    formal notice before a reminder went out."""
    reached = claim.stage_reached() or "amicable"
    target = STAGES[min(STAGES.index(reached) + 1, len(STAGES) - 1)]
    if target in ("formal_notice", "after_formal_notice") and not any(
        r.step.action in REMINDERS for r in claim.sent
    ):
        target = "firm"
    kept = tuple(s for s in steps if STAGES.index(s.stage) >= STAGES.index(target))
    return kept or steps


def start_of_day_after(day, timezone: str) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), zone(timezone))


def installment_reminders(
    policy: Policy, account: Account, claim: ClaimDunning, installments, now: datetime
) -> tuple[ScheduledStep, ...]:
    """A courteous email three business days before each instalment, and one the business day
    after it (skipped when it is paid): the debtor's own schedule, no escalation."""
    ledger = claim.ledger
    culture = policy.culture_for(ledger.country, account.tenant)
    hours = policy.contact_hours_for(ledger.country)
    out = []
    for index, installment in enumerate(installments):
        for key, offset, template in (
            ("before", -3, "plan.installment_before"),
            ("after", 1, "plan.installment_after"),
        ):
            day = add_business_days(installment.due_on, offset, ledger.country)
            at = contact_time(day, ledger.timezone, hours)
            if at <= now:
                continue
            out.append(
                ScheduledStep(
                    key=f"installment_{index + 1}_{key}",
                    action="email",
                    channels=("email",),
                    template=template,
                    tone="courteous" if key == "before" else culture.tone,
                    solution_first=culture.solution_first,
                    contact_role="accounts_payable",
                    stage="amicable",
                    planned_on=day,
                    at=at,
                    installment=index,
                )
            )
    return tuple(sorted(out, key=lambda s: s.at))


def consolidate(
    account: Account, claim: ClaimDunning, steps: tuple[ScheduledStep, ...], policy: Policy
) -> tuple[ScheduledStep, ...]:
    """Each reminder moves onto the day of another claim's reminder for the same account when
    one falls within the policy's window, so the debtor hears from us once for both. Never
    before the claim's due date for an overdue reminder, and never out of the track's order."""
    window = policy.consolidation_window_business_days
    if not window:
        return steps
    country = claim.ledger.country
    others = sorted(
        {
            record.step.at: record.step
            for other in account.claims.values()
            if other.claim_id != claim.claim_id and other.chased
            for record in other.pending
            if record.step.action in REMINDERS
        }.values(),
        key=lambda s: s.at,
    )
    out = list(steps)
    for index, step in enumerate(out):
        if step.action not in REMINDERS:
            continue
        floor = out[index - 1].planned_on if index else None
        ceiling = out[index + 1].planned_on if index + 1 < len(out) else None
        if step.planned_on > claim.ledger.due_on:
            floor = max(floor or claim.ledger.due_on, claim.ledger.due_on + timedelta(days=1))
        for other in others:
            if floor is not None and other.planned_on < floor:
                continue
            if ceiling is not None and other.planned_on > ceiling:
                continue
            apart = abs(
                business_days_between(
                    min(other.planned_on, step.planned_on),
                    max(other.planned_on, step.planned_on),
                    country,
                )
            )
            if apart <= window:
                out[index] = step.model_copy(
                    update={"planned_on": other.planned_on, "at": other.at}
                )
                break
    # a letter and its email copy planned the same day stay together
    for index in range(1, len(out)):
        if steps[index].planned_on == steps[index - 1].planned_on:
            out[index] = out[index].model_copy(
                update={"planned_on": out[index - 1].planned_on, "at": out[index - 1].at}
            )
    return tuple(out)
