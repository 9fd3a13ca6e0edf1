"""What the claims routes depend on: the caller's scopes, the handler, and everything a
command route needs (correlation id, Idempotency-Key) in one ``CommandDep``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request, Response

from amiable_claims.api.models import ClaimOut
from amiable_claims.api.views import present
from amiable_claims.app.handlers import ClaimsHandler
from amiable_events.auth import Principal, require_scope
from amiable_events.http import CorrelationDep, IdempotencyKeyDep, idempotency

ReaderDep = Annotated[Principal, Depends(require_scope("claims:read"))]
WriterDep = Annotated[Principal, Depends(require_scope("claims:write"))]


async def _handler(request: Request) -> ClaimsHandler:
    # async: FastAPI runs a plain function dependency in a worker thread, on every request.
    return request.app.state.claims


HandlerDep = Annotated[ClaimsHandler, Depends(_handler)]


@dataclass(frozen=True)
class CommandCall:
    """What every command route needs: the writing tenant, the handler, and the request's
    correlation id and Idempotency-Key (and the response, to mark a replay)."""

    principal: Principal
    handler: ClaimsHandler
    request: Request
    response: Response
    correlation_id: uuid.UUID | None
    idempotency_key: str | None

    async def seal(self, claim_id: uuid.UUID):
        """The function sealing free text with the key of the claim's debtor account (404 for
        another tenant's claim)."""
        record = await self.handler.claim_record(self.principal.tenant, claim_id)
        return await self.handler.sealer.sealer_for(record.account)

    async def run(self, claim_id: uuid.UUID, command, body=None) -> ClaimOut:
        """Execute ``command`` on the claim; ``body`` fingerprints the Idempotency-Key. A retry
        of a request already carried out answers the current claim with
        ``Idempotent-Replayed: true``."""
        record, replayed = await self.handler.execute(
            self.principal.tenant,
            claim_id,
            command,
            correlation_id=self.correlation_id,
            idempotency=idempotency(self.request, self.idempotency_key, body),
        )
        if replayed:
            self.response.headers["Idempotent-Replayed"] = "true"
        return await present(self.handler, record)


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
