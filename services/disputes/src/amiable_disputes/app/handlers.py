"""The disputes application: commands on a claim's disputes through the command bus, and the
reads the routes need. No HTTP here: errors are application errors.

A dispute's commands run on its claim (the claim's file holds its disputes and what is owed), so
the bus takes the claim's debtor account lock, in this process and, through PostgreSQL, in every
replica: two replicas opening a dispute on one claim at once give one dispute and one 409."""

from __future__ import annotations

import uuid
from dataclasses import fields, replace

from amiable_disputes.adapters.read_model import DisputesReadModel
from amiable_disputes.domain.commands import OpenDispute
from amiable_disputes.domain.state import ClaimFile, Dispute
from amiable_events.clock import Clock
from amiable_events.commands import CommandBus, Idempotency
from amiable_events.envelope import account_key
from amiable_events.errors import NotFound
from amiable_events.ids import keyed_id
from amiable_events.personal import Sealer

#: The free-text fields of the commands: sealed with the debtor account's key before deciding
SEALED = ("description", "comment", "note", "resolution_note")


class DisputesHandler:
    def __init__(
        self,
        *,
        bus: CommandBus[ClaimFile],
        read_model: DisputesReadModel,
        sealer: Sealer,
        clock: Clock,
    ) -> None:
        self.bus = bus
        self.read_model = read_model
        self.sealer = sealer
        self.clock = clock

    @staticmethod
    def dispute_id(tenant: str, claim_id: uuid.UUID, key: str | None) -> uuid.UUID:
        """A new dispute's id: derived from the Idempotency-Key, so a retry names the same."""
        return keyed_id(tenant, "dispute", str(claim_id), key) if key else uuid.uuid4()

    async def file(self, tenant: str, claim_id: uuid.UUID) -> tuple[str, ClaimFile]:
        found = await self.read_model.file(tenant, claim_id)
        if found is None:
            raise NotFound(f"no claim {claim_id} for this tenant", title="Claim not found")
        return found

    async def claim_of(self, tenant: str, dispute_id: uuid.UUID) -> uuid.UUID:
        claim_id = await self.read_model.claim_of(tenant, dispute_id)
        if claim_id is None:
            raise NotFound(f"no dispute {dispute_id} for this tenant", title="Dispute not found")
        return claim_id

    async def dispute(self, tenant: str, dispute_id: uuid.UUID) -> tuple[str, ClaimFile, Dispute]:
        """The dispute, with its claim's file and debtor, or 404 (also another tenant's)."""
        debtor_id, file = await self.file(tenant, await self.claim_of(tenant, dispute_id))
        dispute = file.dispute(str(dispute_id))
        if dispute is None:  # the query table is written with the file: never, but say so
            raise NotFound(f"no dispute {dispute_id} for this tenant", title="Dispute not found")
        return debtor_id, file, dispute

    async def execute(
        self,
        tenant: str,
        command,
        *,
        correlation_id: uuid.UUID | None = None,
        idempotency: Idempotency | None = None,
    ) -> tuple[uuid.UUID, bool]:
        """Run one command; the dispute it is about (a new one for an opening), and whether the
        request was a replay."""
        if isinstance(command, OpenDispute):
            claim_id, dispute_id = command.claim_id, command.dispute_id
            await self.file(tenant, claim_id)  # else the bus's 404 names no claim
        else:
            claim_id, dispute_id = (
                await self.claim_of(tenant, command.dispute_id),
                command.dispute_id,
            )
        command = await self._sealed(tenant, claim_id, command)
        executed = await self.bus.execute(
            tenant, claim_id, command, correlation_id=correlation_id, idempotency=idempotency
        )
        return dispute_id, executed.replayed

    async def _sealed(self, tenant: str, claim_id: uuid.UUID, command):
        texts = {
            f.name: getattr(command, f.name)
            for f in fields(command)
            if f.name in SEALED and getattr(command, f.name) is not None
        }
        if not texts:
            return command
        debtor_id, _ = await self.file(tenant, claim_id)
        seal = await self.sealer.sealer_for(account_key(tenant, debtor_id))
        return replace(command, **{name: seal(value) for name, value in texts.items()})

    async def opener(self, tenant: str, debtor_id: str):
        """Opens the debtor account's sealed texts (``[erased]`` once erased)."""
        return await self.sealer.text_opener_for(account_key(tenant, debtor_id))
