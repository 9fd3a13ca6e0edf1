"""Portfolio KPIs of a tenant's claims: pure arithmetic over plain facts. No I/O, no clock.

The caller builds one :class:`ClaimFacts` per claim and passes the dates; nothing here reads
the clock or a database, so every figure is reproducible from its inputs. The exact definitions
are in ``docs/kpis.md``; each function's docstring repeats its formula.

This module is the reference of the formulas. The service adds the sums up in PostgreSQL
(``amiable_claims.adapters.portfolio``: a large tenant's claims never come into Python) and
hands them to the functions that turn sums into figures here (:func:`from_totals`,
:func:`countback`); a test with a real database checks that both give the same figures.

Conventions (shared by every function):

* **One currency at a time.** Every KPI function takes a keyword-only ``currency`` and ignores
  the claims in any other currency: amounts in different currencies are never added. Use
  :func:`currencies` to list the currencies present and call once per currency.
* **Periods are inclusive calendar dates**: ``period_from <= d <= period_to``.
* **Money** is :class:`~decimal.Decimal`, summed exactly and never rounded.
* **Ratios** (rates, CEI, DSO and delays in days) are ``Decimal`` quantized to 4 decimal places,
  rounding half up (``RATE_PLACES``). A rate is a fraction (``0.8333`` is 83.33 %); only the CEI
  is a percentage, as in its formula. A ratio whose denominator is zero is ``None``.
* **Collected** means a payment whose value date is on or after the claim's ``registered_on``
  (a payment received before the claim was placed with amiable is not a recovery).
* **Placed amount** of a claim (:func:`placed_amount`) = ``amount`` - every credit note -
  the payments dated before ``registered_on``, floored at 0: what was actually owed when
  amiable took the claim, corrected by credit notes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, date, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any, Literal

from amiable_claims.domain.state import Claim, ClosedStatus
from amiable_rules.late_fees import Movement, open_principal

AgingStyle = Literal["portfolio", "statement"]

RATE_PLACES = Decimal("0.0001")
_CTX = Context(prec=28, rounding=ROUND_HALF_UP)
_ZERO = Decimal(0)
UNSPECIFIED_REASON = "unspecified"


@dataclass(frozen=True)
class ClaimFacts:
    """What the KPIs need to know about one claim, as plain values."""

    claim_id: str
    currency: str
    amount: Decimal  # invoiced principal; see placed_amount() for what was placed in recovery
    issued_on: date
    due_on: date
    registered_on: date  # placed in recovery (registered with amiable)
    payments: tuple[tuple[date, Decimal], ...]  # (value date, amount) allocated to this claim
    credits: tuple[tuple[date, Decimal], ...]  # credit notes / adjustments reducing what is owed
    closed_on: date | None  # settled, written off or cancelled on that date
    closed_as: ClosedStatus | None
    disputed_on: date | None = None  # the debtor's local date of the claim's first dispute
    dispute_reason: str | None = None
    recovery_cost: Decimal = Decimal(0)  # its share of the messages' costs (domain.costs)


def claim_facts(claim: Claim) -> ClaimFacts:
    """The facts of a claim's state. ``registered_on`` is the UTC date of its registration."""
    registered_at = claim.registered_at
    if registered_at.tzinfo is not None:
        registered_at = registered_at.astimezone(UTC)
    return ClaimFacts(
        claim_id=str(claim.claim_id),
        currency=claim.currency,
        amount=claim.amount,
        issued_on=claim.issued_on,
        due_on=claim.due_on,
        registered_on=registered_at.date(),
        payments=tuple((p.received_on, p.amount) for p in claim.payments),
        credits=tuple((c.on, c.amount) for c in claim.credits),
        closed_on=claim.closed_on,
        closed_as=claim.status if claim.closed else None,
        disputed_on=claim.disputed_on,
        dispute_reason=claim.dispute_reason,
        recovery_cost=claim.recovery_cost,
    )


# ---------------------------------------------------------------------------------------------
# Building blocks


def currencies(claims: Iterable[ClaimFacts]) -> tuple[str, ...]:
    """The currencies present in ``claims``, sorted: call the KPI functions once for each."""
    return tuple(sorted({c.currency for c in claims}))


def open_balance(claim: ClaimFacts, as_of: date) -> Decimal:
    """What the debtor still owes on ``claim`` at the end of ``as_of``: the open receivable.

    ``amount - credits dated <= as_of - payments dated <= as_of``, floored at 0 (the one rule
    of what is owed before late charges, ``amiable_rules.late_fees.open_principal``); and 0
    when the claim is not issued yet (``issued_on > as_of``) or already closed
    (``closed_on <= as_of``: settled, written off or cancelled).
    """
    if claim.issued_on > as_of:
        return _ZERO
    if claim.closed_on is not None and claim.closed_on <= as_of:
        return _ZERO
    movements = [Movement(d, "payment", a) for d, a in claim.payments] + [
        Movement(d, "credit", a) for d, a in claim.credits
    ]
    return open_principal(
        principal=claim.amount, currency=claim.currency, movements=movements, as_of=as_of
    )


def placed_amount(claim: ClaimFacts) -> Decimal:
    """The amount placed in recovery: ``amount - all credits - payments dated before
    registered_on``, floored at 0.

    Credit notes count whatever their date: a credit note says part of the invoice was never
    owed, so it was never recoverable either.
    """
    credited = sum((a for _, a in claim.credits), _ZERO)
    paid_before = sum((a for d, a in claim.payments if d < claim.registered_on), _ZERO)
    return max(_ZERO, claim.amount - credited - paid_before)


def collected(claim: ClaimFacts, period_from: date, period_to: date) -> Decimal:
    """Payments on ``claim`` with a value date in the period and on or after registered_on."""
    return sum(
        (
            a
            for d, a in claim.payments
            if period_from <= d <= period_to and d >= claim.registered_on
        ),
        _ZERO,
    )


def days_past_due(claim: ClaimFacts, as_of: date) -> int:
    """``(as_of - due_on)`` in days: 0 on the due date, negative before it."""
    return (as_of - claim.due_on).days


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal | None:
    """``numerator / denominator`` to 4 places (half up); None when the denominator is 0."""
    if denominator == 0:
        return None
    return _CTX.divide(numerator, denominator).quantize(RATE_PLACES, context=_CTX)


def _in(d: date | None, period_from: date, period_to: date) -> bool:
    return d is not None and period_from <= d <= period_to


def _of(claims: Iterable[ClaimFacts], currency: str) -> list[ClaimFacts]:
    return [c for c in claims if c.currency == currency]


def _check_period(period_from: date, period_to: date) -> None:
    if period_from > period_to:
        raise ValueError(f"period_from {period_from} is after period_to {period_to}")


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_json(v) for v in value]
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return value


class _AsDict:
    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values: Decimal -> str, date -> ISO 8601, None kept."""
        return {f.name: _json(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


# ---------------------------------------------------------------------------------------------
# Aged balance

# (label, lowest days past due, highest days past due or None for no upper bound)
_BUCKETS: dict[str, tuple[tuple[str, int | None, int | None], ...]] = {
    "portfolio": (
        ("current", None, 0),
        ("1-30", 1, 30),
        ("31-60", 31, 60),
        ("61-90", 61, 90),
        ("90+", 91, None),
    ),
    "statement": (
        ("0-30", None, 30),
        ("31-60", 31, 60),
        ("61-90", 61, 90),
        ("90+", 91, None),
    ),
}


def aging_buckets(style: AgingStyle) -> tuple[tuple[str, int | None, int | None], ...]:
    """The buckets of ``style``, youngest first: (label, lowest days past due, highest or
    None)."""
    if style not in _BUCKETS:
        raise ValueError(f"unknown aging style {style!r}")
    return _BUCKETS[style]


@dataclass(frozen=True)
class AgingBucket(_AsDict):
    label: str
    amount: Decimal  # sum of open balances in the bucket
    count: int  # claims with a positive open balance in the bucket


@dataclass(frozen=True)
class AgedBalance(_AsDict):
    currency: str
    as_of: date
    style: AgingStyle
    buckets: tuple[AgingBucket, ...]  # in order, youngest first
    total: Decimal
    count: int

    def bucket(self, label: str) -> AgingBucket:
        for b in self.buckets:
            if b.label == label:
                return b
        raise KeyError(label)


def aged_balance(
    claims: Iterable[ClaimFacts],
    as_of: date,
    *,
    currency: str,
    style: AgingStyle = "portfolio",
) -> AgedBalance:
    """Open balances at ``as_of`` bucketed by days past due (``as_of - due_on``).

    ``style="portfolio"``: ``current`` (<= 0, not yet due or due today), ``1-30``, ``31-60``,
    ``61-90``, ``90+`` (>= 91). ``style="statement"`` (debtor statements): ``0-30`` (<= 30,
    current included), ``31-60``, ``61-90``, ``90+``. Only claims with a positive
    :func:`open_balance` are counted; every bucket is present, possibly empty.
    """
    spec = aging_buckets(style)
    amounts = [_ZERO] * len(spec)
    counts = [0] * len(spec)
    for claim in _of(claims, currency):
        balance = open_balance(claim, as_of)
        if balance <= 0:
            continue
        dpd = days_past_due(claim, as_of)
        for i, (_, low, high) in enumerate(spec):
            if (low is None or dpd >= low) and (high is None or dpd <= high):
                amounts[i] += balance
                counts[i] += 1
                break
    buckets = tuple(
        AgingBucket(label, amount, count)
        for (label, _, _), amount, count in zip(spec, amounts, counts, strict=True)
    )
    return AgedBalance(
        currency=currency,
        as_of=as_of,
        style=style,
        buckets=buckets,
        total=sum(amounts, _ZERO),
        count=sum(counts),
    )


# ---------------------------------------------------------------------------------------------
# DSO, countback


def _month_start(d: date) -> date:
    return d.replace(day=1)


def dso_countback(claims: Iterable[ClaimFacts], as_of: date, *, currency: str) -> Decimal | None:
    """Days sales outstanding at ``as_of``, countback method.

    ``R`` = total open receivables at ``as_of`` (sum of :func:`open_balance`). Walk back through
    calendar months ending at ``as_of`` (the month containing ``as_of`` runs from its first day
    to ``as_of``; the earlier ones are whole months). For each month with ``I`` = invoiced
    amount (``amount`` of the claims whose ``issued_on`` falls in it) and ``D`` = its days:
    if ``R > I`` the month is fully consumed: ``DSO += D``, ``R -= I``; otherwise
    ``DSO += R / I x D`` and stop. None when no claim was issued on or before ``as_of``; 0 when
    nothing is open.
    """
    scoped = [c for c in _of(claims, currency) if c.issued_on <= as_of]
    if not scoped:
        return None
    remaining = sum((open_balance(c, as_of) for c in scoped), _ZERO)
    # Invoiced per month, summed once: the walk is linear in claims plus months.
    invoiced_in: dict[date, Decimal] = {}
    for c in scoped:
        month = _month_start(c.issued_on)
        invoiced_in[month] = invoiced_in.get(month, _ZERO) + c.amount
    return countback(remaining, invoiced_in, as_of)


def countback(
    receivables: Decimal, invoiced_by_month: Mapping[date, Decimal], as_of: date
) -> Decimal | None:
    """The walk of :func:`dso_countback`: ``receivables`` open at ``as_of``, and the amount
    invoiced in each month (keyed by its first day) of the claims issued on or before
    ``as_of``. None when there is no such month."""
    if not invoiced_by_month:
        return None
    # It stops after the month of the earliest issue date (the first of the months given).
    earliest = min(invoiced_by_month)
    remaining = receivables
    dso = _ZERO
    month_end = as_of
    while remaining > 0 and month_end >= earliest:
        start = _month_start(month_end)
        days = Decimal((month_end - start).days + 1)
        invoiced = invoiced_by_month.get(start, _ZERO)
        if remaining > invoiced:
            dso += days
            remaining -= invoiced
        else:
            dso += _CTX.multiply(_CTX.divide(remaining, invoiced), days)
            remaining = _ZERO
        month_end = start - timedelta(days=1)
    return dso.quantize(RATE_PLACES, context=_CTX)


# ---------------------------------------------------------------------------------------------
# Period KPIs


@dataclass(frozen=True)
class Kpis(_AsDict):
    """A tenant's KPIs over ``[period_from, period_to]`` in one currency. See docs/kpis.md."""

    currency: str
    period_from: date
    period_to: date
    # counts (events dated in the period)
    placed_count: int
    settled_count: int
    written_off_count: int
    cancelled_count: int
    disputed_count: int
    disputed_by_reason: Mapping[str, int]
    # amounts
    placed_amount: Decimal
    collected_amount: Decimal
    collected_on_placed: Decimal  # collected in the period on claims placed in the period
    open_in_recovery_at_start: Decimal
    invoiced_amount: Decimal
    credited_amount: Decimal
    opening_receivables: Decimal
    closing_receivables: Decimal
    closing_current_receivables: Decimal
    recovery_cost: Decimal
    # ratios
    recovery_rate: Decimal | None
    recovery_rate_all: Decimal | None
    average_collection_delay_days: Decimal | None
    average_collection_delay_from_issue_days: Decimal | None
    dso_days: Decimal | None
    cei: Decimal | None
    dispute_rate: Decimal | None
    dispute_rate_by_reason: Mapping[str, Decimal | None]
    cost_of_recovery: Decimal | None


@dataclass(frozen=True)
class Totals:
    """The counts and sums the period KPIs are made of, in one currency: what :func:`kpis` adds
    up over the claims (or PostgreSQL over its rows), before :func:`from_totals` divides."""

    currency: str
    period_from: date
    period_to: date
    placed_count: int
    settled_count: int
    written_off_count: int
    cancelled_count: int
    disputed_by_reason: Mapping[str, int]  # reasons sorted
    placed_amount: Decimal
    collected_amount: Decimal
    collected_on_placed: Decimal
    open_in_recovery_at_start: Decimal
    invoiced_amount: Decimal
    credited_amount: Decimal
    opening_receivables: Decimal
    closing_receivables: Decimal
    closing_current_receivables: Decimal
    recovery_cost: Decimal
    settled_delay_days: int  # sum of closed_on - due_on over the settled claims
    settled_delay_from_issue_days: int  # sum of closed_on - issued_on over them
    dso_days: Decimal | None  # dso_countback at period_to (countback from sums)


def from_totals(totals: Totals) -> Kpis:
    """The KPIs of ``totals``: every ratio of the period (see :func:`kpis`)."""
    t = totals
    invoiced_net = t.invoiced_amount - t.credited_amount
    opening, closing = t.opening_receivables, t.closing_receivables
    placed_n = Decimal(t.placed_count)
    settled_n = Decimal(t.settled_count)
    return Kpis(
        currency=t.currency,
        period_from=t.period_from,
        period_to=t.period_to,
        placed_count=t.placed_count,
        settled_count=t.settled_count,
        written_off_count=t.written_off_count,
        cancelled_count=t.cancelled_count,
        disputed_count=sum(t.disputed_by_reason.values()),
        disputed_by_reason=t.disputed_by_reason,
        placed_amount=t.placed_amount,
        collected_amount=t.collected_amount,
        collected_on_placed=t.collected_on_placed,
        open_in_recovery_at_start=t.open_in_recovery_at_start,
        invoiced_amount=t.invoiced_amount,
        credited_amount=t.credited_amount,
        opening_receivables=opening,
        closing_receivables=closing,
        closing_current_receivables=t.closing_current_receivables,
        recovery_cost=t.recovery_cost,
        recovery_rate=ratio(t.collected_on_placed, t.placed_amount),
        recovery_rate_all=ratio(t.collected_amount, t.open_in_recovery_at_start + t.placed_amount),
        average_collection_delay_days=ratio(Decimal(t.settled_delay_days), settled_n),
        average_collection_delay_from_issue_days=ratio(
            Decimal(t.settled_delay_from_issue_days), settled_n
        ),
        dso_days=t.dso_days,
        cei=ratio(
            (opening + invoiced_net - closing) * 100,
            opening + invoiced_net - t.closing_current_receivables,
        ),
        dispute_rate=ratio(Decimal(sum(t.disputed_by_reason.values())), placed_n),
        dispute_rate_by_reason={
            r: ratio(Decimal(n), placed_n) for r, n in t.disputed_by_reason.items()
        },
        cost_of_recovery=ratio(t.recovery_cost, t.collected_amount),
    )


def kpis(
    claims: Iterable[ClaimFacts],
    period_from: date,
    period_to: date,
    *,
    currency: str,
) -> Kpis:
    """Every KPI of the claims in ``currency`` over the inclusive period.

    With *placed* = claims whose ``registered_on`` is in the period, *collected* =
    :func:`collected` over the period, *settled* = ``closed_as == "settled"`` and ``closed_on``
    in the period, and ``open(d)`` = sum of :func:`open_balance` at ``d``:

    * ``recovery_rate`` (cohort) = collected in the period on placed claims /
      sum of :func:`placed_amount` of placed claims.
    * ``recovery_rate_all`` = collected in the period on all claims /
      (open balances at ``period_from - 1`` of claims registered before ``period_from``
      + placed amount of placed claims).
    * ``average_collection_delay_days`` = mean of ``closed_on - due_on`` (days, negative when
      paid early) over settled claims; ``..._from_issue_days`` = mean of ``closed_on - issued_on``.
    * ``dso_days`` = :func:`dso_countback` at ``period_to``.
    * ``cei`` = (O + I - C) / (O + I - Cc) x 100 with O = ``open(period_from - 1)``,
      I = ``amount`` of claims issued in the period - credit notes dated in the period,
      C = ``open(period_to)``, Cc = ``open(period_to)`` of claims with ``due_on >= period_to``.
    * ``dispute_rate`` = claims with ``disputed_on`` in the period / placed claims (count);
      ``dispute_rate_by_reason[r]`` = the same numerator restricted to reason ``r``
      (``"unspecified"`` when None) over the same denominator.
    * ``cost_of_recovery`` = sum of ``recovery_cost`` of the claims with a collected payment in
      the period / collected in the period.

    Ratios with a zero denominator are None (an empty portfolio never raises).
    """
    _check_period(period_from, period_to)
    scoped = _of(claims, currency)
    before = period_from - timedelta(days=1)

    def in_period(d: date | None) -> bool:
        return _in(d, period_from, period_to)

    placed = [c for c in scoped if in_period(c.registered_on)]
    collected_by_claim = [(c, collected(c, period_from, period_to)) for c in scoped]
    settled = [c for c in scoped if c.closed_as == "settled" and in_period(c.closed_on)]
    by_reason: dict[str, int] = {}
    for c in scoped:
        if in_period(c.disputed_on):
            reason = c.dispute_reason or UNSPECIFIED_REASON
            by_reason[reason] = by_reason.get(reason, 0) + 1
    return from_totals(
        Totals(
            currency=currency,
            period_from=period_from,
            period_to=period_to,
            placed_count=len(placed),
            settled_count=len(settled),
            written_off_count=sum(
                1 for c in scoped if c.closed_as == "written_off" and in_period(c.closed_on)
            ),
            cancelled_count=sum(
                1 for c in scoped if c.closed_as == "cancelled" and in_period(c.closed_on)
            ),
            disputed_by_reason=dict(sorted(by_reason.items())),
            placed_amount=sum((placed_amount(c) for c in placed), _ZERO),
            collected_amount=sum((a for _, a in collected_by_claim), _ZERO),
            collected_on_placed=sum((collected(c, period_from, period_to) for c in placed), _ZERO),
            open_in_recovery_at_start=sum(
                (open_balance(c, before) for c in scoped if c.registered_on <= before), _ZERO
            ),
            invoiced_amount=sum((c.amount for c in scoped if in_period(c.issued_on)), _ZERO),
            credited_amount=sum((a for c in scoped for d, a in c.credits if in_period(d)), _ZERO),
            opening_receivables=sum((open_balance(c, before) for c in scoped), _ZERO),
            closing_receivables=sum((open_balance(c, period_to) for c in scoped), _ZERO),
            closing_current_receivables=sum(
                (open_balance(c, period_to) for c in scoped if days_past_due(c, period_to) <= 0),
                _ZERO,
            ),
            recovery_cost=sum((c.recovery_cost for c, a in collected_by_claim if a > 0), _ZERO),
            settled_delay_days=sum((c.closed_on - c.due_on).days for c in settled if c.closed_on),
            settled_delay_from_issue_days=sum(
                (c.closed_on - c.issued_on).days for c in settled if c.closed_on
            ),
            dso_days=dso_countback(scoped, period_to, currency=currency),
        )
    )
