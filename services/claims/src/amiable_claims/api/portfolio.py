"""Debtor statements, the aged balance and the portfolio KPIs: read-only views of the claims."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from amiable_claims.api.deps import HandlerDep, ReaderDep
from amiable_claims.api.views import money
from amiable_claims.app.handlers import ClaimsHandler
from amiable_claims.domain import kpis
from amiable_claims.domain.figures import amount_due
from amiable_claims.domain.state import Claim, Policy
from amiable_events.errors import Invalid, NotFound
from amiable_events.inputs import EARLIEST, BoundedDate, Text

router = APIRouter(tags=["portfolio"])


def facts(claim: Claim) -> kpis.ClaimFacts:
    closed_as = claim.status if claim.closed else None
    return kpis.ClaimFacts(
        claim_id=str(claim.claim_id),
        currency=claim.currency,
        amount=claim.amount,
        issued_on=claim.issued_on,
        due_on=claim.due_on,
        registered_on=claim.registered_at.date(),
        payments=tuple((p.received_on, p.amount) for p in claim.payments),
        credits=tuple((c.on, c.amount) for c in claim.credits),
        closed_on=claim.closed_on,
        closed_as=closed_as,
    )


async def _claims(handler: ClaimsHandler, tenant: str) -> list[Claim]:
    return await handler.read_model.portfolio(tenant)


@router.get("/v1/debtors/{debtor_id}/statement", operation_id="getDebtorStatement")
async def debtor_statement(
    debtor_id: Annotated[Text(100), Path(description="Your own id for the customer")],
    principal: ReaderDep,
    handler: HandlerDep,
    as_of: Annotated[BoundedDate | None, Query(description="Defaults to today")] = None,
) -> dict[str, Any]:
    """The debtor's open claims with what each owes today (principal, late interest, fixed
    fee), the balance per currency, and the open principal aged in buckets 0-30, 31-60, 61-90
    and 90+ days past due."""
    account = await handler.read_model.debtor_account(principal.tenant, debtor_id)
    if account is None:
        raise NotFound(f"no claims on debtor {debtor_id} for this tenant", title="Debtor not found")
    day = as_of or handler.clock.now().date()
    states = await handler.read_model.of_debtor(principal.tenant, debtor_id)
    open_claims = [c for c in states if not c.closed and c.registered_at.date() <= day]
    # Replaying every open claim's payments against the rate table is CPU work: off the loop.
    balances = await asyncio.to_thread(_balances, open_claims, day, handler.policy)
    return {
        "debtor_id": debtor_id,
        "legal_name": account["legal_name"],
        "country": account["country"],
        "as_of": day.isoformat(),
        "open_claims": len(open_claims),
        "balances": balances,
    }


def _balances(open_claims: list[Claim], day: date, policy: Policy) -> list[dict[str, Any]]:
    """The statement's balances per currency (in a worker thread)."""
    by_currency: dict[str, list[Claim]] = {}
    for claim in open_claims:
        by_currency.setdefault(claim.currency, []).append(claim)
    balances = []
    for currency, claims in sorted(by_currency.items()):
        lines, balance = [], Decimal(0)
        for claim in claims:
            due = amount_due(claim, day, policy)
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
        aged = kpis.aged_balance(
            [facts(c) for c in claims], day, currency=currency, style="statement"
        ).as_dict()
        balances.append(
            {
                "currency": currency,
                "balance": money(balance, currency),
                "aged_principal": aged,
                "claims": lines,
            }
        )
    return balances


@router.get("/v1/portfolio/aged-balance", operation_id="getAgedBalance")
async def aged_balance(
    principal: ReaderDep,
    handler: HandlerDep,
    as_of: Annotated[BoundedDate | None, Query(description="Defaults to today")] = None,
) -> dict[str, Any]:
    """Open principal of every claim, per currency, in buckets current (not yet due), 1-30,
    31-60, 61-90 and 90+ days past due."""
    day = as_of or handler.clock.now().date()
    claims = await _claims(handler, principal.tenant)

    def compute() -> list[dict[str, Any]]:
        facts_ = [facts(c) for c in claims]
        return [
            kpis.aged_balance(facts_, day, currency=currency).as_dict()
            for currency in kpis.currencies(facts_)
        ]

    return {"as_of": day.isoformat(), "currencies": await asyncio.to_thread(compute)}


@router.get("/v1/portfolio/kpis", operation_id="getPortfolioKpis")
async def portfolio_kpis(
    principal: ReaderDep,
    handler: HandlerDep,
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
    - **dispute rate** = claims disputed in the period / claims placed in the period, also by
      reason (zero until the disputes service emits disputes).
    - **cost of recovery** = recovery costs / amount collected (zero costs until the
      communications service records them).

    Rates are fractions rounded to 4 places (0.8333 = 83.33 %); a ratio with a zero
    denominator is null. Amounts in different currencies are never added."""
    to = period_to or handler.clock.now().date()
    start = period_from or max(to - timedelta(days=30), EARLIEST)
    if start > to:
        raise Invalid.field("from", "must be on or before to")
    claims = await _claims(handler, principal.tenant)

    def compute() -> list[dict[str, Any]]:
        facts_ = [facts(c) for c in claims]
        return [
            kpis.kpis(facts_, start, to, currency=currency).as_dict()
            for currency in kpis.currencies(facts_)
        ]

    # Linear in claims plus months (the period is bounded by the date window), and off the
    # loop: /healthz and every other request keep answering while a large tenant's KPIs run.
    return {
        "from": start.isoformat(),
        "to": to.isoformat(),
        "currencies": await asyncio.to_thread(compute),
    }
