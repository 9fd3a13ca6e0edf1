"""What an agent's call brings to its claim: claims' reaction to communications'
``CallOutcomeRecorded``, pure, over the debtor account's state (``domain.proceedings``), which
holds the claim as its own fold has it at that point of the log.

An outcome ``promise_to_pay`` records the promise (:class:`PromiseToPayRecorded`, source
``call``) under the rules of ``POST /v1/claims/{id}/promises`` (``decide.check_promise``),
judged on the debtor's local day of the call (``recorded_at``), with the grace days of the
setting. A promise the rules refuse (the claim closed or escalated, an amount above what is
due, a date already past) records nothing, and no event says so: the outcome itself is on the
claim's timeline, and the agent who recorded it can record the promise by hand once it is
right. Nor does the same promise again: an open promise of the same amount and date.

The promise's id derives from the outcome event's id, so a replayed or re-appended outcome
names the promise it already recorded.
"""

from __future__ import annotations

from uuid import UUID

from amiable_claims.domain.decide import check_promise
from amiable_claims.domain.proceedings import DebtorAccount, followed_claim
from amiable_claims.domain.state import Claim, Policy
from amiable_events.base import Event
from amiable_events.claims import PromiseToPayRecorded
from amiable_events.communications import CallOutcomeRecorded
from amiable_events.envelope import Envelope
from amiable_events.errors import ApplicationError
from amiable_events.ids import keyed_id


def promise_id(tenant: str, claim_id: UUID, outcome_id: UUID) -> UUID:
    return keyed_id(tenant, "promise", str(claim_id), "call-outcome", str(outcome_id))


def promise_from_call(
    claim: Claim | None, outcome: CallOutcomeRecorded, outcome_id: UUID, policy: Policy
) -> list[Event]:
    """The promise ``outcome`` records on ``claim`` (its state right after the outcome)."""
    promise = outcome.promise
    if claim is None or outcome.outcome != "promise_to_pay" or promise is None:
        return []
    if any(
        p.state == "open" and p.amount == promise.amount and p.promised_on == promise.date
        for p in claim.promises
    ):
        return []
    try:
        check_promise(
            claim, promise.amount, promise.date, claim.local_date(outcome.recorded_at), policy
        )
    except ApplicationError:
        return []
    return [
        PromiseToPayRecorded(
            claim_id=claim.claim_id,
            promise_id=promise_id(claim.tenant, claim.claim_id, outcome_id),
            amount=promise.amount,
            promised_on=promise.date,
            source_channel="call",
            grace_days=policy.promise_grace_days,
            recorded_at=outcome.recorded_at,
        )
    ]


def on_call_outcome(policy: Policy):
    def react(state: DebtorAccount, envelope: Envelope) -> list[Event]:
        outcome: CallOutcomeRecorded = envelope.data
        claim = followed_claim(state, outcome.claim_id)
        return promise_from_call(claim, outcome, envelope.id, policy)

    return react


def promised(envelope: Envelope) -> bool:
    """A trigger whose claim the reaction must read: an outcome with a promise."""
    event = envelope.data
    return type(event) is CallOutcomeRecorded and event.outcome == "promise_to_pay"
