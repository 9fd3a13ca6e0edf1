"""Risk across a tenant's debtors: alerts, the scorecard in force, the risk mix."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from amiable_events.cursors import CURSOR, decode_cursor, encode_cursor
from amiable_events.inputs import BoundedDateTime
from amiable_events.risk import Signal
from amiable_risk.api.deps import DebtorId, HandlerDep, ReaderDep
from amiable_risk.api.models import AlertOut, AlertPage, PortfolioOut

router = APIRouter(prefix="/v1/risk", tags=["risk"])


@router.get("/alerts", operation_id="listRiskAlerts", response_model=AlertPage)
async def list_alerts(
    principal: ReaderDep,
    handler: HandlerDep,
    debtor_id: DebtorId | None = None,
    signal: Signal | None = None,
    since: Annotated[BoundedDateTime | None, Query(description="Raised at or after")] = None,
    until: Annotated[BoundedDateTime | None, Query(description="Raised before")] = None,
    cursor: Annotated[
        str | None, Query(pattern=CURSOR, description="The `next_cursor` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> AlertPage:
    """The alerts raised on the tenant's debtors (`RiskAlertRaised`), latest first."""
    rows = await handler.read_model.alerts(
        principal.tenant,
        debtor_id=debtor_id,
        signal=signal,
        since=since,
        until=until,
        after=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    items = [AlertOut(**row) for row in rows[:limit]]
    last = items[-1] if len(rows) > limit else None
    return AlertPage(
        items=items, next_cursor=encode_cursor(last.raised_at, last.event_id) if last else None
    )


@router.get("/scorecard", operation_id="getScorecard")
async def get_scorecard(principal: ReaderDep, handler: HandlerDep) -> dict:
    """The scorecard in force: points per feature band, grades, segment rules, signal
    thresholds, and its version (every assessment names the version it was made with)."""
    return handler.scorecard.model_dump(mode="json")


@router.get("/portfolio", operation_id="getRiskPortfolio", response_model=PortfolioOut)
async def get_portfolio(principal: ReaderDep, handler: HandlerDep) -> PortfolioOut:
    """The tenant's debtors and their open balance per grade and per segment: the risk mix."""
    mix = await handler.read_model.portfolio(principal.tenant)
    return PortfolioOut(by_grade=mix["grade"], by_segment=mix["segment"])
