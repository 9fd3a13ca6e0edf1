"""Claims commands through the command bus: given events, when a command, then events.

Every test runs twice: on the in-memory log, runner and read model (milliseconds), and on the
real Kafka and PostgreSQL (marked ``integration``). Both must give the same answers.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from amiable_claims.adapters.projector import ClaimsProjector
from amiable_claims.adapters.read_model import ClaimsReadModel
from amiable_claims.domain.commands import AdjustClaim, CancelClaim, RecordPayment, WriteOffClaim
from amiable_claims.domain.decide import DECIDERS, decide_registration
from amiable_claims.domain.evolve import evolve
from amiable_events.catalog import REGISTRY
from amiable_events.clock import FrozenClock
from amiable_events.commands import Idempotency
from amiable_events.envelope import Envelope
from amiable_events.errors import Conflict, Invalid, NotFound
from amiable_events.ids import caused_id, seeded_ids
from tests.behaviour import ServiceUnderTest, backends, types
from tests.claims_givens import NOW, POLICY, context, register_command

CLAIMS = ServiceUnderTest(
    name="claims",
    deciders=DECIDERS,
    policy=POLICY,
    clock=FrozenClock(NOW),
    evolve=evolve,
    follows=lambda envelope: envelope.data.source == "claims",
    projector=ClaimsProjector(POLICY),
    read_model=lambda store: ClaimsReadModel(store, REGISTRY),
)


real_backend, backend = backends(CLAIMS)


@pytest.fixture
def tenant() -> str:
    return f"behaviour-{uuid.uuid4().hex[:8]}"


async def registered_claim(backend, tenant: str, amount: str = "1250.00") -> uuid.UUID:
    """Given: a qualified claim of ``tenant`` (registered at NOW, due 2026-10-31)."""
    events = decide_registration(
        None,
        register_command(tenant=tenant, amount=Decimal(amount)),
        context(NOW, seeded_ids(hash(tenant) & 0xFFFF), tenant=tenant),
    )
    first = uuid.uuid4()
    await backend.given(
        *[
            Envelope(
                id=first if index == 0 else caused_id(first, "claims", event.type),
                subject=str(event.claim_id),
                time=NOW,
                tenant=tenant,
                debtor_id=event.debtor.id if index == 0 else events[0].debtor.id,
                correlation_id=first,
                causation_id=None if index == 0 else first,
                data=event,
            )
            for index, event in enumerate(events)
        ]
    )
    return events[0].claim_id


def payment(amount: str) -> RecordPayment:
    return RecordPayment(amount=Decimal(amount), currency=None, received_on=NOW.date())


async def test_a_payment_of_everything_due_settles_the_claim(backend, tenant):
    claim_id = await registered_claim(backend, tenant, "1000.00")
    due = await backend.when(tenant, claim_id, payment("1000.00"))
    assert types(due)[0] == "amiable.claims.payment-received.v1"
    # a payment on the due date + a few days: the fixed fee and interest remain
    everything = await backend.when(tenant, claim_id, payment("100.00"))
    assert types(everything) == [
        "amiable.claims.payment-received.v1",
        "amiable.claims.claim-settled.v1",
    ]
    first, settled = everything
    assert settled.causation_id == first.id
    assert settled.id == caused_id(first.id, "claims", settled.type)
    assert settled.key == first.key == f"{tenant}:C-42"


async def test_a_command_on_a_closed_claim_is_a_conflict_naming_its_status(backend, tenant):
    claim_id = await registered_claim(backend, tenant)
    assert types(await backend.when(tenant, claim_id, WriteOffClaim("insolvent"))) == [
        "amiable.claims.claim-written-off.v1"
    ]
    with pytest.raises(Conflict) as refused:
        await backend.when(tenant, claim_id, CancelClaim("credit note"))
    assert refused.value.extra == {"status_of_claim": "written_off"}


async def test_a_rule_broken_names_its_field(backend, tenant):
    claim_id = await registered_claim(backend, tenant)
    with pytest.raises(Invalid) as refused:
        await backend.when(tenant, claim_id, AdjustClaim(Decimal("5000.00"), "AV-1"))
    assert [e.field for e in refused.value.errors] == ["amount"]


async def test_another_tenants_claim_and_an_unknown_one_are_not_found(backend, tenant):
    claim_id = await registered_claim(backend, tenant)
    with pytest.raises(NotFound):
        await backend.when("someone-else", claim_id, WriteOffClaim("x"))
    with pytest.raises(NotFound):
        await backend.when(tenant, uuid.uuid4(), WriteOffClaim("x"))


async def test_a_retry_with_its_idempotency_key_changes_nothing(backend, tenant):
    claim_id = await registered_claim(backend, tenant)
    key = Idempotency("pay-77", "fingerprint-of-the-body")
    first = await backend.when(tenant, claim_id, payment("300.00"), idempotency=key)
    assert types(first) == ["amiable.claims.payment-received.v1"]
    assert await backend.when(tenant, claim_id, payment("300.00"), idempotency=key) == []
    with pytest.raises(Invalid) as reused:
        await backend.when(
            tenant,
            claim_id,
            payment("1.00"),
            idempotency=Idempotency("pay-77", "another body"),
        )
    assert reused.value.errors[0].field == "Idempotency-Key"
    paid = [e for e in await backend.log() if e.subject == str(claim_id)]
    assert types(paid).count("amiable.claims.payment-received.v1") == 1
