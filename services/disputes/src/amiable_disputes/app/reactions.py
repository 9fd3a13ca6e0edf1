"""The disputes service's reactions through the kit: a missed resolution deadline escalates the
dispute to mediation (``domain.react``), and a dispute an agent's call raised opens
(``domain.calls``)."""

from __future__ import annotations

from collections.abc import Mapping
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from amiable_disputes.adapters.projector import load_files
from amiable_disputes.adapters.tables import files
from amiable_disputes.domain.calls import evolve_desk, open_from_call, unwrapped
from amiable_disputes.domain.react import escalate_on_breach
from amiable_disputes.domain.state import Policy
from amiable_events.communications import CallOutcomeRecorded
from amiable_events.db import Bulk
from amiable_events.disputes import DisputeSlaBreached
from amiable_events.reactions import Reactions


async def _load(conn: AsyncConnection, triggers: Mapping[str, list]) -> dict:
    bulk = await Bulk.of(conn)
    keys = [(envelopes[0].tenant, UUID(claim_id)) for claim_id, envelopes in triggers.items()]
    found = await load_files(bulk.connection, bulk.name(files), keys)
    return {str(claim_id): state for (_, claim_id), state in found.items()}


def unwrapping(react):
    """``react`` over the file of the reactions' state (``domain.calls.CallDesk``)."""
    return lambda state, envelope: react(unwrapped(state), envelope)


def reactions(policy: Policy) -> Reactions:
    return Reactions(
        service="disputes",
        table={
            DisputeSlaBreached: unwrapping(escalate_on_breach(policy)),
            CallOutcomeRecorded: open_from_call(policy),
        },
        load=_load,
        evolve=evolve_desk(policy),
    )
