"""The timers a claim needs (instalment and promise grace periods, the limitation warning) and
the event each fires. Pure: the projector keeps the timer rows equal to :func:`desired_timers`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal
from uuid import UUID

from amiable_claims.domain.figures import (
    installments_paid,
    limitation_warning_on,
    prescription_date,
    promise_kept,
)
from amiable_claims.domain.state import Claim, Policy
from amiable_events.claims import (
    InstallmentMissed,
    LimitationApproaching,
    PaymentPlanDefaulted,
    PromiseBroken,
)


@dataclass(frozen=True)
class TimerSpec:
    timer_id: str
    kind: Literal["installment", "promise", "limitation"]
    due_at: datetime
    payload: dict


def _start_of(day: date) -> datetime:
    """Timers fall due at 00:00 UTC of the day after a grace period ends."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def _after_grace(day: date, grace_days: int) -> datetime:
    """The start of the day after ``grace_days`` past ``day``; a grace ending past the
    calendar's last day (a date of 9999 on the log) falls due on that last day, never, in
    practice, rather than failing the projection and parking the account."""
    try:
        return _start_of(day + timedelta(days=grace_days + 1))
    except OverflowError:
        return _start_of(date.max)


def desired_timers(claim: Claim, policy: Policy) -> list[TimerSpec]:
    """The timers a claim in this state must have pending; the projection keeps exactly these."""
    if claim.closed:
        return []
    specs = []
    plan = claim.plan
    if claim.plan_running:
        paid = installments_paid(claim)
        for index, installment in enumerate(plan.installments):
            if paid[index] or index in plan.missed:
                continue
            # Misses that will have happened before this one falls due: the instalments
            # already missed, and the earlier ones still unpaid (their timers fire first,
            # possibly in the same pass). The first miss is InstallmentMissed, the second
            # defaults the plan, later ones have nothing left to do.
            earlier_unpaid = sum(1 for j in range(index) if not paid[j] and j not in plan.missed)
            specs.append(
                TimerSpec(
                    f"installment:{plan.plan_id}:{index}",
                    "installment",
                    _after_grace(installment.due_on, plan.grace_days),
                    {
                        "claim_id": str(claim.claim_id),
                        "plan_id": str(plan.plan_id),
                        "installment": index,
                        "due_on": installment.due_on.isoformat(),
                        "misses_before": len(plan.missed) + earlier_unpaid,
                    },
                )
            )
    for promise in claim.promises:
        if promise.state != "open" or promise_kept(claim, promise):
            continue
        specs.append(
            TimerSpec(
                f"promise:{promise.promise_id}",
                "promise",
                _after_grace(promise.promised_on, promise.grace_days),
                {
                    "claim_id": str(claim.claim_id),
                    "promise_id": str(promise.promise_id),
                    "promised_on": promise.promised_on.isoformat(),
                    "amount": str(promise.amount),
                },
            )
        )
    if claim.status != "rejected":
        prescription = prescription_date(claim, policy)
        if claim.limitation_warned_for != prescription:
            specs.append(
                TimerSpec(
                    f"limitation:{claim.claim_id}:{prescription.isoformat()}",
                    "limitation",
                    _start_of(limitation_warning_on(claim, policy, prescription)),
                    {
                        "claim_id": str(claim.claim_id),
                        "prescription_date": prescription.isoformat(),
                    },
                )
            )
    return specs


def timer_event(kind: str, payload: dict, due_at: datetime):
    """The event a due timer emits, or None when there is nothing left to do. The projection
    cancels a timer as soon as it no longer applies (instalment paid, promise kept, claim
    closed), so a timer still pending is due."""
    claim_id = UUID(payload["claim_id"])
    if kind == "installment":
        if payload["misses_before"] >= 2:
            return None  # the plan defaulted at an earlier instalment
        event_type = PaymentPlanDefaulted if payload["misses_before"] else InstallmentMissed
        return event_type(
            claim_id=claim_id,
            plan_id=UUID(payload["plan_id"]),
            installment=payload["installment"],
            due_on=date.fromisoformat(payload["due_on"]),
        )
    if kind == "promise":
        return PromiseBroken(
            claim_id=claim_id,
            promise_id=UUID(payload["promise_id"]),
            promised_on=date.fromisoformat(payload["promised_on"]),
            amount=Decimal(payload["amount"]),
        )
    if kind == "limitation":
        prescription = date.fromisoformat(payload["prescription_date"])
        return LimitationApproaching(
            claim_id=claim_id,
            prescription_date=prescription,
            days_left=(prescription - due_at.date()).days,
        )
    raise ValueError(f"unknown timer kind {kind}")


#: Events that only a timer emits: applying one marks its timer fired.
TIMER_EVENTS = (InstallmentMissed, PaymentPlanDefaulted, PromiseBroken, LimitationApproaching)
