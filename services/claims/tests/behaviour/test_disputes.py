"""Claims' reactions to a dispute's resolution: given a claim and the disputes service's
``DisputeResolved``, then the ``ClaimAdjusted`` or ``ClaimCancelled`` claims appends, once.

Every test runs on the in-memory log and runner and on the real Kafka and PostgreSQL (the
claims projector, its reactions loading the resolved claim from it), marked ``integration``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from amiable_claims.domain.evolve import fold
from amiable_events.claims import ClaimAdjusted, ClaimCancelled
from amiable_events.disputes import DisputeResolved
from amiable_events.envelope import Envelope
from amiable_events.ids import caused_id
from tests.behaviour import backends
from tests.claims_givens import reacting_claims
from tests.factories import registered

CLAIMS = reacting_claims()

real_backend, backend = backends(CLAIMS)

ADJUSTED, CANCELLED = ClaimAdjusted.type, ClaimCancelled.type
RESOLVED_AT = datetime(2026, 11, 20, 15, tzinfo=UTC)


@pytest.fixture
def tenant() -> str:
    return f"disputes-{uuid.uuid4().hex[:8]}"


def resolution(claim: Envelope, outcome: str, **changes) -> Envelope:
    values = dict(
        claim_id=claim.data.claim_id,
        dispute_id=uuid.uuid4(),
        outcome=outcome,
        resolution_note="pii:v1:sealed-note",
        disputed_amount=claim.data.amount,
        currency="EUR",
        whole_claim=True,
        resolved_at=RESOLVED_AT,
    )
    values.update(changes)
    event = DisputeResolved(**values)
    return Envelope(
        id=uuid.uuid4(),
        subject=event.subject,
        time=RESOLVED_AT,
        tenant=claim.tenant,
        debtor_id=claim.debtor_id,
        correlation_id=uuid.uuid4(),
        data=event,
    )


async def caused_by(backend, trigger: Envelope) -> list[Envelope]:
    return [e for e in await backend.log() if e.causation_id == trigger.id]


async def test_a_partly_upheld_dispute_reduces_its_claim_once(backend, tenant):
    claim = registered(1, tenant=tenant)  # 1251.00 EUR
    partly = resolution(
        claim,
        "partially_upheld",
        whole_claim=False,
        disputed_amount=Decimal("600.00"),
        accepted_amount=Decimal("250.00"),
    )
    await backend.given(claim, partly)
    await backend.given(partly)  # delivered again: the log holds it twice

    (adjusted,) = await caused_by(backend, partly)
    assert adjusted.id == caused_id(partly.id, "claims", ADJUSTED)
    assert adjusted.actor == "service:claims"
    assert adjusted.data.amount == Decimal("250.00")
    assert adjusted.data.credit_note_reference == f"dispute:{partly.data.dispute_id}"
    state = fold([e for e in await backend.log() if e.subject == claim.subject])
    assert state.unpaid_principal == Decimal("1001.00")


async def test_an_upheld_dispute_cancels_a_claim_registered_in_the_same_batch(backend, tenant):
    claim = registered(2, tenant=tenant)
    upheld = resolution(claim, "upheld")
    await backend.given(claim, upheld)

    (cancelled,) = await caused_by(backend, upheld)
    assert cancelled.type == CANCELLED
    assert cancelled.data.credit_note_reference == f"dispute:{upheld.data.dispute_id}"


async def test_a_second_resolution_of_a_cancelled_claim_changes_nothing(backend, tenant):
    claim = registered(3, tenant=tenant)
    reissued = resolution(claim, "reissued", new_invoice_number="INV-3-BIS")
    await backend.given(claim, reissued)
    (cancelled,) = await caused_by(backend, reissued)
    assert cancelled.data.reissued_as == "INV-3-BIS"

    later = resolution(claim, "upheld")
    await backend.given(later)
    assert await caused_by(backend, later) == []
