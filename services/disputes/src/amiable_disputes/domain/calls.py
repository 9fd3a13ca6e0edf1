"""A dispute an agent's call raised: the disputes service's reaction to communications'
``CallOutcomeRecorded`` with outcome ``dispute_raised``, pure, over the claim's file.

The outcome opens a dispute as ``POST /v1/disputes`` would (``decide.decide_open``, the same
rules): raised by an agent, on the outcome's amount (none: everything due), its description the
call's notes (sealed with the debtor account's key, as they came), at the time the outcome was
recorded. A reason the service does not know opens the dispute as ``other``;
``cash_flow_difficulty`` declares a hardship, as through the API. What the rules refuse (the
claim closed, rejected or unknown here, a dispute already active, nothing due, an amount above
what is due) opens nothing, and no event says so: the outcome itself is on the claim's
timeline, and a person can open the dispute by hand.

The dispute's id derives from the outcome event's id, so a replayed or re-appended outcome
names the dispute it already opened.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import get_args
from uuid import UUID

from amiable_disputes.domain.commands import OpenDispute
from amiable_disputes.domain.decide import decide_open
from amiable_disputes.domain.evolve import evolve
from amiable_disputes.domain.state import ClaimFile, Policy
from amiable_events.commands import Context
from amiable_events.communications import CallOutcomeRecorded
from amiable_events.disputes import DisputeReason
from amiable_events.envelope import Envelope
from amiable_events.errors import ApplicationError
from amiable_events.ids import keyed_id

REASONS: frozenset[str] = frozenset(get_args(DisputeReason))
#: What a call's unknown reason opens as
OTHER: DisputeReason = "other"


def reason_of(code: str) -> DisputeReason:
    return code if code in REASONS else OTHER  # type: ignore[return-value]


def dispute_id(tenant: str, claim_id: UUID, outcome_id: UUID) -> UUID:
    return keyed_id(tenant, "dispute", str(claim_id), "call-outcome", str(outcome_id))


def opened_by_call(file: ClaimFile | None, envelope: Envelope, policy: Policy) -> list:
    """What the call outcome ``envelope`` opens on ``file`` (its state right after it)."""
    outcome: CallOutcomeRecorded = envelope.data
    raised = outcome.dispute
    if file is None or outcome.outcome != "dispute_raised" or raised is None:
        return []
    command = OpenDispute(
        claim_id=outcome.claim_id,
        dispute_id=dispute_id(envelope.tenant, outcome.claim_id, envelope.id),
        reason=reason_of(raised.reason),
        raised_by="agent",
        disputed_amount=raised.amount,
        description=outcome.notes,
    )
    context = Context(tenant=envelope.tenant, now=outcome.recorded_at, policy=policy)
    try:
        return decide_open(file, command, context)
    except ApplicationError:
        return []


@dataclass(frozen=True)
class CallDesk:
    """A claim's file as the reactions see it within a batch: with the dispute each earlier call
    outcome of the batch opened folded in, though that ``DisputeOpened`` comes back from the log
    only after the batch; so two calls in one batch open one dispute, as two in two batches do.
    ``last``: the call outcome just folded, whose own reaction is still to run."""

    file: ClaimFile | None
    last: Envelope | None = None


def unwrapped(state: CallDesk | ClaimFile | None) -> ClaimFile | None:
    return state.file if isinstance(state, CallDesk) else state


def evolve_desk(policy: Policy):
    def evolve_(state: CallDesk | ClaimFile | None, envelope: Envelope) -> CallDesk:
        file = unwrapped(state)
        last = state.last if isinstance(state, CallDesk) else None
        if last is not None:
            for event in opened_by_call(file, last, policy):
                file = evolve(file, replace(last, data=event))
        file = evolve(file, envelope)
        return CallDesk(file, envelope if type(envelope.data) is CallOutcomeRecorded else None)

    return evolve_


def open_from_call(policy: Policy):
    def react(state: CallDesk | ClaimFile | None, envelope: Envelope) -> list:
        return opened_by_call(unwrapped(state), envelope, policy)

    return react
