"""On a debtor's erasure, the free text its older events carried in clear is erased from the
claims projection (the claims and the timeline), deterministically: a rebuild gives the same
rows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from amiable_claims.adapters.tables import claim_events, claims
from amiable_events.base import SEALED_PREFIX
from amiable_events.claims import ClaimAmended, ClaimRegistered
from amiable_events.personal import ERASED

#: Free text that may name a person, kept in clear by events recorded before it was sealed.
_FREE_TEXT = ("description", "role")


def _scrubbed(value):
    """``value`` (JSON) with every free text recorded in clear replaced by ``[erased]``; sealed
    values are left alone (the shredded key already makes them read as erased, and the ones
    sealed after the erasure with a new key stay readable)."""
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        name: ERASED
        if name in _FREE_TEXT and isinstance(item, str) and not item.startswith(SEALED_PREFIX)
        else _scrubbed(item)
        for name, item in value.items()
    }


async def scrub_free_text(conn: AsyncConnection, tenant: str, debtor_id: str) -> None:
    """On a debtor's erasure, the free text its older events carried in clear (contact roles,
    descriptions) is erased from the claims and the timeline: nothing the projection answers
    or keeps names the debtor's people any more. Deterministic, so a rebuild gives the same
    rows."""
    rows = await conn.execute(
        select(claims.c.claim_id, claims.c.description, claims.c.debtor).where(
            claims.c.tenant == tenant, claims.c.debtor_id == debtor_id
        )
    )
    for claim_id, description, debtor in rows.all():
        scrubbed = _scrubbed({"description": description, "debtor": debtor})
        if scrubbed != {"description": description, "debtor": debtor}:
            await conn.execute(
                claims.update().where(claims.c.claim_id == claim_id).values(**scrubbed)
            )
    events = await conn.execute(
        select(claim_events.c.partition, claim_events.c.offset, claim_events.c.payload).where(
            claim_events.c.tenant == tenant,
            claim_events.c.debtor_id == debtor_id,
            claim_events.c.type.in_([ClaimRegistered.type, ClaimAmended.type]),
        )
    )
    for partition, offset, payload in events.all():
        scrubbed = _scrubbed(payload)
        if scrubbed != payload:
            await conn.execute(
                claim_events.update()
                .where(claim_events.c.partition == partition, claim_events.c.offset == offset)
                .values(payload=scrubbed)
            )
