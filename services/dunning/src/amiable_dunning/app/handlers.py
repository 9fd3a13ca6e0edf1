"""The dunning application: a person's approval through the command bus, and the reads the
routes need. No HTTP here: errors are application errors."""

from __future__ import annotations

import uuid
from datetime import timedelta

from amiable_dunning.adapters.read_model import DunningReadModel
from amiable_dunning.domain.commands import Approve
from amiable_dunning.domain.state import Account, ClaimDunning
from amiable_events.clock import Clock
from amiable_events.commands import CommandBus, Idempotency
from amiable_events.errors import NotFound


class DunningHandler:
    def __init__(self, *, bus: CommandBus[Account], read_model: DunningReadModel, clock: Clock):
        self.bus = bus
        self.read_model = read_model
        self.clock = clock

    async def claim(self, tenant: str, claim_id: uuid.UUID) -> ClaimDunning:
        """The claim's dunning, or 404 (also another tenant's, or one not registered yet)."""
        found = await self.read_model.account_of(tenant, claim_id)
        claim = None if found is None else found[1].claim(claim_id)
        if claim is None:
            raise NotFound(f"no claim {claim_id} for this tenant", title="Claim not found")
        return claim

    async def approve(
        self,
        tenant: str,
        command: Approve,
        *,
        correlation_id: uuid.UUID | None = None,
        idempotency: Idempotency | None = None,
    ) -> bool:
        """True when the request is a retry of an approval already carried out."""
        executed = await self.bus.execute(
            tenant,
            command.claim_id,
            command,
            correlation_id=correlation_id,
            idempotency=idempotency,
        )
        return executed.replayed

    async def upcoming(self, tenant: str, days: int, limit: int) -> list:
        now = self.clock.now()
        return await self.read_model.upcoming(tenant, now, now + timedelta(days=days), limit)
