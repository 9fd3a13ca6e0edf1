"""The communications application: people's commands through the command buses, and the reads
the routes need, with sealed texts opened. No HTTP here: errors are application errors.

Free text (a call's notes, an edited message, a rejection's reason, an interaction's summary) is
sealed with the debtor account's key before a decider sees it, so erasing the debtor makes it
read ``[erased]`` on the log and in every answer."""

from __future__ import annotations

import uuid
from dataclasses import fields, replace
from typing import Any

import orjson

from amiable_communications.adapters.read_model import CommunicationsReadModel
from amiable_communications.domain.commands import (
    RecordInteraction,
    SetContactPreferences,
    SetCreditorProfile,
)
from amiable_communications.domain.state import Account
from amiable_events.clock import Clock
from amiable_events.commands import CommandBus, Idempotency
from amiable_events.envelope import account_key
from amiable_events.errors import Invalid, NotFound
from amiable_events.ids import keyed_id
from amiable_events.personal import ERASED, Sealer

#: The free-text fields of the commands, sealed before deciding
SEALED = ("notes", "subject", "body", "reason", "summary")


class CommunicationsHandler:
    def __init__(
        self,
        *,
        bus: CommandBus,
        profile_bus: CommandBus,
        read_model: CommunicationsReadModel,
        sealer: Sealer,
        clock: Clock,
    ) -> None:
        self.bus = bus
        self.profile_bus = profile_bus
        self.read_model = read_model
        self.sealer = sealer
        self.clock = clock

    @staticmethod
    def interaction_id(tenant: str, claim_id: uuid.UUID, key: str | None) -> uuid.UUID:
        """A new interaction's id: derived from the Idempotency-Key, so a retry names the same."""
        return keyed_id(tenant, "interaction", str(claim_id), key) if key else uuid.uuid4()

    async def account(self, tenant: str, debtor_id: str) -> Account:
        """The debtor's account, or 404 when the tenant has no claim on it."""
        account = await self.read_model.account(tenant, debtor_id)
        if account is None:
            raise NotFound(f"no debtor {debtor_id} for this tenant", title="Debtor not found")
        return account

    async def message(self, tenant: str, communication_id: uuid.UUID) -> dict[str, Any]:
        row = await self.read_model.message(tenant, communication_id)
        if row is None:
            raise NotFound(
                f"no communication {communication_id} for this tenant",
                title="Communication not found",
            )
        return row

    async def profile(self, tenant: str) -> dict[str, Any]:
        row = await self.read_model.profile(tenant)
        if row is None:
            raise NotFound("no creditor profile set for this tenant", title="Profile not set")
        return row

    async def set_profile(
        self,
        tenant: str,
        command: SetCreditorProfile,
        *,
        correlation_id: uuid.UUID | None = None,
        idempotency: Idempotency | None = None,
    ) -> bool:
        """True when the request is a retry, or the profile was set so already."""
        executed = await self.profile_bus.execute(
            tenant,
            f"tenant:{tenant}",
            command,
            correlation_id=correlation_id,
            idempotency=idempotency,
        )
        return executed.replayed

    async def execute(
        self,
        tenant: str,
        command,
        *,
        correlation_id: uuid.UUID | None = None,
        idempotency: Idempotency | None = None,
    ) -> bool:
        """Run a command on a debtor account (through the message or the claim it names);
        True when the request was a replay."""
        subject, debtor_id = await self._subject(tenant, command)
        command = await self._sealed(tenant, debtor_id, command)
        executed = await self.bus.execute(
            tenant, subject, command, correlation_id=correlation_id, idempotency=idempotency
        )
        return executed.replayed

    async def _subject(self, tenant: str, command) -> tuple[str, str]:
        """The bus subject of ``command`` and its debtor, or a 404 naming what is missing."""
        if isinstance(command, SetContactPreferences):
            await self.account(tenant, command.debtor_id)
            return f"debtor:{command.debtor_id}", command.debtor_id
        if isinstance(command, RecordInteraction):
            account = await self.read_model.account_of_claim(tenant, command.claim_id)
            if account is None:
                raise NotFound(
                    f"no claim {command.claim_id} for this tenant", title="Claim not found"
                )
            if command.in_reply_to is not None:
                replied = await self.read_model.message(tenant, command.in_reply_to)
                if replied is None or replied["debtor_id"] != account.debtor_id:
                    raise Invalid.field(
                        "in_reply_to", "no communication of this claim's debtor by that id"
                    )
            return f"claim:{command.claim_id}", account.debtor_id
        row = await self.message(tenant, command.communication_id)
        return f"communication:{command.communication_id}", row["debtor_id"]

    async def _sealed(self, tenant: str, debtor_id: str, command):
        texts = {
            f.name: getattr(command, f.name)
            for f in fields(command)
            if f.name in SEALED and getattr(command, f.name) is not None
        }
        if not texts:
            return command
        seal = await self.sealer.sealer_for(account_key(tenant, debtor_id))
        return replace(command, **{name: seal(value) for name, value in texts.items()})

    async def opener(self, tenant: str, debtor_id: str):
        """Opens the debtor account's sealed texts (``[erased]`` once erased)."""
        return await self.sealer.text_opener_for(account_key(tenant, debtor_id))

    async def openers(self, tenant: str, rows: list[dict]) -> dict[str, Any]:
        """An opener per debtor of ``rows``."""
        return {
            debtor: await self.opener(tenant, debtor) for debtor in {r["debtor_id"] for r in rows}
        }


def content(opened: str | None) -> dict[str, str] | None:
    """A message's rendered {subject, body}, from its opened content (sealed JSON)."""
    if opened is None:
        return None
    if opened == ERASED:
        return {"subject": ERASED, "body": ERASED}
    return orjson.loads(opened)
