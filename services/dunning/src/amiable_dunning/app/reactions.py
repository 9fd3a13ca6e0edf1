"""The dunning service's reactions through the kit (``domain.react``), over each debtor
account's state and its tenant's policies, read from the projection before the batch."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from amiable_dunning.adapters.projector import load_accounts
from amiable_dunning.adapters.tables import accounts
from amiable_dunning.domain.policy import Policy
from amiable_dunning.domain.react import TABLE, Desk, PolicyBook, evolve_desk
from amiable_events.db import Bulk
from amiable_events.ledger import Figures
from amiable_events.reactions import Reactions, by_account

_BOOKS = """SELECT a.tenant, a.activated_at, p.policy_id, p.version, p.document::text AS document
    FROM {schema}.dunning_policy_activations a JOIN {schema}.dunning_policies p
    USING (tenant, policy_id, version) WHERE a.tenant = ANY($1::text[])
    ORDER BY a.tenant, a.activated_at"""


@lru_cache(maxsize=256)
def parsed(document: str) -> Policy:
    """A published version never changes: parse it once per process."""
    return Policy.model_validate(orjson.loads(document))


async def policy_books(connection, schema: str, tenants: set[str], default: Policy) -> dict:
    rows = await connection.fetch(_BOOKS.format(schema=f'"{schema}"'), list(tenants))
    activations: dict[str, list] = {tenant: [] for tenant in tenants}
    for row in rows:
        activations[row["tenant"]].append((row["activated_at"], parsed(row["document"])))
    return {tenant: PolicyBook(default, tuple(found)) for tenant, found in activations.items()}


def reactions(default: Policy, figures: Figures) -> Reactions:
    async def load(conn: AsyncConnection, triggers: Mapping[str, list]) -> dict:
        bulk = await Bulk.of(conn)
        keys = [tuple(key.split(":", 1)) for key in triggers]
        found = await load_accounts(bulk.connection, bulk.name(accounts), keys)
        books = await policy_books(bulk.connection, bulk.schema, {t for t, _ in keys}, default)
        return {
            f"{tenant}:{debtor}": Desk(found.get((tenant, debtor)), books[tenant], figures)
            for tenant, debtor in keys
        }

    return Reactions(
        service="dunning", table=TABLE, load=load, evolve=evolve_desk, state_key=by_account
    )
