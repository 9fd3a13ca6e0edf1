"""The claims command table: every command on an existing claim and the pure decider that
handles it, all with the one signature ``decide(claim, command, context)``.

A route builds one of these commands and hands it to the command bus; nothing else decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from uuid import UUID

from amiable_claims import domain
from amiable_claims.domain import (
    AgreePaymentPlan,
    AmendClaim,
    Claim,
    Policy,
    RecordPayment,
    RecordPromise,
)
from amiable_events.commands import Context, Decider


@dataclass(frozen=True)
class RequalifyClaim:
    duplicate_of: UUID | None = None


@dataclass(frozen=True)
class WriteOffClaim:
    reason: str


@dataclass(frozen=True)
class CancelClaim:
    reason: str
    credit_note_reference: str | None = None


@dataclass(frozen=True)
class AdjustClaim:
    amount: Decimal
    credit_note_reference: str
    reason: str | None = None


@dataclass(frozen=True)
class AcknowledgeDebt:
    acknowledged_on: date
    reference: str | None = None


def deciders(policy: Policy) -> dict[type, Decider]:
    """Command type -> decider, with the service's policy bound."""

    def amend(claim: Claim, command: AmendClaim, context: Context):
        return domain.decide_amendment(claim, command, now=context.now)

    def requalify(claim: Claim, command: RequalifyClaim, context: Context):
        return domain.decide_qualification(
            claim, now=context.now, policy=policy, duplicate_of=command.duplicate_of
        )

    def pay(claim: Claim, command: RecordPayment, context: Context):
        return domain.decide_payment(
            claim, command, now=context.now, new_id=context.new_id, policy=policy
        )

    def plan(claim: Claim, command: AgreePaymentPlan, context: Context):
        return domain.decide_payment_plan(
            claim, command, now=context.now, new_id=context.new_id, policy=policy
        )

    def promise(claim: Claim, command: RecordPromise, context: Context):
        return domain.decide_promise(
            claim, command, now=context.now, new_id=context.new_id, policy=policy
        )

    def write_off(claim: Claim, command: WriteOffClaim, context: Context):
        return domain.decide_write_off(claim, command.reason, now=context.now)

    def cancel(claim: Claim, command: CancelClaim, context: Context):
        return domain.decide_cancel(
            claim, command.reason, command.credit_note_reference, now=context.now
        )

    def adjust(claim: Claim, command: AdjustClaim, context: Context):
        return domain.decide_adjustment(
            claim,
            command.amount,
            command.credit_note_reference,
            command.reason,
            now=context.now,
            policy=policy,
        )

    def acknowledge(claim: Claim, command: AcknowledgeDebt, context: Context):
        return domain.decide_acknowledgement(
            claim, command.acknowledged_on, command.reference, now=context.now
        )

    return {
        AmendClaim: amend,
        RequalifyClaim: requalify,
        RecordPayment: pay,
        AgreePaymentPlan: plan,
        RecordPromise: promise,
        WriteOffClaim: write_off,
        CancelClaim: cancel,
        AdjustClaim: adjust,
        AcknowledgeDebt: acknowledge,
    }
