"""The messages of a tenant, each with its content as sent (the audit trail), and a letter's
tracking."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query

from amiable_communications.api.deps import (
    INVALID,
    UNAVAILABLE,
    CursorQuery,
    HandlerDep,
    LimitQuery,
    ReaderDep,
    WriterDep,
    decoded,
    present,
)
from amiable_communications.api.models import (
    CommunicationOut,
    CommunicationPage,
    CommunicationSummary,
    TrackingIn,
)
from amiable_communications.domain.commands import RecordTracking
from amiable_communications.domain.state import CommStatus
from amiable_events.cursors import decode_cursor, encode_cursor
from amiable_events.dunning import Channel

router = APIRouter(prefix="/v1/communications", tags=["communications"])

CommunicationPath = Annotated[uuid.UUID, Path(description="The communication's id")]
NOT_FOUND = {404: {"description": "No such communication for this tenant"}}


@router.get(
    "",
    operation_id="listCommunications",
    responses=UNAVAILABLE,
    summary="The tenant's messages, newest first (a claim's: those about it)",
)
async def list_communications(
    principal: ReaderDep,
    handler: HandlerDep,
    claim_id: Annotated[uuid.UUID | None, Query(description="Messages about this claim")] = None,
    status: Annotated[list[CommStatus] | None, Query(description="Any of these")] = None,
    channel: Annotated[list[Channel] | None, Query(description="Any of these")] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> CommunicationPage:
    rows = await handler.read_model.messages(
        principal.tenant,
        claim_id=claim_id,
        statuses=status,
        channels=channel,
        after=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    items = [CommunicationSummary(**CommunicationSummary.of(decoded(r))) for r in rows[:limit]]
    last = items[-1] if len(rows) > limit else None
    return CommunicationPage(
        items=items,
        next_cursor=encode_cursor(last.queued_at, last.communication_id) if last else None,
    )


@router.get(
    "/{communication_id}",
    operation_id="getCommunication",
    responses={**NOT_FOUND, **UNAVAILABLE},
    summary="One message: its whole record, the content as sent (opened: [erased] once the "
    "debtor is erased), its tracking, cost and outcome",
)
async def get_communication(
    communication_id: CommunicationPath, principal: ReaderDep, handler: HandlerDep
) -> CommunicationOut:
    row = await handler.message(principal.tenant, communication_id)
    return present(row, await handler.opener(principal.tenant, row["debtor_id"]))


@router.post(
    "/{communication_id}/tracking",
    operation_id="recordTracking",
    responses={
        **NOT_FOUND,
        409: {"description": "Not a letter that was sent; the answer names its status"},
        **INVALID,
        **UNAVAILABLE,
    },
    summary="A sent letter's tracking number and what the carrier says of it "
    "(TrackingRecorded); 'delivered' marks the letter delivered",
)
async def record_tracking(
    communication_id: CommunicationPath, body: TrackingIn, command: WriterDep, handler: HandlerDep
) -> CommunicationOut:
    replayed = await handler.execute(
        command.tenant,
        RecordTracking(
            communication_id=communication_id,
            tracking_number=body.tracking_number,
            carrier=body.carrier,
            status=body.status,
        ),
        correlation_id=command.correlation_id,
        idempotency=command.idempotency(body),
    )
    command.answered(replayed)
    row = await handler.message(command.tenant, communication_id)
    return present(row, await handler.opener(command.tenant, row["debtor_id"]))
