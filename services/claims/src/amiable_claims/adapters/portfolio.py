"""The portfolio reads, added up by PostgreSQL: a tenant's KPI totals and aged balances, and a
debtor statement's aged principal and open claims.

They read the narrow rows the projector keeps beside each claim (``portfolio_claims``: its
currency, amount, dates, closure, placed amount and balance; ``claim_movements``: its payments
and credit notes), never the claims' states: a tenant of 100,000 claims is one statement, a few
dozen rows coming back. The formulas stay in :mod:`amiable_claims.domain.kpis`: the SQL gives
the sums it defines (:class:`~amiable_claims.domain.kpis.Totals`, invoiced per month), and
``kpis.from_totals`` and ``kpis.countback`` turn them into the figures, so each figure has one
definition (``tests/integration/test_portfolio_sql.py`` checks the two against each other).

Amounts are exact: numeric in PostgreSQL, Decimal here, each with the scale it was registered
with; PostgreSQL's sum keeps the largest scale of its terms as Decimal addition does, so a sum
prints as ``kpis.py`` prints it. An open balance is quantized to the currency's minor unit
(``amiable_rules.late_fees.open_principal``), so a sum of them is too, or a bare ``0`` when no
claim counted (:func:`_open`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

import asyncpg
from pydantic import BaseModel, ConfigDict

from amiable_claims.domain import kpis, risk_mix
from amiable_claims.domain.state import ClaimStatus, CreditFact, PaymentFact, PlanState
from amiable_events.claims import LatePaymentTerms
from amiable_rules import money
from amiable_rules.governing_law import GoverningLawSource

_ZERO = Decimal(0)


def _add(values: Iterable[Decimal | None]) -> Decimal | None:
    """The sum of the partial sums that are not None (a sum over no row), None if all are."""
    present = [v for v in values if v is not None]
    return sum(present, _ZERO) if present else None


def _open(amount: Decimal | None, currency: str) -> Decimal:
    """A sum of open balances (None: over no claim) as ``kpis.py`` adds them up: each is
    quantized to the currency's minor unit, and a claim that does not count (not issued yet,
    or closed) adds a bare ``0``."""
    if amount is None:
        return _ZERO
    return money.quantize(amount, currency)


def _bucket(style: kpis.AgingStyle) -> str:
    """The index of a claim's bucket of ``style`` (``dpd``: its days past due)."""
    buckets = kpis.aging_buckets(style)
    cases = " ".join(
        f"WHEN dpd <= {high} THEN {i}" for i, (_, _, high) in enumerate(buckets) if high is not None
    )
    return f"CASE {cases} ELSE {len(buckets) - 1} END"


# The statements name their tables in @schema. A claim's open balance at the end of day d is
# its amount less its movements dated by d, floored at 0: its ``balance`` (the amount less all
# its movements) plus those dated after d, which the index on (tenant, "on") finds, few for a
# recent d (most claims have none, and then no arithmetic). It is null when the claim does not
# count at d (not issued yet, or closed by then), and a sum over no row is null too: that is how
# "no claim counted" shows (see _open).
#
# The KPIs ($1 tenant, $2 and $3 the period's first and last days, $4 the day before it), per
# currency and month of issue (the DSO's countback needs the amount invoiced each month; the
# rest is added up in Python). ``later`` sums each claim's movements dated after $4: those after
# the period, and the payments collected and credit notes dated in it. The reasons of the claims
# first disputed in the period come as a list (few claims are disputed). The recovery costs are
# those of the claims with a payment collected in the period.
_KPI_TOTALS = """
WITH later AS (
    SELECT claim_id,
        sum(amount) AS after_start,
        sum(amount) FILTER (WHERE "on" > $3) AS after_end,
        sum(amount) FILTER (WHERE kind = 'credit' AND "on" <= $3) AS credited,
        sum(amount) FILTER (WHERE recovered AND "on" <= $3) AS collected
    FROM @schema.claim_movements
    WHERE tenant = $1 AND "on" > $4
    GROUP BY claim_id
),
claim AS (
    SELECT c.currency, c.issued_month AS month, c.amount, c.placed_amount, c.issued_on,
        c.due_on, c.registered_on, c.closed_on, c.recovery_cost, l.collected, l.credited,
        c.registered_on BETWEEN $2 AND $3 AS placed,
        CASE WHEN c.disputed_on BETWEEN $2 AND $3 THEN coalesce(c.dispute_reason, '@unspecified')
            END AS disputed_for,
        CASE WHEN c.closed_on BETWEEN $2 AND $3 THEN c.closed_as END AS closed_in,
        CASE WHEN c.issued_on <= $4 AND (c.closed_on IS NULL OR c.closed_on > $4) THEN
            CASE WHEN l.after_start IS NULL THEN greatest(c.balance, 0)
                ELSE greatest(c.balance + l.after_start, 0) END END AS open_start,
        CASE WHEN c.issued_on <= $3 AND (c.closed_on IS NULL OR c.closed_on > $3) THEN
            CASE WHEN l.after_end IS NULL THEN greatest(c.balance, 0)
                ELSE greatest(c.balance + l.after_end, 0) END END AS open_end
    FROM @schema.portfolio_claims c LEFT JOIN later l USING (claim_id)
    WHERE c.tenant = $1
)
SELECT currency, month,
    sum(amount) FILTER (WHERE issued_on <= $3) AS invoiced_by_end,
    count(*) FILTER (WHERE placed) AS placed_count,
    sum(placed_amount) FILTER (WHERE placed) AS placed_amount,
    sum(collected) AS collected_amount,
    sum(collected) FILTER (WHERE placed) AS collected_on_placed,
    sum(open_start) FILTER (WHERE registered_on <= $4) AS in_recovery,
    sum(amount) FILTER (WHERE issued_on >= $2 AND issued_on <= $3) AS invoiced,
    sum(credited) AS credited,
    sum(open_start) AS opening,
    sum(open_end) AS closing,
    sum(open_end) FILTER (WHERE due_on >= $3) AS current,
    count(*) FILTER (WHERE closed_in = 'settled') AS settled_count,
    sum(closed_on - due_on) FILTER (WHERE closed_in = 'settled') AS settled_delay,
    sum(closed_on - issued_on) FILTER (WHERE closed_in = 'settled') AS settled_delay_from_issue,
    count(*) FILTER (WHERE closed_in = 'written_off') AS written_off_count,
    count(*) FILTER (WHERE closed_in = 'cancelled') AS cancelled_count,
    array_agg(disputed_for) FILTER (WHERE disputed_for IS NOT NULL) AS disputed_for,
    sum(recovery_cost) FILTER (WHERE collected > 0) AS recovery_cost
FROM claim
GROUP BY currency, month
""".replace("@unspecified", kpis.UNSPECIFIED_REASON)

# The aged balance at $2: the claims with a positive open balance by currency and bucket of
# days past due (bucket null for the others: every currency has a row), of the tenant's claims...
_AGED = """
WITH later AS (
    SELECT claim_id, sum(amount) AS after
    FROM @schema.claim_movements
    WHERE tenant = $1 AND "on" > $2
    GROUP BY claim_id
),
claim AS (
    SELECT c.currency, $2 - c.due_on AS dpd,
        CASE WHEN c.issued_on <= $2 AND (c.closed_on IS NULL OR c.closed_on > $2) THEN
            CASE WHEN l.after IS NULL THEN c.balance ELSE c.balance + l.after END END AS open
    FROM @schema.portfolio_claims c LEFT JOIN later l USING (claim_id)
    WHERE c.tenant = $1 @claims
)
SELECT currency, CASE WHEN open > 0 THEN @bucket END AS bucket,
    count(*) AS n, sum(open) AS amount
FROM claim
GROUP BY currency, 2
"""
_AGED_PORTFOLIO = _AGED.replace("@claims", "").replace("@bucket", _bucket("portfolio"))
# ...or of debtor $3's claims registered by $2 and still open (a statement's).
_STATEMENT_CLAIMS = "AND c.debtor_id = $3 AND c.closed_as IS NULL AND c.registered_on <= $2"
_AGED_STATEMENT = _AGED.replace("@claims", _STATEMENT_CLAIMS).replace(
    "@bucket", _bucket("statement")
)

# The risk mix at $2: each debtor with claims open then (issued, not closed), per currency, with
# their open balance, grouped by the grade and segment of its latest assessment (null: never
# assessed); ``domain.risk_mix`` turns the groups into lines.
_RISK_MIX = """
WITH later AS (
    SELECT claim_id, sum(amount) AS after
    FROM @schema.claim_movements
    WHERE tenant = $1 AND "on" > $2
    GROUP BY claim_id
),
debtor AS (
    SELECT c.currency, c.debtor_id,
        sum(greatest(CASE WHEN l.after IS NULL THEN c.balance ELSE c.balance + l.after END, 0))
            AS open
    FROM @schema.portfolio_claims c LEFT JOIN later l USING (claim_id)
    WHERE c.tenant = $1 AND c.issued_on <= $2 AND (c.closed_on IS NULL OR c.closed_on > $2)
    GROUP BY c.currency, c.debtor_id
)
SELECT d.currency, r.grade, r.segment, count(*) AS debtors, sum(d.open) AS open
FROM debtor d LEFT JOIN @schema.debtor_risk r ON r.tenant = $1 AND r.debtor_id = d.debtor_id
GROUP BY d.currency, r.grade, r.segment
"""

# The states of those claims, in the statement's order.
_STATEMENT_STATES = f"""
SELECT s.state::text AS state
FROM @schema.portfolio_claims c JOIN @schema.claims s USING (claim_id)
WHERE c.tenant = $1 {_STATEMENT_CLAIMS}
ORDER BY c.due_on, c.claim_id
"""


def _in(schema: str, statement: str) -> str:
    """``statement`` on the tables of ``schema`` (quoted)."""
    return statement.replace("@schema", schema)


class StatementClaim(BaseModel):
    """What a statement line shows of a claim, read from its state's JSON: the fields
    ``domain.figures.amount_due`` reads (it takes this for a ``Claim``), and the line's own.
    Validating these instead of the whole state is half the work for a statement's
    thousands of claims."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    claim_id: UUID
    tenant: str
    invoice_number: str
    status: ClaimStatus
    amount: Decimal
    currency: str
    due_on: date
    payments: tuple[PaymentFact, ...] = ()
    credits: tuple[CreditFact, ...] = ()
    plan: PlanState | None = None
    governing_law: str | None = None
    governing_law_source: GoverningLawSource | None = None
    late_payment_terms: LatePaymentTerms | None = None
    fixed_fee_waived_from: date | None = None


@dataclass(frozen=True)
class DebtorOpenClaims:
    """A debtor's claims open at a date: their states (for the amounts due, which only the
    rules compute) and the aged principal per currency (from SQL)."""

    states: list[str]  # JSON text of each open claim's state, by due date (StatementClaim)
    aged: dict[str, kpis.AgedBalance]  # per currency of those claims


class PortfolioReadModel:
    """The portfolio reads of one tenant at a time (``store``: the claims projection)."""

    def __init__(self, store) -> None:
        self._store = store

    @contextlib.asynccontextmanager
    async def _reading(self) -> AsyncIterator[tuple[asyncpg.Connection, str]]:
        """asyncpg in a read-only transaction (a statement's two queries see one snapshot),
        and the quoted schema. No JIT (compiling the aggregates costs more than running them),
        and room for the per-claim sums of movements in memory."""
        async with self._store.reading() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            async with raw.transaction(isolation="repeatable_read", readonly=True):
                await raw.execute("SET LOCAL jit = off; SET LOCAL work_mem = '32MB'")
                yield raw, f'"{self._store.schema}"'

    async def period_kpis(self, tenant: str, period_from: date, period_to: date) -> list[kpis.Kpis]:
        """The tenant's KPIs over the period, one per currency (sorted)."""
        before = period_from - timedelta(days=1)
        async with self._reading() as (conn, schema):
            rows = await conn.fetch(
                _in(schema, _KPI_TOTALS), tenant, period_from, period_to, before
            )
        by_currency: dict[str, list] = {}
        for row in rows:
            by_currency.setdefault(row["currency"], []).append(row)
        return [
            _kpis(currency, months, period_from, period_to)
            for currency, months in sorted(by_currency.items())
        ]

    async def risk_mix(
        self, tenant: str, as_of: date, currencies: Iterable[str]
    ) -> dict[str, risk_mix.RiskMix]:
        """The risk mix at ``as_of`` of each of ``currencies`` (and of any other with claims
        open then)."""
        async with self._reading() as (conn, schema):
            rows = await conn.fetch(_in(schema, _RISK_MIX), tenant, as_of)
        found: dict[str, list[risk_mix.Group]] = {currency: [] for currency in currencies}
        for row in rows:
            found.setdefault(row["currency"], []).append(
                risk_mix.Group(row["grade"], row["segment"], row["debtors"], row["open"])
            )
        return {
            currency: risk_mix.mix(currency, as_of, groups)
            for currency, groups in sorted(found.items())
        }

    async def aged_balances(self, tenant: str, as_of: date) -> list[kpis.AgedBalance]:
        """The tenant's open balances at ``as_of`` by days past due, one per currency (every
        currency of its claims, sorted)."""
        async with self._reading() as (conn, schema):
            rows = await conn.fetch(_in(schema, _AGED_PORTFOLIO), tenant, as_of)
        return _aged(rows, as_of, "portfolio")

    async def debtor_open_claims(
        self, tenant: str, debtor_id: str, as_of: date
    ) -> DebtorOpenClaims:
        """The debtor's claims registered by ``as_of`` and not closed (a statement's)."""
        async with self._reading() as (conn, schema):
            aged = await conn.fetch(_in(schema, _AGED_STATEMENT), tenant, as_of, debtor_id)
            states = await conn.fetch(_in(schema, _STATEMENT_STATES), tenant, as_of, debtor_id)
        balances = _aged(aged, as_of, "statement")
        return DebtorOpenClaims(
            states=[row["state"] for row in states],
            aged={balance.currency: balance for balance in balances},
        )


def _kpis(currency: str, months: list, period_from: date, period_to: date) -> kpis.Kpis:
    """The KPIs of one currency from its rows (one per month of issue)."""

    def total(name: str) -> Decimal | None:
        return _add(row[name] for row in months)

    def amount(name: str) -> Decimal:
        found = total(name)
        return _ZERO if found is None else found  # "0.00" stays "0.00"

    def count(name: str) -> int:
        return sum(row[name] or 0 for row in months)

    closing = _open(total("closing"), currency)
    disputed: dict[str, int] = {}
    for row in months:
        for reason in row["disputed_for"] or ():
            disputed[reason] = disputed.get(reason, 0) + 1
    invoiced_by_month = {
        row["month"]: row["invoiced_by_end"] for row in months if row["invoiced_by_end"] is not None
    }
    return kpis.from_totals(
        kpis.Totals(
            currency=currency,
            period_from=period_from,
            period_to=period_to,
            placed_count=count("placed_count"),
            settled_count=count("settled_count"),
            written_off_count=count("written_off_count"),
            cancelled_count=count("cancelled_count"),
            disputed_by_reason=dict(sorted(disputed.items())),
            placed_amount=amount("placed_amount"),
            collected_amount=amount("collected_amount"),
            collected_on_placed=amount("collected_on_placed"),
            open_in_recovery_at_start=_open(total("in_recovery"), currency),
            invoiced_amount=amount("invoiced"),
            credited_amount=amount("credited"),
            opening_receivables=_open(total("opening"), currency),
            closing_receivables=closing,
            closing_current_receivables=_open(total("current"), currency),
            recovery_cost=amount("recovery_cost"),
            settled_delay_days=count("settled_delay"),
            settled_delay_from_issue_days=count("settled_delay_from_issue"),
            dso_days=kpis.countback(closing, invoiced_by_month, period_to),
        )
    )


def _aged(rows: list, as_of: date, style: kpis.AgingStyle) -> list[kpis.AgedBalance]:
    """One aged balance per currency (sorted) from rows of (currency, bucket, n, amount); the
    rows of bucket null (claims with nothing open) only say the currency is there."""
    found = {(row["currency"], row["bucket"]): row for row in rows}
    balances = []
    for currency in sorted({row["currency"] for row in rows}):
        buckets = []
        for i, (label, _, _) in enumerate(kpis.aging_buckets(style)):
            row = found.get((currency, i))
            buckets.append(
                kpis.AgingBucket(
                    label,
                    _open(row["amount"] if row else None, currency),
                    row["n"] if row else 0,
                )
            )
        count = sum(b.count for b in buckets)
        balances.append(
            kpis.AgedBalance(
                currency=currency,
                as_of=as_of,
                style=style,
                buckets=tuple(buckets),
                total=_open(_add(b.amount for b in buckets) if count else None, currency),
                count=count,
            )
        )
    return balances
