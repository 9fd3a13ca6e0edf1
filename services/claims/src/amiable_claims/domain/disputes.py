"""What a dispute's resolution does to its claim: claims' reaction to the disputes service's
``DisputeResolved``, pure, over the debtor account's state (``domain.proceedings``), which
holds the claim as its own fold has it at that point of the log.

- ``upheld`` on the whole claim, and ``reissued`` (a new invoice replaces it): the claim is
  cancelled;
- ``upheld`` on a part (``disputed_amount``) and ``partially_upheld`` (``accepted_amount``): the
  claim is reduced by that amount, or cancelled when the amount covers all of its unpaid
  principal;
- ``rejected``: nothing; nor on a claim already closed, or already reduced by this dispute.

The credit note's reference is ``dispute:<dispute_id>``. The reason, which a person's command
gives as sealed free text, is written in clear here: a reaction cannot seal, and this one is a
fixed text that names the dispute, never a person (readers give clear text as it is).
"""

from __future__ import annotations

from decimal import Decimal

from amiable_claims.domain.proceedings import DebtorAccount, followed_claim
from amiable_claims.domain.state import Claim
from amiable_events.base import Event
from amiable_events.claims import ClaimAdjusted, ClaimCancelled
from amiable_events.disputes import DisputeResolved
from amiable_events.envelope import Envelope

_OUTCOME_WORDS = {
    "upheld": "upheld",
    "partially_upheld": "partially upheld",
    "reissued": "resolved by a new invoice",
}


def credit_note_reference(resolution: DisputeResolved) -> str:
    return f"dispute:{resolution.dispute_id}"


def reason(resolution: DisputeResolved) -> str:
    return f"dispute {resolution.dispute_id} {_OUTCOME_WORDS[resolution.outcome]}"


def reduction(resolution: DisputeResolved) -> Decimal | None:
    """By how much the resolution reduces the claim, unless it cancels it (None)."""
    if resolution.outcome == "upheld" and not resolution.whole_claim:
        return resolution.disputed_amount
    if resolution.outcome == "partially_upheld":
        return resolution.accepted_amount
    return None


def resolve(claim: Claim | None, resolution: DisputeResolved) -> list[Event]:
    """The events ``resolution`` causes on ``claim`` (its state right after the resolution)."""
    reference = credit_note_reference(resolution)
    if claim is None or claim.closed or resolution.outcome == "rejected":
        return []
    if resolution.currency != claim.currency:
        return []  # an amount in another currency cannot reduce this claim
    if any(c.credit_note_reference == reference for c in claim.credits):
        return []  # the same dispute appended twice under two ids reduces the claim once
    amount = reduction(resolution)
    cancels = resolution.outcome == "reissued" or (
        resolution.outcome == "upheld" and resolution.whole_claim
    )
    if not cancels:
        if amount is None or amount <= 0:
            return []  # the debtor was right about nothing the claim could lose
        if amount < claim.unpaid_principal:
            return [
                ClaimAdjusted(
                    claim_id=claim.claim_id,
                    amount=amount,
                    credit_note_reference=reference,
                    reason=reason(resolution),
                    adjusted_on=claim.local_date(resolution.resolved_at),
                    adjusted_at=resolution.resolved_at,
                )
            ]
    return [
        ClaimCancelled(
            claim_id=claim.claim_id,
            reason=reason(resolution),
            credit_note_reference=reference,
            cancelled_at=resolution.resolved_at,
            reissued_as=resolution.new_invoice_number if resolution.outcome == "reissued" else None,
        )
    ]


def on_resolution(state: DebtorAccount, envelope: Envelope) -> list[Event]:
    resolution: DisputeResolved = envelope.data
    return resolve(followed_claim(state, resolution.claim_id), resolution)


REACTIONS = {DisputeResolved: on_resolution}
