"""The risk application: commands on a debtor account through the command bus, and the reads
the routes need. No HTTP here: errors are application errors."""

from __future__ import annotations

import uuid
from dataclasses import replace

from amiable_events.commands import CommandBus, Idempotency
from amiable_events.envelope import account_key
from amiable_events.errors import NotFound
from amiable_events.personal import Sealer
from amiable_risk.adapters.read_model import RiskReadModel
from amiable_risk.domain.commands import OverrideSegment
from amiable_risk.domain.scorecard import Scorecard
from amiable_risk.domain.state import Account


class RiskHandler:
    def __init__(
        self,
        *,
        bus: CommandBus[Account],
        read_model: RiskReadModel,
        sealer: Sealer,
        scorecard: Scorecard,
    ) -> None:
        self.bus = bus
        self.read_model = read_model
        self.sealer = sealer
        self.scorecard = scorecard

    async def account(self, tenant: str, debtor_id: str) -> Account:
        """The tenant's debtor account as risk knows it, or 404 (also another tenant's)."""
        found = await self.read_model.account(tenant, debtor_id)
        if found is None:
            raise NotFound(
                f"risk knows no debtor {debtor_id} for this tenant", title="Debtor not found"
            )
        return found

    async def execute(
        self,
        tenant: str,
        command,
        *,
        correlation_id: uuid.UUID | None = None,
        idempotency: Idempotency | None = None,
    ) -> tuple[Account, bool]:
        """Run one command on one debtor account: the account once its events (and the
        assessment they caused) are applied, and whether the request was a replay."""
        if isinstance(command, OverrideSegment):
            seal = await self.sealer.sealer_for(account_key(tenant, command.debtor_id))
            command = replace(command, reason=seal(command.reason))
        executed = await self.bus.execute(
            tenant,
            command.debtor_id,
            command,
            correlation_id=correlation_id,
            idempotency=idempotency,
        )
        return await self.account(tenant, command.debtor_id), executed.replayed

    async def override_reason(self, tenant: str, debtor_id: str, sealed: str | None) -> str | None:
        opener = await self.sealer.text_opener_for(account_key(tenant, debtor_id))
        return opener(sealed)
