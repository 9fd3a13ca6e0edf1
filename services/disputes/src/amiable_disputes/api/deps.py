"""What the disputes routes depend on: the caller's scopes, the handler, and what a command
route needs (correlation id, Idempotency-Key) in one ``CommandDep``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel

from amiable_disputes.api.models import DisputeOut
from amiable_disputes.api.views import present
from amiable_disputes.app.handlers import DisputesHandler
from amiable_events.auth import Principal, require_scope
from amiable_events.http import CommandRequest, command_request

ReaderDep = Annotated[Principal, Depends(require_scope("disputes:read"))]


async def _handler(request: Request) -> DisputesHandler:
    return request.app.state.disputes


HandlerDep = Annotated[DisputesHandler, Depends(_handler)]


@dataclass(frozen=True)
class CommandCall:
    command: CommandRequest
    handler: DisputesHandler

    @property
    def tenant(self) -> str:
        return self.command.tenant

    async def run(self, command, body: BaseModel) -> DisputeOut:
        """Execute ``command``; a retry of a request already carried out answers the dispute
        as it is now, with ``Idempotent-Replayed: true``."""
        dispute_id, replayed = await self.handler.execute(
            self.tenant,
            command,
            correlation_id=self.command.correlation_id,
            idempotency=self.command.idempotency(body),
        )
        self.command.answered(replayed)
        debtor_id, file, dispute = await self.handler.dispute(self.tenant, dispute_id)
        return await present(self.handler, self.tenant, debtor_id, file, dispute)


async def _command_call(
    command: Annotated[CommandRequest, Depends(command_request("disputes:write"))],
    handler: HandlerDep,
) -> CommandCall:
    return CommandCall(command, handler)


CommandDep = Annotated[CommandCall, Depends(_command_call)]
