"""Risk's reactions through the kit: on every event that can change a debtor's assessment or
signals, publish what its state says (``domain.publish.react``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from sqlalchemy.ext.asyncio import AsyncConnection

from amiable_events.db import Bulk
from amiable_events.reactions import Reactions, by_account
from amiable_risk.adapters.projector import load_states
from amiable_risk.adapters.tables import accounts
from amiable_risk.domain.evolve import REACTS_TO, evolve
from amiable_risk.domain.publish import react
from amiable_risk.domain.scorecard import Scorecard


async def _load(conn: AsyncConnection, triggers: Mapping[str, list]) -> dict:
    bulk = await Bulk.of(conn)
    pairs = [tuple(key.split(":", 1)) for key in triggers]
    states = await load_states(bulk.connection, bulk.name(accounts), pairs)
    return {f"{tenant}:{debtor}": state for (tenant, debtor), state in states.items()}


def reactions(scorecard: Scorecard) -> Reactions:
    return Reactions(
        service="risk",
        table=dict.fromkeys(REACTS_TO, react),
        load=_load,
        evolve=partial(evolve, scorecard=scorecard),
        state_key=by_account,
    )
