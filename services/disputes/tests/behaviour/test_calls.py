"""The disputes service's reaction to an agent's call: given a claim and communications'
``CallOutcomeRecorded`` with a dispute, then one ``DisputeOpened`` (raised by an agent, the
call's notes as its description), whatever the log repeats; nothing when the rules refuse it.
And the communications settings events, which disputes ignores.

Every test runs on the in-memory log and runner and on the real Kafka and PostgreSQL (marked
``integration``).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from amiable_disputes.adapters.projector import DisputesProjector
from amiable_disputes.adapters.read_model import DisputesReadModel
from amiable_disputes.app.reactions import reactions
from amiable_disputes.domain.calls import dispute_id
from amiable_disputes.domain.decide import DECIDERS
from amiable_disputes.domain.evolve import FOLLOWS, evolve
from amiable_events.clock import FrozenClock
from amiable_events.communications import (
    CallOutcomeRecorded,
    ContactPreferencesSet,
    DisputeOutcome,
)
from amiable_events.disputes import DisputeOpened, HardshipDeclared
from amiable_events.ids import caused_id
from tests.behaviour import ServiceUnderTest, backends
from tests.disputes_givens import NOW, POLICY, claim

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

NOTES = "pii:v1:sealed-call-notes"


@pytest.fixture
def tenant() -> str:
    return f"calls-{uuid.uuid4().hex[:8]}"


def call(case, reason: str = "delivery", amount: str | None = None, outcome="dispute_raised"):
    """The outcome of an agent's call on the case's claim, appended to its history."""
    raised = None
    if outcome == "dispute_raised":
        raised = DisputeOutcome(reason=reason, amount=None if amount is None else Decimal(amount))
    event = CallOutcomeRecorded(
        claim_id=case.claim_id,
        communication_id=uuid.uuid4(),
        outcome=outcome,
        dispute=raised,
        notes=NOTES,
        agent="agent-7",
        recorded_at=NOW,
    )
    return case.history._add(event, NOW)


async def opened(backend, tenant: str) -> list:
    return [
        e
        for e in await backend.log()
        if e.tenant == tenant and type(e.data) in (DisputeOpened, HardshipDeclared)
    ]


async def test_a_dispute_raised_on_a_call_is_opened_once(backend, tenant):
    case = claim(tenant)
    outcome = call(case, "delivery", "400.00")
    await backend.given(*case.history.envelopes)
    await backend.given(outcome)  # delivered again: the log holds it twice

    (dispute,) = await opened(backend, tenant)
    assert dispute.id == caused_id(outcome.id, "disputes", DisputeOpened.type)
    assert dispute.causation_id == outcome.id
    event = dispute.data
    assert event.dispute_id == dispute_id(tenant, case.claim_id, outcome.id)
    assert (event.reason, event.raised_by, event.description) == ("delivery", "agent", NOTES)
    assert (event.disputed_amount, event.whole_claim) == (Decimal("400.00"), False)
    assert event.opened_at == NOW and event.acknowledge_by > NOW


async def test_an_unknown_reason_opens_as_other_on_the_whole_claim(backend, tenant):
    case = claim(tenant)
    call(case, "goods_never_ordered")
    await backend.given(*case.history.envelopes)

    (dispute,) = await opened(backend, tenant)
    assert (dispute.data.reason, dispute.data.whole_claim) == ("other", True)


async def test_a_second_call_while_the_dispute_is_active_opens_nothing(backend, tenant):
    case = claim(tenant)
    call(case, "billing_error")
    await backend.given(*case.history.envelopes)
    await backend.given(call(case, "delivery", "10.00"))

    assert [e.data.reason for e in await opened(backend, tenant)] == ["billing_error"]


@pytest.mark.integration
async def test_two_calls_read_in_one_batch_open_one_dispute(real_backend, tenant):
    # The first one's DisputeOpened reaches the log after the batch: the second one's reaction
    # sees it all the same (domain.calls.CallDesk).
    case = claim(tenant)
    call(case, "billing_error")
    call(case, "delivery", "10.00")
    await real_backend.given(*case.history.envelopes)

    assert [e.data.reason for e in await opened(real_backend, tenant)] == ["billing_error"]


@pytest.mark.parametrize("amount", ["5000.00", "10.001"], ids=["above-due", "too-precise"])
async def test_a_dispute_the_rules_refuse_opens_nothing(backend, tenant, amount):
    case = claim(tenant)
    call(case, "delivery", amount)
    later = call(case, "delivery")  # the claim's file goes on
    await backend.given(*case.history.envelopes)

    (dispute,) = await opened(backend, tenant)
    assert dispute.causation_id == later.id


async def test_other_outcomes_and_contact_preferences_open_nothing(backend, tenant):
    case = claim(tenant)
    call(case, outcome="reached")
    case.history._add(
        ContactPreferencesSet(
            debtor_id=case.history.debtor_id,
            opted_out=True,
            set_by="user:clerk",
            set_at=NOW,
        ),
        NOW + timedelta(minutes=1),
    )
    await backend.given(*case.history.envelopes)
    assert await opened(backend, tenant) == []
    last = call(case, "delivery")
    await backend.given(last)
    assert [e.causation_id for e in await opened(backend, tenant)] == [last.id]
