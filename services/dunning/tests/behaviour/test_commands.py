"""Dunning's approval and reactions through the kit: given a debtor account's events, when a
command, then events (or an error). Every test runs on the in-memory parts and on the real
Kafka and PostgreSQL (marked ``integration``); both must give the same answers."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from amiable_dunning.adapters.projector import DunningProjector
from amiable_dunning.adapters.read_model import DunningReadModel
from amiable_dunning.domain.commands import DECIDERS, Approve
from amiable_dunning.domain.evolve import evolve
from amiable_events.clock import FrozenClock
from amiable_events.commands import Idempotency
from amiable_events.dunning import ClaimEscalated, DunningPlanScheduled, DunningStepDue
from amiable_events.errors import Conflict
from tests.behaviour import ServiceUnderTest, backends, types
from tests.dunning_givens import FIGURES, behaviour_reactions, play
from tests.risk_givens import History, at

ISSUED = date(2026, 6, 2)
NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)

DUNNING = ServiceUnderTest(
    name="dunning",
    deciders=DECIDERS,
    policy=FIGURES,
    clock=FrozenClock(NOW),
    evolve=evolve,
    follows=lambda envelope: bool(envelope.debtor_id),
    holds=lambda account, claim_id: account.claim(claim_id) is not None,
    projector=DunningProjector(FIGURES),
    read_model=DunningReadModel,
    reactions=behaviour_reactions(),
)

real_backend, backend = backends(DUNNING)


@pytest.fixture
def tenant() -> str:
    return f"behaviour-{uuid.uuid4().hex[:8]}"


async def given_handoff_waiting(backend, tenant: str) -> uuid.UUID:
    """A claim whose track ran to the litigation handoff, waiting for a person: the history
    and what dunning appended for it (its plan, its steps, the approval request)."""
    history = History(tenant)
    claim_id = history.claim(ISSUED)
    played = play(history, at(ISSUED + timedelta(days=150)))
    # the plan is the service's own reaction: give what the timers appended after it
    await backend.given(*history.envelopes)
    await backend.given(
        *[e for e in played.appended if not isinstance(e.data, DunningPlanScheduled)]
    )
    return claim_id


async def test_a_qualified_claim_is_planned_in_reaction(backend, tenant):
    history = History(tenant)
    claim_id = history.claim(ISSUED)
    await backend.given(*history.envelopes)
    planned = [e for e in await backend.log() if isinstance(e.data, DunningPlanScheduled)]
    planned = [e for e in planned if e.tenant == tenant]
    assert [(e.data.claim_id, e.data.track) for e in planned] == [(claim_id, "standard_b2b")]
    assert planned[0].causation_id == history.envelopes[1].id


async def test_approving_the_handoff_sends_it_and_escalates(backend, tenant):
    claim_id = await given_handoff_waiting(backend, tenant)
    key = Idempotency("approve-1", "fp")
    executed = await backend.when(
        tenant, claim_id, Approve(claim_id, "litigation_handoff", "marie"), idempotency=key
    )
    assert types(executed) == [DunningStepDue.type, ClaimEscalated.type]
    assert executed[1].data.approved_by == "marie"
    again = await backend.when(
        tenant, claim_id, Approve(claim_id, "litigation_handoff", "marie"), idempotency=key
    )
    assert list(again) == [] and again.replayed


async def test_a_step_not_waiting_cannot_be_approved(backend, tenant):
    claim_id = await given_handoff_waiting(backend, tenant)
    with pytest.raises(Conflict) as refused:
        await backend.when(tenant, claim_id, Approve(claim_id, "formal_notice", "marie"))
    assert refused.value.extra["awaiting_approval"] == ["litigation_handoff"]
