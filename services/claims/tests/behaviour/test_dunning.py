"""Claims under the dunning service's events: a handoff to litigation (``ClaimEscalated``)
moves the claim without claims appending anything, the tenant's policy events (key
``<tenant>:``, no claim) pass through the reactions' state without effect, and an escalated
claim, not being closed, is still cancelled by an upheld dispute.

Every test runs on the in-memory log and runner and on the real Kafka and PostgreSQL, marked
``integration``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from amiable_claims.domain.evolve import fold
from amiable_events.claims import ClaimCancelled
from amiable_events.disputes import DisputeResolved
from amiable_events.dunning import DunningPolicyActivated, DunningPolicyPublished
from amiable_events.envelope import Envelope
from tests.behaviour import backends
from tests.claims_givens import dunning_events, reacting_claims
from tests.factories import registered

CLAIMS = reacting_claims()

real_backend, backend = backends(CLAIMS)

AT = datetime(2026, 11, 20, 15, tzinfo=UTC)


@pytest.fixture
def tenant() -> str:
    return f"dunning-{uuid.uuid4().hex[:8]}"


def on_log(tenant: str, debtor_id: str, event) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        subject=event.subject,
        time=AT,
        tenant=tenant,
        debtor_id=debtor_id,
        correlation_id=uuid.uuid4(),
        data=event,
    )


async def caused_by(backend, trigger: Envelope) -> list[Envelope]:
    return [e for e in await backend.log() if e.causation_id == trigger.id]


async def test_dunning_and_its_policy_events_escalate_the_claim_and_cause_nothing(backend, tenant):
    claim = registered(1, tenant=tenant)
    policy = [
        on_log(tenant, "", event)  # a tenant event: key <tenant>:, an empty debtor id
        for event in (
            DunningPolicyPublished(
                tenant=tenant, policy_id="default", version="2", document={}, published_at=AT
            ),
            DunningPolicyActivated(
                tenant=tenant, policy_id="default", version="2", activated_at=AT
            ),
        )
    ]
    dunning = [on_log(tenant, claim.debtor_id, e) for e in dunning_events(claim.data.claim_id, AT)]
    await backend.given(claim, *policy, *dunning)

    for trigger in (*policy, *dunning):
        assert await caused_by(backend, trigger) == []
    state = fold([e for e in await backend.log() if e.subject == claim.subject])
    assert (state.status, state.escalated_on) == ("escalated", AT.date())


async def test_an_upheld_dispute_still_cancels_an_escalated_claim(backend, tenant):
    claim = registered(2, tenant=tenant)
    handoff = [on_log(tenant, claim.debtor_id, e) for e in dunning_events(claim.data.claim_id, AT)]
    upheld = on_log(
        tenant,
        claim.debtor_id,
        DisputeResolved(
            claim_id=claim.data.claim_id,
            dispute_id=uuid.uuid4(),
            outcome="upheld",
            resolution_note="pii:v1:sealed-note",
            disputed_amount=claim.data.amount,
            currency="EUR",
            whole_claim=True,
            resolved_at=AT,
        ),
    )
    await backend.given(claim, *handoff)
    await backend.given(upheld)

    (cancelled,) = await caused_by(backend, upheld)
    assert cancelled.type == ClaimCancelled.type
    state = fold([e for e in await backend.log() if e.subject == claim.subject])
    assert state.status == "cancelled"
