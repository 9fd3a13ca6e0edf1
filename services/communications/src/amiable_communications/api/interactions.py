"""Inbound interactions: the debtor's replies and calls, and the creditor's notes, sealed, on
the claim's timeline."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from amiable_communications.api.deps import (
    INVALID,
    UNAVAILABLE,
    CursorQuery,
    HandlerDep,
    LimitQuery,
    ReaderDep,
    WriterDep,
)
from amiable_communications.api.models import InteractionIn, InteractionOut, InteractionPage
from amiable_communications.domain.commands import RecordInteraction
from amiable_events.cursors import decode_cursor, encode_cursor

router = APIRouter(prefix="/v1/interactions", tags=["interactions"])


def _present(row: dict[str, Any], opened) -> InteractionOut:
    return InteractionOut(**{**row, "summary": opened(row["summary"])})


@router.post(
    "",
    operation_id="recordInteraction",
    status_code=201,
    responses={
        404: {"description": "No such claim for this tenant"},
        **INVALID,
        **UNAVAILABLE,
    },
    summary="Record a reply, an inbound call or a note on a claim (InteractionRecorded; the "
    "summary sealed)",
)
async def record_interaction(
    body: InteractionIn, command: WriterDep, handler: HandlerDep
) -> InteractionOut:
    interaction_id = handler.interaction_id(command.tenant, body.claim_id, command.idempotency_key)
    replayed = await handler.execute(
        command.tenant,
        RecordInteraction(
            claim_id=body.claim_id,
            interaction_id=interaction_id,
            kind=body.kind,
            summary=body.summary,
            recorded_by=command.principal.actor,
            channel=body.channel,
            in_reply_to=body.in_reply_to,
            occurred_at=body.occurred_at,
        ),
        correlation_id=command.correlation_id,
        idempotency=command.idempotency(body),
    )
    command.answered(replayed)
    [row] = await handler.read_model.interaction(command.tenant, interaction_id)
    return _present(row, await handler.opener(command.tenant, row["debtor_id"]))


@router.get(
    "",
    operation_id="listInteractions",
    responses=UNAVAILABLE,
    summary="The tenant's interactions (a claim's), latest first",
)
async def list_interactions(
    principal: ReaderDep,
    handler: HandlerDep,
    claim_id: Annotated[uuid.UUID | None, Query(description="Those on this claim")] = None,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> InteractionPage:
    rows = await handler.read_model.interactions(
        principal.tenant,
        claim_id=claim_id,
        after=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    openers = await handler.openers(principal.tenant, rows[:limit])
    items = [_present(row, openers[row["debtor_id"]]) for row in rows[:limit]]
    last = items[-1] if len(rows) > limit else None
    return InteractionPage(
        items=items,
        next_cursor=encode_cursor(last.occurred_at, last.interaction_id) if last else None,
    )
