"""A claim's dunning, the collectors' day plan and approval queue, and a person's approval."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from amiable_dunning.api.models import (
    ApprovalItem,
    ApprovalPage,
    ApproveIn,
    ClaimDunningOut,
    PauseOut,
    StepOut,
    UpcomingPage,
    UpcomingStep,
)
from amiable_dunning.app.handlers import DunningHandler
from amiable_dunning.domain.commands import Approve
from amiable_dunning.domain.state import ClaimDunning
from amiable_events.auth import Principal, require_scope
from amiable_events.http import CommandRequest, command_request

router = APIRouter(tags=["dunning"])

ReaderDep = Annotated[Principal, Depends(require_scope("dunning:read"))]
WriterDep = Annotated[CommandRequest, Depends(command_request("dunning:write"))]
ClaimPath = Annotated[uuid.UUID, Path(description="The claim's id")]
ERRORS = {
    404: {"description": "No such claim for this tenant (or not read by dunning yet)"},
    503: {"description": "The log or the read model is unavailable; retry"},
}


async def _handler(request: Request) -> DunningHandler:
    return request.app.state.dunning


HandlerDep = Annotated[DunningHandler, Depends(_handler)]


def present(claim: ClaimDunning) -> ClaimDunningOut:
    pending = claim.pending if claim.status == "active" else []
    return ClaimDunningOut(
        claim_id=uuid.UUID(claim.claim_id),
        status=claim.status,
        stop_reason=claim.stop_reason,
        track=claim.track,
        policy_id=claim.policy_id,
        policy_version=claim.policy_version,
        revision=claim.revision,
        pause=None if claim.pause is None else PauseOut(**claim.pause.model_dump()),
        next_step=StepOut.of(pending[0]) if pending else None,
        steps=[StepOut.of(r) for r in claim.steps],
        history=[StepOut.of(r) for r in claim.history],
    )


@router.get(
    "/v1/claims/{claim_id}/dunning",
    operation_id="getClaimDunning",
    responses=ERRORS,
    summary="The claim's plan and each step's status, reason and policy version",
)
async def claim_dunning(
    claim_id: ClaimPath, principal: ReaderDep, handler: HandlerDep
) -> ClaimDunningOut:
    return present(await handler.claim(principal.tenant, claim_id))


@router.post(
    "/v1/claims/{claim_id}/dunning/approve",
    operation_id="approveDunningStep",
    responses={
        **ERRORS,
        409: {
            "description": "The step is not waiting for approval; the answer lists those that are"
        },
        422: {"description": "Invalid fields, each with the reason"},
    },
    summary="A person approves a step that needs one (a bailiff's summons, the litigation "
    "handoff): it goes out now; the handoff ends amicable recovery (ClaimEscalated)",
)
async def approve(
    claim_id: ClaimPath, body: ApproveIn, command: WriterDep, handler: HandlerDep
) -> ClaimDunningOut:
    replayed = await handler.approve(
        command.tenant,
        Approve(claim_id=claim_id, step=body.step, approved_by=command.principal.actor),
        correlation_id=command.correlation_id,
        idempotency=command.idempotency(body),
    )
    command.answered(replayed)
    return present(await handler.claim(command.tenant, claim_id))


@router.get(
    "/v1/dunning/upcoming",
    operation_id="listUpcomingDunningSteps",
    responses={503: ERRORS[503]},
    summary="Steps due in the next days, the oldest debts first, then the largest",
)
async def upcoming(
    principal: ReaderDep,
    handler: HandlerDep,
    days: Annotated[int, Query(ge=1, le=90, description="How many days ahead")] = 7,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> UpcomingPage:
    rows = await handler.upcoming(principal.tenant, days, limit)
    return UpcomingPage(
        items=[UpcomingStep(**{**row, "amount": format(row["amount"], "f")}) for row in rows]
    )


@router.get(
    "/v1/dunning/approvals",
    operation_id="listDunningApprovals",
    responses={503: ERRORS[503]},
    summary="The steps waiting for a person's approval, oldest first",
)
async def approvals(
    principal: ReaderDep,
    handler: HandlerDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ApprovalPage:
    rows = await handler.read_model.approvals(principal.tenant, limit)
    return ApprovalPage(
        items=[ApprovalItem(**{**row, "amount": format(row["amount"], "f")}) for row in rows]
    )
