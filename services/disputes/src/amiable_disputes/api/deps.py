"""What the disputes routes depend on: the caller's scopes, the handler, and what a command
route needs (correlation id, Idempotency-Key) in one ``CommandDep``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response
from pydantic import BaseModel

from amiable_disputes.api.models import DisputeOut
from amiable_disputes.api.views import present
from amiable_disputes.app.handlers import DisputesHandler
from amiable_events.auth import Principal, require_scope
from amiable_events.http import CorrelationDep, IdempotencyKeyDep, idempotency

ReaderDep = Annotated[Principal, Depends(require_scope("disputes:read"))]
WriterDep = Annotated[Principal, Depends(require_scope("disputes:write"))]


async def _handler(request: Request) -> DisputesHandler:
    return request.app.state.disputes


HandlerDep = Annotated[DisputesHandler, Depends(_handler)]


@dataclass(frozen=True)
class CommandCall:
    principal: Principal
    handler: DisputesHandler
    request: Request
    response: Response
    correlation_id: uuid.UUID | None
    idempotency_key: str | None

    @property
    def tenant(self) -> str:
        return self.principal.tenant

    async def run(self, command, body: BaseModel) -> DisputeOut:
        """Execute ``command``; a retry of a request already carried out answers the dispute
        as it is now, with ``Idempotent-Replayed: true``."""
        dispute_id, replayed = await self.handler.execute(
            self.tenant,
            command,
            correlation_id=self.correlation_id,
            idempotency=idempotency(self.request, self.idempotency_key, body),
        )
        if replayed:
            self.response.headers["Idempotent-Replayed"] = "true"
        debtor_id, file, dispute = await self.handler.dispute(self.tenant, dispute_id)
        return await present(self.handler, self.tenant, debtor_id, file, dispute)


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
