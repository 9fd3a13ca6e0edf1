"""Pure deciders: the events a command entails on a claim's file, or an application error.

A dispute moves ``open`` -> ``under_review`` (assigned) -> optionally ``mediation`` -> ``resolved``
or ``withdrawn``; reclassified as a cash-flow difficulty it closes as ``hardship``. What each
status allows is :data:`ALLOWED`; anything else is a 409 that names it.
"""

from __future__ import annotations

from decimal import Decimal

from amiable_disputes.domain.commands import (
    TRANSITIONS,
    Assign,
    Comment,
    Mediate,
    OpenDispute,
    Reclassify,
    Resolve,
    Withdraw,
)
from amiable_disputes.domain.sla import deadlines
from amiable_disputes.domain.state import ClaimFile, Dispute, Policy, local_day
from amiable_events.commands import REPEATED, Context
from amiable_events.disputes import (
    HARDSHIP,
    DisputeAssigned,
    DisputeCommented,
    DisputeEscalatedToMediation,
    DisputeOpened,
    DisputeReclassified,
    DisputeResolved,
    DisputeSlaBreached,
    DisputeWithdrawn,
    HardshipDeclared,
)
from amiable_events.errors import Conflict, Invalid, NotFound
from amiable_rules.money import amount_error, quantize

_CLOSED = ("comments",)
ALLOWED: dict[str, tuple[str, ...]] = {
    "open": ("assign", "withdraw", "reclassify", "comments"),
    "under_review": ("assign", "mediation", "resolve", "withdraw", "reclassify", "comments"),
    "mediation": ("assign", "mediation", "resolve", "withdraw", "reclassify", "comments"),
    "resolved": _CLOSED,
    "withdrawn": _CLOSED,
    "hardship": _CLOSED,
}


def _policy(context: Context) -> Policy:
    return context.policy


def _dispute(file: ClaimFile, command) -> Dispute:
    """The dispute ``command`` names, once its status allows the command."""
    dispute = file.dispute(str(command.dispute_id))
    if dispute is None:
        raise NotFound(
            f"no dispute {command.dispute_id} for this tenant", title="Dispute not found"
        )
    allowed = ALLOWED[dispute.status]
    wanted = TRANSITIONS[type(command)]
    if wanted not in allowed:
        raise Conflict(
            f"a dispute {dispute.status.replace('_', ' ')} does not allow {wanted}; it allows: "
            + ", ".join(allowed),
            title="Transition not allowed",
            dispute_status=dispute.status,
            allowed=list(allowed),
        )
    return dispute


def _missed(dispute: Dispute, context: Context, *, closing: bool) -> list[DisputeSlaBreached]:
    """The deadlines this command finds passed and not yet recorded as breached: the timer that
    watches them fires only while the service runs, and an agent may act first. Appended after
    the command's own event, so the breach of a dispute being closed escalates nothing."""
    missed = []
    for which, due_at, applies in (
        ("acknowledge", dispute.acknowledge_by, dispute.status == "open"),
        ("resolve", dispute.resolve_by, closing),
    ):
        if (
            applies
            and due_at is not None
            and due_at <= context.now
            and which not in dispute.breaches
        ):
            missed.append(
                DisputeSlaBreached(
                    claim_id=dispute.claim_id,
                    dispute_id=dispute.dispute_id,
                    which=which,
                    due_at=due_at,
                )
            )
    return missed


def decide_open(file: ClaimFile, command: OpenDispute, context: Context):
    ledger = file.ledger
    if ledger is None:
        raise NotFound(f"no claim {command.claim_id} for this tenant", title="Claim not found")
    if ledger.closed or ledger.status == "rejected":
        raise Conflict(
            f"the claim is {ledger.status.replace('_', ' ')}: there is nothing to dispute",
            title="Claim not open",
            claim_status=ledger.status,
        )
    dispute_id = command.dispute_id
    if command.reason == HARDSHIP:
        if command.disputed_amount is not None:
            raise Invalid.field(
                "disputed_amount", "a cash-flow difficulty contests no amount: leave it out"
            )
        return [
            HardshipDeclared(
                claim_id=command.claim_id,
                dispute_id=dispute_id,
                description=command.description,
                raised_by=command.raised_by,
                declared_at=context.now,
            )
        ]
    active = file.active
    if active is not None:
        raise Conflict(
            f"dispute {active.dispute_id} is {active.status.replace('_', ' ')} on this claim",
            title="Claim already disputed",
            dispute_id=active.dispute_id,
        )
    due = ledger.amount_due(local_day(ledger, context.now), _policy(context).figures).total
    if due <= 0:
        raise Conflict("nothing is due on the claim", title="Nothing due")
    amount = due if command.disputed_amount is None else command.disputed_amount
    problem = amount_error(amount, ledger.currency)
    if problem is not None:
        raise Invalid.field("disputed_amount", problem)
    amount = quantize(amount, ledger.currency)  # "4" is 4.00 EUR, as claims writes amounts
    if amount > due:
        raise Invalid.field(
            "disputed_amount",
            f"exceeds the amount due, {format(due, 'f')} {ledger.currency}",
        )
    acknowledge_by, resolve_by = deadlines(ledger, context.now, _policy(context))
    return [
        DisputeOpened(
            claim_id=command.claim_id,
            dispute_id=dispute_id,
            reason=command.reason,
            disputed_amount=amount,
            currency=ledger.currency,
            whole_claim=amount == due,
            description=command.description,
            raised_by=command.raised_by,
            evidence=command.evidence,
            opened_at=context.now,
            acknowledge_by=acknowledge_by,
            resolve_by=resolve_by,
        )
    ]


def decide_assign(file: ClaimFile, command: Assign, context: Context):
    dispute = _dispute(file, command)
    if command.assignee == dispute.assignee:
        return REPEATED
    if command.assignee == dispute.mediator:
        raise Invalid.field("assignee", "is the dispute's mediator: a mediator does not review")
    return [
        DisputeAssigned(
            claim_id=file.claim_id,
            dispute_id=command.dispute_id,
            assignee=command.assignee,
            assigned_at=context.now,
        ),
        *_missed(dispute, context, closing=False),
    ]


def decide_mediate(file: ClaimFile, command: Mediate, context: Context):
    dispute = _dispute(file, command)
    if dispute.status == "mediation" and command.mediator == dispute.mediator:
        return REPEATED
    if command.mediator == dispute.assignee:
        raise Invalid.field("mediator", "must not be the dispute's assignee")
    return [
        DisputeEscalatedToMediation(
            claim_id=file.claim_id,
            dispute_id=command.dispute_id,
            mediator=command.mediator,
            escalated_at=context.now,
        )
    ]


def _check_outcome(dispute: Dispute, command: Resolve, invoice_number: str) -> None:
    accepted, number = command.accepted_amount, command.new_invoice_number
    if command.outcome == "partially_upheld":
        if accepted is None:
            raise Invalid.field("accepted_amount", "is required for partially_upheld")
        problem = amount_error(accepted, dispute.currency)
        if problem is not None:
            raise Invalid.field("accepted_amount", problem)
        if dispute.disputed_amount is not None and accepted >= dispute.disputed_amount:
            raise Invalid.field(
                "accepted_amount",
                f"must be less than the disputed {format(dispute.disputed_amount, 'f')} "
                f"{dispute.currency}; all of it is outcome upheld",
            )
    elif accepted is not None:
        raise Invalid.field("accepted_amount", "is only for partially_upheld")
    if command.outcome == "reissued":
        if number is None:
            raise Invalid.field("new_invoice_number", "is required for reissued")
        if number == invoice_number:
            raise Invalid.field("new_invoice_number", "is the disputed invoice's own number")
    elif number is not None:
        raise Invalid.field("new_invoice_number", "is only for reissued")


def decide_resolve(file: ClaimFile, command: Resolve, context: Context):
    dispute = _dispute(file, command)
    _check_outcome(dispute, command, file.ledger.invoice_number if file.ledger else "")
    return [
        DisputeResolved(
            claim_id=file.claim_id,
            dispute_id=command.dispute_id,
            outcome=command.outcome,
            accepted_amount=None
            if command.accepted_amount is None
            else quantize(command.accepted_amount, dispute.currency),
            new_invoice_number=command.new_invoice_number,
            resolution_note=command.resolution_note,
            disputed_amount=dispute.disputed_amount or Decimal(0),
            currency=dispute.currency,
            whole_claim=dispute.whole_claim,
            resolved_at=context.now,
        ),
        *_missed(dispute, context, closing=True),
    ]


def decide_withdraw(file: ClaimFile, command: Withdraw, context: Context):
    dispute = _dispute(file, command)
    return [
        DisputeWithdrawn(
            claim_id=file.claim_id,
            dispute_id=command.dispute_id,
            note=command.note,
            withdrawn_at=context.now,
        ),
        *_missed(dispute, context, closing=True),
    ]


def decide_comment(file: ClaimFile, command: Comment, context: Context):
    _dispute(file, command)
    return [
        DisputeCommented(
            claim_id=file.claim_id,
            dispute_id=command.dispute_id,
            comment=command.comment,
            commented_at=context.now,
        )
    ]


def decide_reclassify(file: ClaimFile, command: Reclassify, context: Context):
    dispute = _dispute(file, command)
    if command.reason == dispute.reason:
        return REPEATED
    events = [
        DisputeReclassified(
            claim_id=file.claim_id,
            dispute_id=command.dispute_id,
            from_reason=dispute.reason,
            to_reason=command.reason,
            note=command.note,
            reclassified_at=context.now,
        )
    ]
    if command.reason == HARDSHIP:
        events.append(
            HardshipDeclared(
                claim_id=file.claim_id,
                dispute_id=command.dispute_id,
                description=dispute.description,
                raised_by="agent",
                reclassified=True,
                declared_at=context.now,
            )
        )
    return [*events, *_missed(dispute, context, closing=command.reason == HARDSHIP)]


DECIDERS = {
    OpenDispute: decide_open,
    Assign: decide_assign,
    Mediate: decide_mediate,
    Resolve: decide_resolve,
    Withdraw: decide_withdraw,
    Comment: decide_comment,
    Reclassify: decide_reclassify,
}
