"""The communications service's reactions through the kit (``domain.react``), over each debtor
account's state, read from the projection before the batch."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncConnection

from amiable_communications.adapters.projector import load_accounts
from amiable_communications.adapters.tables import accounts
from amiable_communications.domain.evolve import evolve
from amiable_communications.domain.react import SERVICE, TABLE
from amiable_events.db import Bulk
from amiable_events.reactions import Reactions, by_account


def reactions() -> Reactions:
    async def load(conn: AsyncConnection, triggers: Mapping[str, list]) -> dict:
        bulk = await Bulk.of(conn)
        keys = [tuple(key.split(":", 1)) for key in triggers]
        found = await load_accounts(bulk.connection, bulk.name(accounts), keys)
        return {f"{tenant}:{debtor}": found.get((tenant, debtor)) for tenant, debtor in keys}

    return Reactions(service=SERVICE, table=TABLE, load=load, evolve=evolve, state_key=by_account)
