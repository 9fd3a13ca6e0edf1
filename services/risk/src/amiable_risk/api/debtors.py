"""A debtor account's risk: read it and its history; record collective proceedings, a credit
limit, a segment override."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Path, Query

from amiable_risk.api.deps import CommandDep, DebtorId, HandlerDep, ReaderDep
from amiable_risk.api.models import (
    AssessmentOut,
    CreditLimitIn,
    HistoryPage,
    InsolvencyIn,
    RiskOut,
    SegmentOverrideIn,
)
from amiable_risk.api.views import present
from amiable_risk.domain.commands import OverrideSegment, RecordInsolvency, SetCreditLimit

router = APIRouter(prefix="/v1/debtors", tags=["risk"])

DebtorPath = Annotated[DebtorId, Path(description="Your own id for the customer")]
COMMAND_ERRORS = {
    409: {"description": "The account's state forbids it (e.g. in collective proceedings)"},
    422: {"description": "Invalid fields, each with the reason"},
    503: {"description": "The log or the read model is unavailable; retry"},
}


@router.get(
    "/{debtor_id}/risk",
    operation_id="getDebtorRisk",
    response_model=RiskOut,
    responses={404: {"description": "Risk knows no such debtor for this tenant"}},
)
async def get_risk(debtor_id: DebtorPath, principal: ReaderDep, handler: HandlerDep) -> RiskOut:
    """The debtor's current score, grade, segment, the reasons and features behind them, and
    the scorecard version, as of the debtor's latest event."""
    account = await handler.account(principal.tenant, debtor_id)
    return await present(handler, principal.tenant, account)


@router.get(
    "/{debtor_id}/risk/history",
    operation_id="getDebtorRiskHistory",
    response_model=HistoryPage,
    responses={404: {"description": "Risk knows no such debtor for this tenant"}},
)
async def get_history(
    debtor_id: DebtorPath,
    principal: ReaderDep,
    handler: HandlerDep,
    cursor: Annotated[
        str | None,
        Query(pattern=r"^[0-9]{1,18}$", description="The `next_cursor` of the previous page"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> HistoryPage:
    """The assessments published for the debtor (`RiskAssessed`), latest first, in the order
    of the log."""
    await handler.account(principal.tenant, debtor_id)
    rows = await handler.read_model.history(
        principal.tenant, debtor_id, int(cursor) if cursor else None, limit + 1
    )
    items = [AssessmentOut(**row) for row in rows[:limit]]
    more = len(rows) > limit
    return HistoryPage(items=items, next_cursor=str(rows[limit - 1]["offset"]) if more else None)


@router.post(
    "/{debtor_id}/insolvency",
    operation_id="recordInsolvency",
    response_model=RiskOut,
    responses=COMMAND_ERRORS,
)
async def record_insolvency(debtor_id: DebtorPath, body: InsolvencyIn, call: CommandDep) -> RiskOut:
    """Record collective proceedings (`InsolvencyRecorded`): the debtor's segment becomes
    `insolvency`, on which dunning stops, and its claims stop adding the fixed recovery fee
    from `opened_on`. Recording the same proceeding again changes nothing."""
    command = RecordInsolvency(debtor_id, body.kind, body.opened_on, body.reference)
    return await call.run(command, body)


@router.put(
    "/{debtor_id}/credit-limit",
    operation_id="setCreditLimit",
    response_model=RiskOut,
    responses=COMMAND_ERRORS,
)
async def set_credit_limit(debtor_id: DebtorPath, body: CreditLimitIn, call: CommandDep) -> RiskOut:
    """Set the most the creditor accepts to have open on the debtor (`CreditLimitSet`); an
    open balance above it raises `exposure_above_limit`."""
    command = SetCreditLimit(debtor_id, Decimal(body.amount), body.currency)
    return await call.run(command, body)


@router.post(
    "/{debtor_id}/segment-override",
    operation_id="overrideSegment",
    response_model=RiskOut,
    responses=COMMAND_ERRORS,
)
async def override_segment(
    debtor_id: DebtorPath, body: SegmentOverrideIn, call: CommandDep
) -> RiskOut:
    """A person puts the debtor in another segment (`SegmentOverridden`), until `until` or
    another override: the score never decides alone (GDPR Art. 22), and dunning follows the
    segment that applies. Not while the debtor is in collective proceedings (409)."""
    command = OverrideSegment(debtor_id, body.segment, body.reason, body.until)
    return await call.run(command, body)
