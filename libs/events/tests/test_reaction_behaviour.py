"""Reactions as behaviour: given events, then the events the service appended in reaction.

Runs on the in-memory log and runner and on the real Kafka and PostgreSQL (``integration``), with
the qualifier of integration/reacting_process.py (ClaimRegistered -> ClaimQualified).
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from amiable_events.clock import FrozenClock
from amiable_events.ids import caused_id
from tests.behaviour import ServiceUnderTest, backends, types
from tests.factories import registered

sys.path.insert(0, str(Path(__file__).parent / "integration"))
import reacting_process

sys.path.pop(0)

SERVICE = "qualifier"
QUALIFIER = ServiceUnderTest(
    name=SERVICE,
    deciders={},
    clock=FrozenClock(datetime(2026, 3, 1, tzinfo=UTC)),
    evolve=reacting_process.evolve,
    follows=lambda envelope: True,
    projector=reacting_process.QualifierProjector(SERVICE),
    reactions=reacting_process.reactions(SERVICE),
    database="amiable_claims",
)


real_backend, backend = backends(QUALIFIER)


def about(envelopes, tenant: str):
    return [e for e in envelopes if e.tenant == tenant]


async def test_a_registered_claim_is_qualified_in_reaction_caused_by_it(backend):
    tenant = f"r{uuid.uuid4().hex[:8]}"
    trigger = registered(1, tenant=tenant)
    await backend.given(trigger)
    log = about(await backend.log(), tenant)
    assert types(log) == [trigger.type, "amiable.claims.claim-qualified.v1"]
    reaction = log[1]
    assert reaction.id == caused_id(trigger.id, SERVICE, reaction.type)
    assert (reaction.causation_id, reaction.correlation_id) == (trigger.id, trigger.correlation_id)
    assert reaction.subject == trigger.subject and reaction.key == trigger.key


async def test_a_redelivered_trigger_causes_nothing_new(backend):
    tenant = f"r{uuid.uuid4().hex[:8]}"
    trigger = registered(2, tenant=tenant)
    await backend.given(trigger)
    await backend.given(replace(trigger))  # the same id again, as after a producer retry
    log = about(await backend.log(), tenant)
    assert types(log).count("amiable.claims.claim-qualified.v1") == 1


async def test_an_already_qualified_claim_is_not_qualified_again(backend):
    tenant = f"r{uuid.uuid4().hex[:8]}"
    first, second = registered(3, tenant=tenant), registered(3, tenant=tenant)
    second = replace(second, id=uuid.uuid4())  # the same claim registered twice
    await backend.given(first)
    await backend.given(second)
    log = about(await backend.log(), tenant)
    assert types(log).count("amiable.claims.claim-qualified.v1") == 1
