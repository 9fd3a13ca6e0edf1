"""Claims' reactions to collective proceedings: given a debtor account's events, then the
``FixedFeeWaived`` claims appends, and what its claims owe.

Every test runs on the in-memory log and runner and on the real Kafka and PostgreSQL (the
claims projector, its reactions loading their state from it), marked ``integration``.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from amiable_claims.domain.decide import decide_registration
from amiable_claims.domain.evolve import fold
from amiable_claims.domain.figures import amount_due
from amiable_events.claims import FixedFeeWaived
from amiable_events.envelope import Envelope
from amiable_events.ids import caused_id, seeded_ids
from amiable_events.risk import InsolvencyRecorded
from tests.behaviour import backends
from tests.claims_givens import NOW, POLICY, context, reacting_claims, register_command

CLAIMS = reacting_claims()

real_backend, backend = backends(CLAIMS)

DEBTOR = "C-42"  # register_command's debtor
OPENED = date(2026, 11, 10)
WAIVED = "amiable.claims.fixed-fee-waived.v1"


@pytest.fixture
def tenant() -> str:
    return f"proceedings-{uuid.uuid4().hex[:8]}"


def registration(tenant: str, due_on: date, n: int = 1) -> list[Envelope]:
    """A claim of ``tenant`` on the debtor, registered and qualified at NOW."""
    events = decide_registration(
        None,
        register_command(
            tenant=tenant,
            invoice_number=f"INV-{n}",
            issued_on=due_on - timedelta(days=30),
            due_on=due_on,
        ),
        context(NOW, seeded_ids(hash((tenant, n)) & 0xFFFF), tenant=tenant),
    )
    first = uuid.uuid4()
    return [
        Envelope(
            id=first if index == 0 else caused_id(first, "claims", event.type),
            subject=str(event.claim_id),
            time=NOW,
            tenant=tenant,
            debtor_id=DEBTOR,
            correlation_id=first,
            causation_id=None if index == 0 else first,
            data=event,
        )
        for index, event in enumerate(events)
    ]


def insolvency(tenant: str, opened_on: date = OPENED) -> Envelope:
    event = InsolvencyRecorded(
        debtor_id=DEBTOR,
        kind="receivership",
        opened_on=opened_on,
        reference="RG 26/01234",
        recorded_at=datetime(2026, 11, 12, 9, tzinfo=UTC),
    )
    correlation = uuid.uuid4()
    return Envelope(
        id=uuid.uuid4(),
        subject=event.subject,
        time=event.recorded_at,
        tenant=tenant,
        debtor_id=DEBTOR,
        correlation_id=correlation,
        data=event,
    )


async def waivers(backend, tenant: str) -> list[Envelope]:
    return [e for e in await backend.log() if e.tenant == tenant and e.type == WAIVED]


async def claim_of(backend, claim_id: uuid.UUID):
    return fold([e for e in await backend.log() if e.subject == str(claim_id)])


async def test_an_insolvency_stops_the_fixed_fee_on_its_new_claims(backend, tenant):
    proceedings = insolvency(tenant)
    registered = registration(tenant, due_on=OPENED + timedelta(days=20))
    claim_id = registered[0].data.claim_id
    await backend.given(proceedings)
    await backend.given(*registered)

    (waiver,) = await waivers(backend, tenant)
    assert waiver.data == FixedFeeWaived(
        claim_id=claim_id,
        waived_from=OPENED,
        reason="insolvency_proceedings",
        proceeding_kind="receivership",
        proceeding_reference="RG 26/01234",
    )
    assert waiver.id == caused_id(registered[0].id, "claims", WAIVED)
    assert (waiver.subject, waiver.key, waiver.actor) == (
        str(claim_id),
        f"{tenant}:{DEBTOR}",
        "service:claims",
    )
    claim = await claim_of(backend, claim_id)
    due = amount_due(claim, date(2027, 1, 31), POLICY)
    with_fee = amount_due(
        claim.model_copy(update={"fixed_fee_waived_from": None}), date(2027, 1, 31), POLICY
    )
    assert (due.fixed_fee, with_fee.fixed_fee) == (Decimal("0.00"), Decimal("40.00"))
    assert due.total == with_fee.total - Decimal("40.00")


async def test_an_insolvency_waives_the_fee_its_open_claims_do_not_owe_yet(backend, tenant):
    later = registration(tenant, due_on=OPENED + timedelta(days=5), n=1)
    already_due = registration(tenant, due_on=OPENED - timedelta(days=5), n=2)
    proceedings = insolvency(tenant)
    await backend.given(*later, *already_due)
    await backend.given(proceedings)

    (waiver,) = await waivers(backend, tenant)
    assert waiver.data.claim_id == later[0].data.claim_id
    assert (waiver.causation_id, waiver.correlation_id) == (
        proceedings.id,
        proceedings.correlation_id,
    )
    still_owed = await claim_of(backend, already_due[0].data.claim_id)
    assert amount_due(still_owed, date(2027, 1, 31), POLICY).fixed_fee == Decimal("40.00")


async def test_another_tenants_insolvency_never_touches_this_tenants_claims(backend, tenant):
    other = f"{tenant}-other"
    await backend.given(*registration(tenant, due_on=OPENED + timedelta(days=5)))
    await backend.given(insolvency(other))
    await backend.given(*registration(tenant, due_on=OPENED + timedelta(days=9), n=2))
    assert await waivers(backend, tenant) == []


async def test_a_redelivered_insolvency_waives_nothing_more(backend, tenant):
    proceedings = insolvency(tenant)
    await backend.given(*registration(tenant, due_on=OPENED + timedelta(days=5)))
    await backend.given(proceedings)
    await backend.given(replace(proceedings))  # the same record again, as after a retry
    assert len(await waivers(backend, tenant)) == 1
