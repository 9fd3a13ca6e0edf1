"""Call and visit tasks for agents: what to work (the claim, the debtor, the amounts, the
script), and what came of it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from amiable_communications.api.deps import (
    UNAVAILABLE,
    CursorQuery,
    HandlerDep,
    LimitQuery,
    ReaderDep,
    WriterDep,
    amount,
    decoded,
)
from amiable_communications.api.models import (
    Callee,
    CallTask,
    CallTaskPage,
    ClaimAmount,
    OutcomeIn,
)
from amiable_communications.app.handlers import content
from amiable_communications.domain.commands import RecordCallOutcome
from amiable_communications.domain.state import Account
from amiable_events.communications import DisputeOutcome, PromiseOutcome
from amiable_events.cursors import decode_cursor, encode_cursor

router = APIRouter(prefix="/v1/call-tasks", tags=["call tasks"])

TaskPath = Annotated[uuid.UUID, Path(description="The task's id (its communication's)")]


def _claims(account: Account | None, claim_ids: list[str]) -> list[ClaimAmount]:
    found = []
    for claim_id in claim_ids:
        facts = None if account is None else account.claim(claim_id)
        ledger = None if facts is None else facts.ledger
        found.append(
            ClaimAmount(
                claim_id=uuid.UUID(claim_id),
                invoice_number=ledger and ledger.invoice_number,
                amount=ledger and amount(ledger.amount),
                unpaid_principal=ledger and amount(ledger.unpaid_principal),
                currency=ledger and ledger.currency,
            )
        )
    return found


def _task(row: dict[str, Any], account: Account | None, opened) -> CallTask:
    row = decoded(row)
    contacts = [] if account is None else account.contacts
    return CallTask(
        task_id=row["communication_id"],
        claim_id=row["claim_id"],
        debtor_id=row["debtor_id"],
        debtor_name="" if account is None else account.legal_name,
        channel=row["channel"],
        template=row["template"],
        step=row["step"],
        sent_at=row["sent_at"],
        claims=_claims(account, row["claims"]),
        contacts=[
            Callee(name=opened(c.name), phone=opened(c.phone), role=c.role)
            for c in contacts
            if c.phone
        ],
        script=content(opened(row["content"])),
        outcome=row["outcome"],
        outcome_detail=row["outcome_detail"],
        notes=opened(row["notes"]),
        agent=row["agent"],
        outcome_at=row["outcome_at"],
    )


async def _tasks(handler, tenant: str, rows: list[dict]) -> list[CallTask]:
    accounts = await handler.read_model.accounts(tenant, {r["debtor_id"] for r in rows})
    openers = await handler.openers(tenant, rows)
    return [_task(row, accounts.get(row["debtor_id"]), openers[row["debtor_id"]]) for row in rows]


@router.get(
    "",
    operation_id="listCallTasks",
    responses=UNAVAILABLE,
    summary="Call, visit and hand-over tasks, the longest waiting first: open (no outcome "
    "yet) or done",
)
async def list_call_tasks(
    principal: ReaderDep,
    handler: HandlerDep,
    status: Annotated[Literal["open", "done"], Query()] = "open",
    cursor: CursorQuery = None,
    limit: LimitQuery = 50,
) -> CallTaskPage:
    rows = await handler.read_model.tasks(
        principal.tenant,
        open=status == "open",
        after=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    items = await _tasks(handler, principal.tenant, rows[:limit])
    last = items[-1] if len(rows) > limit else None
    return CallTaskPage(
        items=items, next_cursor=encode_cursor(last.sent_at, last.task_id) if last else None
    )


@router.post(
    "/{task_id}/outcome",
    operation_id="recordCallOutcome",
    responses={
        404: {"description": "No such task for this tenant"},
        409: {"description": "The task has an outcome already, or is not open"},
        422: {
            "description": "A promise or a dispute missing for its outcome, or given for "
            "another; invalid fields"
        },
        **UNAVAILABLE,
    },
    summary="What came of a call or a visit (CallOutcomeRecorded; the notes sealed): claims "
    "records a promise, disputes opens a dispute, from it",
)
async def record_call_outcome(
    task_id: TaskPath, body: OutcomeIn, command: WriterDep, handler: HandlerDep
) -> CallTask:
    replayed = await handler.execute(
        command.tenant,
        RecordCallOutcome(
            communication_id=task_id,
            outcome=body.outcome,
            agent=command.principal.actor,
            promise=body.promise and PromiseOutcome(**body.promise.model_dump()),
            dispute=body.dispute and DisputeOutcome(**body.dispute.model_dump()),
            notes=body.notes,
        ),
        correlation_id=command.correlation_id,
        idempotency=command.idempotency(body),
    )
    command.answered(replayed)
    row = await handler.message(command.tenant, task_id)
    [task] = await _tasks(handler, command.tenant, [row])
    return task
