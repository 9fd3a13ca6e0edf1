"""Disputes commands and reactions through the kit: given a claim's events, when a command, then
events (or an error).

Every test runs twice: on the in-memory log, runner and read model, and on the real Kafka and
PostgreSQL (marked ``integration``). Both must give the same answers.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from amiable_disputes.adapters.projector import DisputesProjector
from amiable_disputes.adapters.read_model import DisputesReadModel
from amiable_disputes.app.reactions import reactions
from amiable_disputes.domain.commands import Assign, Mediate, OpenDispute, Reclassify
from amiable_disputes.domain.decide import DECIDERS
from amiable_disputes.domain.evolve import FOLLOWS, evolve
from amiable_events.clock import FrozenClock
from amiable_events.commands import Idempotency
from amiable_events.disputes import DisputeEscalatedToMediation, DisputeSlaBreached
from amiable_events.envelope import Envelope
from amiable_events.errors import Conflict, Invalid
from tests.behaviour import ServiceUnderTest, backends, types
from tests.disputes_givens import NOW, POLICY, claim, resolve
from tests.support import eventually

DISPUTES = ServiceUnderTest(
    name="disputes",
    deciders=DECIDERS,
    policy=POLICY,
    clock=FrozenClock(NOW),
    evolve=evolve,
    follows=lambda envelope: type(envelope.data) in FOLLOWS,
    projector=DisputesProjector(),
    read_model=DisputesReadModel,
    reactions=reactions(POLICY),
)

real_backend, backend = backends(DISPUTES)


@pytest.fixture
def tenant() -> str:
    return f"behaviour-{uuid.uuid4().hex[:8]}"


async def given_claim(backend, tenant: str) -> uuid.UUID:
    """Given: a qualified claim of EUR 1,000.00, 30 days past due on the service's today."""
    case = claim(tenant)
    await backend.given(*case.history.envelopes)
    return case.claim_id


async def records_of(backend, tenant: str) -> int:
    return sum(1 for envelope in await backend.log() if envelope.tenant == tenant)


def opening(claim_id: uuid.UUID, amount: str | None = None, reason: str = "delivery"):
    return OpenDispute(
        claim_id=claim_id,
        dispute_id=uuid.uuid4(),
        reason=reason,
        raised_by="debtor_contact",
        disputed_amount=None if amount is None else Decimal(amount),
    )


async def test_a_dispute_is_assigned_mediated_and_partially_upheld(backend, tenant):
    claim_id = await given_claim(backend, tenant)
    command = opening(claim_id, "400.00")
    [opened] = await backend.when(tenant, claim_id, command)
    assert opened.subject == str(claim_id) and opened.key == f"{tenant}:D-1"
    assert (opened.data.disputed_amount, opened.data.whole_claim) == (Decimal("400.00"), False)
    dispute_id = command.dispute_id
    steps = [
        Assign(dispute_id, "agent-1"),
        Mediate(dispute_id, "mediator-1"),
        resolve(dispute_id, "partially_upheld", accepted_amount=Decimal("150.00")),
    ]
    answers = [await backend.when(tenant, claim_id, step) for step in steps]
    assert [types(answer) for answer in answers] == [
        ["amiable.disputes.dispute-assigned.v1"],
        ["amiable.disputes.dispute-escalated-to-mediation.v1"],
        ["amiable.disputes.dispute-resolved.v1"],
    ]
    resolved = answers[-1][0].data
    assert (resolved.outcome, resolved.accepted_amount, resolved.disputed_amount) == (
        "partially_upheld",
        Decimal("150.00"),
        Decimal("400.00"),
    )
    # closed: only a comment is allowed, and a new dispute may be opened
    with pytest.raises(Conflict) as raised:
        await backend.when(tenant, claim_id, Assign(dispute_id, "agent-2"))
    assert raised.value.extra == {"dispute_status": "resolved", "allowed": ["comments"]}
    [again] = await backend.when(tenant, claim_id, opening(claim_id))
    assert again.data.whole_claim


async def test_illegal_transitions_and_invalid_commands_append_nothing(backend, tenant):
    claim_id = await given_claim(backend, tenant)
    command = opening(claim_id)
    await backend.when(tenant, claim_id, command)
    dispute_id = command.dispute_id
    before = await records_of(backend, tenant)
    with pytest.raises(Conflict) as raised:
        await backend.when(tenant, claim_id, resolve(dispute_id))
    assert raised.value.extra["allowed"] == ["assign", "withdraw", "reclassify", "comments"]
    with pytest.raises(Conflict) as raised:
        await backend.when(tenant, claim_id, opening(claim_id, "10.00"))
    assert raised.value.extra == {"dispute_id": str(dispute_id)}
    await backend.when(tenant, claim_id, Assign(dispute_id, "agent-1"))
    with pytest.raises(Invalid) as raised:
        await backend.when(tenant, claim_id, Mediate(dispute_id, "agent-1"))
    assert [e.field for e in raised.value.errors] == ["mediator"]
    assert await records_of(backend, tenant) == before + 1  # the assignment only
    # the same assignment again is answered as a replay
    assert (await backend.when(tenant, claim_id, Assign(dispute_id, "agent-1"))).replayed


async def test_an_amount_above_what_is_due_is_refused_with_the_amount_due(backend, tenant):
    claim_id = await given_claim(backend, tenant)
    with pytest.raises(Invalid) as raised:
        await backend.when(tenant, claim_id, opening(claim_id, "5000.00"))
    [error] = raised.value.errors
    assert error.field == "disputed_amount" and "EUR" in error.reason
    [opened] = await backend.when(tenant, claim_id, opening(claim_id))
    assert format(opened.data.disputed_amount, "f") in error.reason


async def test_a_hardship_declared_and_a_dispute_reclassified_as_one(backend, tenant):
    claim_id = await given_claim(backend, tenant)
    declared = await backend.when(
        tenant, claim_id, opening(claim_id, reason="cash_flow_difficulty")
    )
    assert types(declared) == ["amiable.disputes.hardship-declared.v1"]
    command = opening(claim_id, "200.00")
    await backend.when(tenant, claim_id, command)
    reclassified = await backend.when(
        tenant, claim_id, Reclassify(command.dispute_id, "cash_flow_difficulty")
    )
    assert types(reclassified) == [
        "amiable.disputes.dispute-reclassified.v1",
        "amiable.disputes.hardship-declared.v1",
    ]
    assert reclassified[1].data.reclassified
    # both cases closed: the claim is free for a dispute again
    await backend.when(tenant, claim_id, opening(claim_id))


async def test_a_missed_resolution_deadline_escalates_to_mediation_once(backend, tenant):
    claim_id = await given_claim(backend, tenant)
    command = opening(claim_id)
    [opened] = await backend.when(tenant, claim_id, command)
    breach = DisputeSlaBreached(
        claim_id=claim_id,
        dispute_id=command.dispute_id,
        which="resolve",
        due_at=opened.data.resolve_by,
    )
    timer = Envelope(
        id=uuid.uuid4(),
        subject=str(claim_id),
        time=breach.due_at,
        tenant=tenant,
        debtor_id="D-1",
        correlation_id=uuid.uuid4(),
        data=breach,
        actor="service:disputes",
    )
    await backend.given(timer, timer)  # a redelivered firing reacts once

    async def escalations():
        # by id: a record appended twice with one id is one event (projections drop the other)
        log = await backend.log()
        found = {
            e.id: e
            for e in log
            if e.tenant == tenant and isinstance(e.data, DisputeEscalatedToMediation)
        }
        return list(found.values()) or None

    [escalated] = await eventually(escalations)
    assert escalated.causation_id == timer.id
    assert (escalated.data.automatic, escalated.data.mediator) == (True, None)
    assert escalated.data.escalated_at == opened.data.resolve_by
    # a mediator named afterwards takes the dispute over
    named = await backend.when(tenant, claim_id, Mediate(command.dispute_id, "mediator-1"))
    assert named[0].data.mediator == "mediator-1" and not named[0].data.automatic


async def test_a_retry_with_the_same_idempotency_key_opens_one_dispute(backend, tenant):
    claim_id = await given_claim(backend, tenant)
    key = Idempotency("open-1", "fingerprint-1")
    command = opening(claim_id, "100.00")
    first = await backend.when(tenant, claim_id, command, idempotency=key)
    again = await backend.when(tenant, claim_id, command, idempotency=key)
    assert len(first) == 1 and again.replayed and list(again) == []
