"""Disputes: open one on a claim, move it through review, mediation and resolution, and read
them, one, a page or the figures."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from amiable_disputes.api.deps import CommandDep, HandlerDep, ReaderDep
from amiable_disputes.api.models import (
    AssignIn,
    CommentIn,
    DisputeIn,
    DisputeOut,
    DisputePage,
    DisputeStats,
    DisputeSummary,
    MediationIn,
    ReclassifyIn,
    ResolveIn,
    WithdrawIn,
)
from amiable_disputes.api.views import amount, present
from amiable_disputes.domain.commands import (
    Assign,
    Comment,
    Mediate,
    OpenDispute,
    Reclassify,
    Resolve,
    Withdraw,
)
from amiable_events.cursors import CURSOR, decode_cursor, encode_cursor
from amiable_events.disputes import DisputeReason, EvidenceItem
from amiable_events.inputs import Text

router = APIRouter(prefix="/v1/disputes", tags=["disputes"])

DisputePath = Annotated[uuid.UUID, Path(description="The dispute's id")]
Status = Literal["open", "under_review", "mediation", "resolved", "withdrawn", "hardship"]
COMMAND_ERRORS = {
    404: {"description": "No such dispute (or claim) for this tenant"},
    409: {"description": "The dispute's status does not allow it; the answer names what it does"},
    422: {"description": "Invalid fields, each with the reason"},
    503: {"description": "The log or the read model is unavailable; retry"},
}


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@router.post(
    "",
    operation_id="openDispute",
    status_code=201,
    response_model=DisputeOut,
    responses={
        **COMMAND_ERRORS,
        404: {"description": "No such claim for this tenant"},
        409: {"description": "An active dispute already covers the claim, or it is closed"},
    },
)
async def open_dispute(body: DisputeIn, call: CommandDep, response: Response) -> DisputeOut:
    """The debtor contests the claim, all of it (no `disputed_amount`) or a part, which is at
    most the amount due today (`DisputeOpened`); chasing pauses on the disputed part. One active
    dispute per claim, across every replica. With `reason: cash_flow_difficulty` it declares a
    hardship instead (`HardshipDeclared`): no contestation, a payment plan rather than pressure.
    The acknowledgement and resolution deadlines are set now."""
    command = OpenDispute(
        claim_id=body.claim_id,
        dispute_id=call.handler.dispute_id(
            call.tenant, body.claim_id, call.command.idempotency_key
        ),
        reason=body.reason,
        raised_by=body.raised_by,
        disputed_amount=None if body.disputed_amount is None else Decimal(body.disputed_amount),
        description=body.description,
        evidence=tuple(EvidenceItem(**e.model_dump()) for e in body.evidence),
    )
    out = await call.run(command, body)
    response.headers["Location"] = f"/v1/disputes/{out.dispute_id}"
    return out


@router.get("", operation_id="listDisputes", response_model=DisputePage)
async def list_disputes(
    principal: ReaderDep,
    handler: HandlerDep,
    status: Annotated[list[Status] | None, Query(description="Any of these")] = None,
    reason: Annotated[list[DisputeReason] | None, Query(description="Any of these")] = None,
    claim_id: uuid.UUID | None = None,
    debtor_id: Annotated[Text(100) | None, Query(description="Your id for the customer")] = None,
    min_age_days: Annotated[
        int | None, Query(ge=0, le=36500, description="Opened at least this many days ago")
    ] = None,
    max_age_days: Annotated[
        int | None, Query(ge=0, le=36500, description="Opened at most this many days ago")
    ] = None,
    breached: Annotated[
        bool | None, Query(description="true: missed a deadline (acknowledge or resolve)")
    ] = None,
    limitation_at_risk: Annotated[
        bool | None, Query(description="true: the claim nears its limitation date")
    ] = None,
    cursor: Annotated[
        str | None, Query(pattern=CURSOR, description="`next_cursor` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DisputePage:
    """The tenant's disputes, latest opened first."""
    now = handler.clock.now()
    rows = await handler.read_model.disputes(
        principal.tenant,
        statuses=status,
        reasons=reason,
        claim_id=claim_id,
        debtor_id=debtor_id,
        opened_since=None if max_age_days is None else now - timedelta(days=max_age_days),
        opened_before=None if min_age_days is None else now - timedelta(days=min_age_days),
        after=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
        breached=breached,
        limitation_at_risk=limitation_at_risk,
    )
    items = [
        DisputeSummary(
            **{
                **row,
                "disputed_amount": amount(row["disputed_amount"]),
                "accepted_amount": amount(row["accepted_amount"]),
            }
        )
        for row in rows[:limit]
    ]
    last = items[-1] if len(rows) > limit else None
    return DisputePage(
        items=items,
        next_cursor=encode_cursor(last.opened_at, last.dispute_id) if last else None,
    )


@router.get("/stats", operation_id="getDisputeStats", response_model=DisputeStats)
async def dispute_stats(principal: ReaderDep, handler: HandlerDep) -> DisputeStats:
    """Active disputes by reason and age, the median time to resolution, the share upheld, and
    how often mediation settles a dispute."""
    stats = await handler.read_model.stats(principal.tenant, handler.clock.now())
    return DisputeStats(
        open=stats["open"],
        open_total=stats["open_total"],
        median_resolution=stats["median_resolution"],
        resolved=stats["resolved"],
        withdrawn=stats["withdrawn"],
        hardship=stats["hardship"],
        share_upheld=_ratio(stats["upheld"], stats["resolved"]),
        share_partially_upheld=_ratio(stats["partially_upheld"], stats["resolved"]),
        mediated=stats["mediated"],
        mediation_success_rate=_ratio(stats["mediated_settled"], stats["mediated"]),
    )


@router.get(
    "/{dispute_id}",
    operation_id="getDispute",
    response_model=DisputeOut,
    responses={404: {"description": "No such dispute for this tenant"}},
)
async def get_dispute(
    dispute_id: DisputePath, principal: ReaderDep, handler: HandlerDep
) -> DisputeOut:
    """The dispute, what its status allows next, and its history (its events, in log order)."""
    debtor_id, file, dispute = await handler.dispute(principal.tenant, dispute_id)
    return await present(handler, principal.tenant, debtor_id, file, dispute, with_history=True)


@router.post(
    "/{dispute_id}/assign",
    operation_id="assignDispute",
    response_model=DisputeOut,
    responses=COMMAND_ERRORS,
)
async def assign(dispute_id: DisputePath, body: AssignIn, call: CommandDep) -> DisputeOut:
    """Someone reviews the dispute (`open` -> `under_review`), or it changes hands
    (`DisputeAssigned`). This acknowledges it: its acknowledgement deadline is met."""
    return await call.run(Assign(dispute_id, body.assignee), body)


@router.post(
    "/{dispute_id}/mediation",
    operation_id="mediateDispute",
    response_model=DisputeOut,
    responses=COMMAND_ERRORS,
)
async def mediation(dispute_id: DisputePath, body: MediationIn, call: CommandDep) -> DisputeOut:
    """A mediator, who is not the assignee, takes the reviewed dispute
    (`DisputeEscalatedToMediation`)."""
    return await call.run(Mediate(dispute_id, body.mediator), body)


@router.post(
    "/{dispute_id}/resolve",
    operation_id="resolveDispute",
    response_model=DisputeOut,
    responses=COMMAND_ERRORS,
)
async def resolve(dispute_id: DisputePath, body: ResolveIn, call: CommandDep) -> DisputeOut:
    """The creditor's decision (`DisputeResolved`). Claims follows it: `upheld` cancels the
    claim (reduces it by the disputed amount when only a part was disputed),
    `partially_upheld` reduces it by `accepted_amount`, `reissued` cancels it for
    `new_invoice_number`, `rejected` lets chasing resume."""
    command = Resolve(
        dispute_id,
        body.outcome,
        body.resolution_note,
        accepted_amount=None if body.accepted_amount is None else Decimal(body.accepted_amount),
        new_invoice_number=body.new_invoice_number,
    )
    return await call.run(command, body)


@router.post(
    "/{dispute_id}/withdraw",
    operation_id="withdrawDispute",
    response_model=DisputeOut,
    responses=COMMAND_ERRORS,
)
async def withdraw(dispute_id: DisputePath, body: WithdrawIn, call: CommandDep) -> DisputeOut:
    """The debtor drops the dispute (`DisputeWithdrawn`); chasing resumes."""
    return await call.run(Withdraw(dispute_id, body.note), body)


@router.post(
    "/{dispute_id}/comments",
    operation_id="commentDispute",
    response_model=DisputeOut,
    responses=COMMAND_ERRORS,
)
async def comment(dispute_id: DisputePath, body: CommentIn, call: CommandDep) -> DisputeOut:
    """A note on the dispute, at any time, also once closed (`DisputeCommented`, sealed)."""
    return await call.run(Comment(dispute_id, body.comment), body)


@router.post(
    "/{dispute_id}/reclassify",
    operation_id="reclassifyDispute",
    response_model=DisputeOut,
    responses=COMMAND_ERRORS,
)
async def reclassify(dispute_id: DisputePath, body: ReclassifyIn, call: CommandDep) -> DisputeOut:
    """Correct the dispute's reason (`DisputeReclassified`). To `cash_flow_difficulty` the
    commercial conflict turns out to hide a cash problem: the dispute closes as a hardship and
    `HardshipDeclared` follows, so that dunning proposes a payment plan."""
    return await call.run(Reclassify(dispute_id, body.reason, body.note), body)
