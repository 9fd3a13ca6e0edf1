"""A claim's file after one more event of the log: total (an event about a claim or a dispute
it never saw changes nothing), in log order, on event data only."""

from __future__ import annotations

from functools import singledispatch

from amiable_disputes.domain.state import ClaimFile, Dispute, local_day
from amiable_events.claims import LimitationApproaching
from amiable_events.disputes import EVENTS as DISPUTE_EVENTS
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
from amiable_events.envelope import Envelope
from amiable_events.ledger import FOLDED, fold

#: The events that change a claim's file; the projection skips every other.
FOLLOWS: frozenset[type] = frozenset({*FOLDED, *DISPUTE_EVENTS, LimitationApproaching})


def evolve(file: ClaimFile | None, envelope: Envelope) -> ClaimFile | None:
    event = envelope.data
    ledger = file.ledger if file is not None else None
    folded = fold(ledger, event, envelope.tenant)
    if folded is not ledger:
        return (file or ClaimFile(claim_id=folded.claim_id)).model_copy(update={"ledger": folded})
    if file is None:
        return None
    return _evolve(event, file)


@singledispatch
def _evolve(event: object, file: ClaimFile) -> ClaimFile:
    return file


def _update(file: ClaimFile, dispute_id, **changes) -> ClaimFile:
    dispute = file.dispute(str(dispute_id))
    if dispute is None:
        return file
    return file.with_dispute(dispute.model_copy(update=changes))


@_evolve.register
def _(event: DisputeOpened, file):
    if file.dispute(str(event.dispute_id)) is not None:
        return file
    warned = file.prescription_warned
    at_risk = warned is not None and warned >= local_day(file.ledger, event.opened_at)
    return file.with_dispute(
        Dispute(
            dispute_id=str(event.dispute_id),
            claim_id=str(event.claim_id),
            reason=event.reason,
            status="open",
            raised_by=event.raised_by,
            opened_at=event.opened_at,
            currency=event.currency,
            disputed_amount=event.disputed_amount,
            whole_claim=event.whole_claim,
            description=event.description,
            evidence=event.evidence,
            acknowledge_by=event.acknowledge_by,
            resolve_by=event.resolve_by,
            limitation_at_risk=at_risk,
        )
    )


@_evolve.register
def _(event: HardshipDeclared, file):
    existing = file.dispute(str(event.dispute_id))
    if existing is not None:  # a dispute reclassified as hardship: its reclassification closed it
        return file
    currency = file.ledger.currency if file.ledger else "EUR"
    return file.with_dispute(
        Dispute(
            dispute_id=str(event.dispute_id),
            claim_id=str(event.claim_id),
            reason=HARDSHIP,
            status="hardship",
            raised_by=event.raised_by,
            opened_at=event.declared_at,
            currency=currency,
            description=event.description,
            closed_at=event.declared_at,
        )
    )


@_evolve.register
def _(event: DisputeAssigned, file):
    dispute = file.dispute(str(event.dispute_id))
    if dispute is None or not dispute.active:
        return file
    status = "under_review" if dispute.status == "open" else dispute.status
    return _update(file, event.dispute_id, assignee=event.assignee, status=status)


@_evolve.register
def _(event: DisputeEscalatedToMediation, file):
    dispute = file.dispute(str(event.dispute_id))
    if dispute is None or not dispute.active:
        return file
    return _update(
        file,
        event.dispute_id,
        status="mediation",
        mediator=event.mediator,
        mediated=True,
        escalated_automatically=dispute.escalated_automatically or event.automatic,
    )


@_evolve.register
def _(event: DisputeCommented, file):
    dispute = file.dispute(str(event.dispute_id))
    if dispute is None:
        return file
    return _update(file, event.dispute_id, comments=dispute.comments + 1)


@_evolve.register
def _(event: DisputeReclassified, file):
    dispute = file.dispute(str(event.dispute_id))
    if dispute is None or not dispute.active:
        return file
    if event.to_reason == HARDSHIP:
        return _update(
            file,
            event.dispute_id,
            reason=HARDSHIP,
            status="hardship",
            closed_at=event.reclassified_at,
        )
    return _update(file, event.dispute_id, reason=event.to_reason)


@_evolve.register
def _(event: DisputeResolved, file):
    dispute = file.dispute(str(event.dispute_id))
    if dispute is None or not dispute.active:
        return file
    return _update(
        file,
        event.dispute_id,
        status="resolved",
        outcome=event.outcome,
        accepted_amount=event.accepted_amount,
        new_invoice_number=event.new_invoice_number,
        resolution_note=event.resolution_note,
        closed_at=event.resolved_at,
    )


@_evolve.register
def _(event: DisputeWithdrawn, file):
    dispute = file.dispute(str(event.dispute_id))
    if dispute is None or not dispute.active:
        return file
    return _update(file, event.dispute_id, status="withdrawn", closed_at=event.withdrawn_at)


@_evolve.register
def _(event: DisputeSlaBreached, file):
    dispute = file.dispute(str(event.dispute_id))
    if dispute is None or event.which in dispute.breaches:
        return file
    return _update(file, event.dispute_id, breaches=(*dispute.breaches, event.which))


@_evolve.register
def _(event: LimitationApproaching, file):
    file = file.model_copy(update={"prescription_warned": event.prescription_date})
    active = file.active
    if active is None:
        return file
    return _update(file, active.dispute_id, limitation_at_risk=True)
