"""What the claims routes depend on: the caller's scopes, the handler, and everything a
command route needs (correlation id, Idempotency-Key) in one ``CommandDep``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from amiable_claims.api.models import ClaimOut
from amiable_claims.api.views import present
from amiable_claims.app.handlers import ClaimsHandler
from amiable_events.auth import Principal, require_scope
from amiable_events.http import CommandRequest, command_request

ReaderDep = Annotated[Principal, Depends(require_scope("claims:read"))]
WriterDep = Annotated[Principal, Depends(require_scope("claims:write"))]


async def _handler(request: Request) -> ClaimsHandler:
    # async: FastAPI runs a plain function dependency in a worker thread, on every request.
    return request.app.state.claims


HandlerDep = Annotated[ClaimsHandler, Depends(_handler)]


@dataclass(frozen=True)
class CommandCall:
    """What every command route needs: the handler, and the writing tenant with the request's
    correlation id and Idempotency-Key (``command``)."""

    command: CommandRequest
    handler: ClaimsHandler

    @property
    def tenant(self) -> str:
        return self.command.tenant

    async def seal(self, claim_id: uuid.UUID):
        """The function sealing free text with the key of the claim's debtor account (404 for
        another tenant's claim)."""
        record = await self.handler.claim_record(self.tenant, claim_id)
        return await self.handler.sealer.sealer_for(record.account)

    async def run(self, claim_id: uuid.UUID, command, body=None) -> ClaimOut:
        """Execute ``command`` on the claim; ``body`` fingerprints the Idempotency-Key. A retry
        of a request already carried out answers the current claim with
        ``Idempotent-Replayed: true``."""
        record, replayed = await self.handler.execute(
            self.tenant,
            claim_id,
            command,
            correlation_id=self.command.correlation_id,
            idempotency=self.command.idempotency(body),
        )
        self.command.answered(replayed)
        return await present(self.handler, record)


async def _command_call(
    command: Annotated[CommandRequest, Depends(command_request("claims:write"))],
    handler: HandlerDep,
) -> CommandCall:
    return CommandCall(command, handler)


CommandDep = Annotated[CommandCall, Depends(_command_call)]
