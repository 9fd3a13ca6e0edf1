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


def _changes(kind: type, *, active_only: bool = True):
    """Register ``changes(event, dispute) -> fields`` as the fold of ``kind``: an event about a
    dispute the file does not hold, or (``active_only``) one already closed, changes nothing
    (a late or redelivered event)."""

    def register(changes):
        def apply(event, file: ClaimFile) -> ClaimFile:
            dispute = file.dispute(str(event.dispute_id))
            if dispute is None or (active_only and not dispute.active):
                return file
            return file.with_dispute(dispute.model_copy(update=changes(event, dispute)))

        _evolve.register(kind, apply)
        return changes

    return register


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


@_changes(DisputeAssigned)
def _(event: DisputeAssigned, dispute: Dispute):
    status = "under_review" if dispute.status == "open" else dispute.status
    return {"assignee": event.assignee, "status": status}


@_changes(DisputeEscalatedToMediation)
def _(event: DisputeEscalatedToMediation, dispute: Dispute):
    return {
        "status": "mediation",
        "mediator": event.mediator,
        "mediated": True,
        "escalated_automatically": dispute.escalated_automatically or event.automatic,
    }


@_changes(DisputeCommented, active_only=False)
def _(event: DisputeCommented, dispute: Dispute):
    return {"comments": dispute.comments + 1}


@_changes(DisputeReclassified)
def _(event: DisputeReclassified, dispute: Dispute):
    if event.to_reason == HARDSHIP:
        return {"reason": HARDSHIP, "status": "hardship", "closed_at": event.reclassified_at}
    return {"reason": event.to_reason}


@_changes(DisputeResolved)
def _(event: DisputeResolved, dispute: Dispute):
    return {
        "status": "resolved",
        "outcome": event.outcome,
        "accepted_amount": event.accepted_amount,
        "new_invoice_number": event.new_invoice_number,
        "resolution_note": event.resolution_note,
        "closed_at": event.resolved_at,
    }


@_changes(DisputeWithdrawn)
def _(event: DisputeWithdrawn, dispute: Dispute):
    return {"status": "withdrawn", "closed_at": event.withdrawn_at}


@_changes(DisputeSlaBreached, active_only=False)
def _(event: DisputeSlaBreached, dispute: Dispute):
    if event.which in dispute.breaches:
        return {}
    return {"breaches": (*dispute.breaches, event.which)}


@_evolve.register
def _(event: LimitationApproaching, file):
    file = file.model_copy(update={"prescription_warned": event.prescription_date})
    active = file.active
    if active is None:
        return file
    return file.with_dispute(active.model_copy(update={"limitation_at_risk": True}))
