"""What the risk routes depend on: the caller's scopes, the handler, and what a command route
needs (correlation id, Idempotency-Key) in one ``CommandDep``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic import BaseModel

from amiable_events.auth import Principal, require_scope
from amiable_events.http import CorrelationDep, IdempotencyKeyDep, idempotency
from amiable_events.inputs import Text
from amiable_risk.api.models import RiskOut
from amiable_risk.api.views import present
from amiable_risk.app.handlers import RiskHandler

ReaderDep = Annotated[Principal, Depends(require_scope("risk:read"))]
WriterDep = Annotated[Principal, Depends(require_scope("risk:write"))]
DebtorId = Text(100, description="Your own id for the customer")


async def _handler(request: Request) -> RiskHandler:
    return request.app.state.risk


HandlerDep = Annotated[RiskHandler, Depends(_handler)]


@dataclass(frozen=True)
class CommandCall:
    principal: Principal
    handler: RiskHandler
    request: Request
    response: Response
    correlation_id: uuid.UUID | None
    idempotency_key: str | None

    async def run(self, command, body: BaseModel) -> RiskOut:
        """Execute ``command``; a retry of a request already carried out answers the current
        risk with ``Idempotent-Replayed: true``."""
        account, replayed = await self.handler.execute(
            self.principal.tenant,
            command,
            correlation_id=self.correlation_id,
            idempotency=idempotency(self.request, self.idempotency_key, body),
        )
        if replayed:
            self.response.headers["Idempotent-Replayed"] = "true"
        return await present(self.handler, self.principal.tenant, account)


async def _command_call(
    request: Request,
    response: Response,
    principal: WriterDep,
    handler: HandlerDep,
    correlation_id: CorrelationDep = None,
    idempotency_key: IdempotencyKeyDep = None,
) -> CommandCall:
    return CommandCall(principal, handler, request, response, correlation_id, idempotency_key)


CommandDep = Annotated[CommandCall, Depends(_command_call)]
