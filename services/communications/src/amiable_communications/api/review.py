"""The review queue: messages whose policy step wants a person's eye before they go out."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path

from amiable_communications.api.deps import (
    UNAVAILABLE,
    ComposerDep,
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
    Content,
    DecisionIn,
    ReviewItem,
    ReviewPage,
)
from amiable_communications.app.writer import Refused, Writer
from amiable_communications.domain.commands import Review
from amiable_events.cursors import decode_cursor, encode_cursor

router = APIRouter(prefix="/v1/review-queue", tags=["review"])


@router.get(
    "",
    operation_id="listReviewQueue",
    responses=UNAVAILABLE,
    summary="The messages waiting for a person's review, the oldest first",
)
async def review_queue(
    principal: ReaderDep,
    handler: HandlerDep,
    composer: ComposerDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> ReviewPage:
    rows = await handler.read_model.review_queue(
        principal.tenant, after=decode_cursor(cursor) if cursor else None, limit=limit + 1
    )
    items = [await _item(composer, principal.tenant, row) for row in map(decoded, rows[:limit])]
    last = items[-1] if len(rows) > limit else None
    return ReviewPage(
        items=items,
        next_cursor=encode_cursor(last.queued_at, last.communication_id) if last else None,
    )


async def _item(composer: Writer, tenant: str, row: dict) -> ReviewItem:
    """A message in review with its text as it would go out now, or why none can be written."""
    fields = {name: row[name] for name in ReviewItem.model_fields if name in row}
    try:
        written = await composer.message(
            tenant, row["debtor_id"], row["communication_id"], addressed=False
        )
    except Refused as refused:
        return ReviewItem(**fields, preview=None, cannot_write=str(refused))
    message = written.message
    return ReviewItem(**fields, preview=Content(subject=message.subject, body=message.body))


@router.post(
    "/{communication_id}/decision",
    operation_id="decideReview",
    responses={
        404: {"description": "No such communication for this tenant"},
        409: {"description": "The message is not in review; the answer names its status"},
        422: {
            "description": "An edit without a subject or body, a reason other than on a "
            "rejection; invalid fields"
        },
        **UNAVAILABLE,
    },
    summary="Approve, edit (the subject and body as written, sealed) or reject (with a reason, "
    "sealed: the message is suppressed) a message in review",
)
async def decide(
    communication_id: Annotated[uuid.UUID, Path(description="The message in review")],
    body: DecisionIn,
    command: WriterDep,
    handler: HandlerDep,
) -> CommunicationOut:
    replayed = await handler.execute(
        command.tenant,
        Review(
            communication_id=communication_id,
            decision=body.decision,
            reviewer=command.principal.actor,
            subject=body.subject,
            body=body.body,
            reason=body.reason,
        ),
        correlation_id=command.correlation_id,
        idempotency=command.idempotency(body),
    )
    command.answered(replayed)
    row = await handler.message(command.tenant, communication_id)
    return present(row, await handler.opener(command.tenant, row["debtor_id"]))
