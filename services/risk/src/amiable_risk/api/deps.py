"""What the risk routes depend on: the caller's scopes, the handler, and what a command route
needs (correlation id, Idempotency-Key) in one ``CommandDep``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from pydantic import BaseModel

from amiable_events.auth import Principal, require_scope
from amiable_events.http import CommandRequest, command_request
from amiable_events.inputs import Text
from amiable_risk.api.models import RiskOut
from amiable_risk.api.views import present
from amiable_risk.app.handlers import RiskHandler

ReaderDep = Annotated[Principal, Depends(require_scope("risk:read"))]
DebtorId = Text(100, description="Your own id for the customer")


async def _handler(request: Request) -> RiskHandler:
    return request.app.state.risk


HandlerDep = Annotated[RiskHandler, Depends(_handler)]


@dataclass(frozen=True)
class CommandCall:
    command: CommandRequest
    handler: RiskHandler

    async def run(self, command, body: BaseModel) -> RiskOut:
        """Execute ``command``; a retry of a request already carried out answers the current
        risk with ``Idempotent-Replayed: true``."""
        account, replayed = await self.handler.execute(
            self.command.tenant,
            command,
            correlation_id=self.command.correlation_id,
            idempotency=self.command.idempotency(body),
        )
        self.command.answered(replayed)
        return await present(self.handler, self.command.tenant, account)


async def _command_call(
    command: Annotated[CommandRequest, Depends(command_request("risk:write"))],
    handler: HandlerDep,
) -> CommandCall:
    return CommandCall(command, handler)


CommandDep = Annotated[CommandCall, Depends(_command_call)]
