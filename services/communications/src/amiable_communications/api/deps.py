"""What every communications route shares: the scopes, the handler, the documented errors,
and how a stored message reads out (sealed texts opened)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import Depends, Query, Request

from amiable_communications.api.models import CommunicationOut, Content, CostOut, Tracking
from amiable_communications.app.handlers import CommunicationsHandler, content
from amiable_communications.app.writer import Writer
from amiable_events.auth import Principal, require_scope
from amiable_events.cursors import CURSOR
from amiable_events.http import CommandRequest, command_request

ReaderDep = Annotated[Principal, Depends(require_scope("communications:read"))]
WriterDep = Annotated[CommandRequest, Depends(command_request("communications:write"))]
CursorQuery = Annotated[
    str | None, Query(pattern=CURSOR, description="The `next_cursor` of the previous page")
]
LimitQuery = Annotated[int, Query(ge=1, le=200)]
UNAVAILABLE = {503: {"description": "The log or the read model is unavailable; retry"}}
INVALID = {422: {"description": "Invalid fields, each with the reason"}}


async def _handler(request: Request) -> CommunicationsHandler:
    return request.app.state.communications


HandlerDep = Annotated[CommunicationsHandler, Depends(_handler)]


async def _composer(request: Request) -> Writer:
    return request.app.state.writer


#: Writes a message as it would go out now (the preview, the review queue)
ComposerDep = Annotated[Writer, Depends(_composer)]


def amount(value) -> str | None:
    return None if value is None else format(value, "f")


#: The JSONB columns of a message row, which a connection without a JSON codec gives as text
_JSON = ("claims", "details", "outcome_detail")


def decoded(row: dict[str, Any]) -> dict[str, Any]:
    return {
        **row,
        **{c: orjson.loads(row[c]) for c in _JSON if isinstance(row[c], str)},
    }


def present(row: dict[str, Any], opened) -> CommunicationOut:
    """The whole message, its sealed texts opened with ``opened`` (the debtor account's)."""
    row = decoded(row)
    edited = None
    if row["edited_subject"] is not None or row["edited_body"] is not None:
        edited = Content(
            subject=opened(row["edited_subject"]) or "", body=opened(row["edited_body"]) or ""
        )
    tracking = None
    if row["tracking_number"] is not None:
        tracking = Tracking(
            tracking_number=row["tracking_number"],
            carrier=row["carrier"],
            status=row["tracking_status"],
        )
    cost = None
    if row["cost_amount"] is not None:
        cost = CostOut(amount=amount(row["cost_amount"]), currency=row["cost_currency"])
    return CommunicationOut(
        **{
            **row,
            "tracking": tracking,
            "cost": cost,
            "edited": edited,
            "content": content(opened(row["content"])),
            "notes": opened(row["notes"]),
        }
    )
