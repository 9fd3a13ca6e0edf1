"""Erasing a debtor's personal data: shred the debtor account's key, then record it on the log.

The key goes first: from then on nothing can open the account's sealed values anywhere, and a
replica that still holds the key in its cache drops it when it applies the event (the runner's
``on_erased`` hook), milliseconds later, not when the cache expires. Had the event gone first, a
replica applying it could re-read the key from the store before it was deleted and keep it for
another cache period. If the append fails after the key is gone, the erasure has happened and
the client's retry records it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from amiable_claims.app.handlers import ClaimsHandler
from amiable_events.claims import DebtorPersonalDataErased
from amiable_events.envelope import account_key
from amiable_events.errors import NotFound


@dataclass(frozen=True)
class Erasure:
    debtor_id: str
    erased_at: datetime
    event_id: uuid.UUID


async def erase_debtor(
    handler: ClaimsHandler,
    tenant: str,
    debtor_id: str,
    *,
    correlation_id: uuid.UUID | None = None,
) -> Erasure:
    """Erase the tenant's debtor ``debtor_id`` (404 if the tenant has no such debtor); answers
    once the event is in the read model. Erasing again records another erasure (harmless)."""
    bus = handler.bus
    if await handler.read_model.debtor_account(tenant, debtor_id) is None:
        raise NotFound(f"no claims on debtor {debtor_id} for this tenant", title="Debtor not found")
    account = account_key(tenant, debtor_id)
    # The tenant's lock keeps an import from sealing with the old key meanwhile; the
    # account's, a registration or a command (an amendment seals new contacts).
    async with bus.lock(tenant), bus.lock(account):
        await bus.catch_up(account)
        now = bus.clock.now()
        await handler.sealer.erase(account)
        first_id = uuid.uuid4()
        envelopes = bus.envelopes(
            [DebtorPersonalDataErased(debtor_id=debtor_id, erased_at=now)],
            tenant=tenant,
            debtor_id=debtor_id,
            now=now,
            first_id=first_id,
            correlation_id=correlation_id or first_id,
        )
        await bus.append(envelopes)
    return Erasure(debtor_id=debtor_id, erased_at=now, event_id=first_id)
