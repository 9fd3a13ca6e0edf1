"""Debtor statements, the aged balance and the portfolio KPIs: read-only views of the claims.

The sums come from PostgreSQL (``adapters/portfolio.py``), the formulas from
``domain/kpis.py``, a statement's amounts due from the rules: no route loads a tenant's claims."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from amiable_claims.adapters.portfolio import DebtorOpenClaims, PortfolioReadModel, StatementClaim
from amiable_claims.api.deps import HandlerDep, ReaderDep
from amiable_claims.api.views import money
from amiable_claims.domain import risk_mix
from amiable_claims.domain.figures import amount_due
from amiable_claims.domain.state import Policy
from amiable_events.errors import Invalid, NotFound
from amiable_events.inputs import EARLIEST, BoundedDate, Text

router = APIRouter(tags=["portfolio"])


async def _portfolio(request: Request) -> PortfolioReadModel:
    return request.app.state.portfolio


PortfolioDep = Annotated[PortfolioReadModel, Depends(_portfolio)]


@router.get("/v1/debtors/{debtor_id}/statement", operation_id="getDebtorStatement")
async def debtor_statement(
    debtor_id: Annotated[Text(100), Path(description="Your own id for the customer")],
    principal: ReaderDep,
    handler: HandlerDep,
    portfolio: PortfolioDep,
    as_of: Annotated[BoundedDate | None, Query(description="Defaults to today")] = None,
) -> dict[str, Any]:
    """The debtor's open claims with what each owes today (principal, late interest, fixed
    fee), the balance per currency, and the open principal aged in buckets 0-30, 31-60, 61-90
    and 90+ days past due."""
    account = await handler.read_model.debtor_account(principal.tenant, debtor_id)
    if account is None:
        raise NotFound(f"no claims on debtor {debtor_id} for this tenant", title="Debtor not found")
    day = as_of or handler.clock.now().date()
    found = await portfolio.debtor_open_claims(principal.tenant, debtor_id, day)
    # Replaying every open claim's payments against the rate table is CPU work: off the loop.
    balances = await asyncio.to_thread(_balances, found, day, handler.policy)
    return {
        "debtor_id": debtor_id,
        "legal_name": account["legal_name"],
        "country": account["country"],
        "as_of": day.isoformat(),
        "open_claims": len(found.states),
        "balances": balances,
    }


def _balances(found: DebtorOpenClaims, day: date, policy: Policy) -> list[dict[str, Any]]:
    """The statement's balances per currency (in a worker thread): each claim's amount due
    from the rules (``amount_due``), the aged principal from SQL."""
    by_currency: dict[str, list[StatementClaim]] = {}
    for state in found.states:
        claim = StatementClaim.model_validate_json(state)
        by_currency.setdefault(claim.currency, []).append(claim)
    balances = []
    for currency, claims in sorted(by_currency.items()):
        lines, balance = [], Decimal(0)
        for claim in claims:
            due = amount_due(claim, day, policy)  # every field it reads, see StatementClaim
            balance += due.total
            lines.append(
                {
                    "claim_id": str(claim.claim_id),
                    "invoice_number": claim.invoice_number,
                    "status": claim.status,
                    "due_on": claim.due_on.isoformat(),
                    "days_past_due": max(0, (day - claim.due_on).days),
                    "principal_outstanding": money(due.principal_outstanding, currency),
                    "interest": money(due.interest, currency),
                    "fixed_fee": money(due.fixed_fee, currency),
                    "total": money(due.total, currency),
                }
            )
        balances.append(
            {
                "currency": currency,
                "balance": money(balance, currency),
                "aged_principal": found.aged[currency].as_dict(),
                "claims": lines,
            }
        )
    return balances


@router.get("/v1/portfolio/aged-balance", operation_id="getAgedBalance")
async def aged_balance(
    principal: ReaderDep,
    handler: HandlerDep,
    portfolio: PortfolioDep,
    as_of: Annotated[BoundedDate | None, Query(description="Defaults to today")] = None,
) -> dict[str, Any]:
    """Open principal of every claim, per currency, in buckets current (not yet due), 1-30,
    31-60, 61-90 and 90+ days past due."""
    day = as_of or handler.clock.now().date()
    aged = await portfolio.aged_balances(principal.tenant, day)
    return {"as_of": day.isoformat(), "currencies": [a.as_dict() for a in aged]}


@router.get("/v1/portfolio/kpis", operation_id="getPortfolioKpis")
async def portfolio_kpis(
    principal: ReaderDep,
    handler: HandlerDep,
    portfolio: PortfolioDep,
    period_from: Annotated[
        BoundedDate | None,
        Query(alias="from", description="Inclusive; default: 30 days before `to`"),
    ] = None,
    period_to: Annotated[
        BoundedDate | None, Query(alias="to", description="Inclusive; default: today")
    ] = None,
) -> dict[str, Any]:
    """The tenant's recovery KPIs over the inclusive period, one set per currency.

    Placed = claims registered in the period; collected = payments dated in the period on
    claims already placed; open(d) = principal still owed at the end of day d.

    - **recovery rate** = collected in the period on claims placed in the period / amount
      placed in the period; `recovery_rate_all` = collected / (open at the start + placed).
    - **average collection delay** = mean days from due date to settlement, over claims
      settled in the period (`..._from_issue_days`: from the issue date).
    - **DSO (countback)** = walk back month by month from `to`, subtracting each month's
      invoiced amount from the open receivables at `to`: the days of the months fully consumed
      plus the consumed fraction of the last one.
    - **CEI** = (opening receivables + invoiced - closing total receivables) / (opening
      receivables + invoiced - closing current receivables) x 100.
    - **dispute rate** = claims first disputed in the period (the disputes service's first
      `DisputeOpened` of the claim, on the debtor's local date) / claims placed in the
      period, also by reason; a hardship is no dispute.
    - **cost of recovery** = recovery costs / amount collected (zero costs until the
      communications service records them).

    - **risk mix** (`risk_mix`, at `to`): per risk grade (A to E) and per segment, as the risk
      service last assessed each debtor (`unassessed`: not yet), the debtors with claims open
      at `to` and their open balance.

    Rates are fractions rounded to 4 places (0.8333 = 83.33 %); a ratio with a zero
    denominator is null. Amounts in different currencies are never added."""
    to = period_to or handler.clock.now().date()
    start = period_from or max(to - timedelta(days=30), EARLIEST)
    if start > to:
        raise Invalid.field("from", "must be on or before to")
    # Two queries of their own, on two connections at once.
    figures, mixes = await asyncio.gather(
        portfolio.period_kpis(principal.tenant, start, to),
        portfolio.risk_mix(principal.tenant, to, ()),
    )
    return {
        "from": start.isoformat(),
        "to": to.isoformat(),
        "currencies": [
            {
                **k.as_dict(),
                "risk_mix": (mixes.get(k.currency) or risk_mix.mix(k.currency, to, ())).as_dict(),
            }
            for k in figures
        ],
    }
