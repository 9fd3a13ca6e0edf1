"""A debtor account's behaviour features on a given day: what the scorecard scores and the
signals watch. Computed from the state and that day only, never the wall clock."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache

from amiable_risk.domain.scorecard import Scorecard
from amiable_risk.domain.state import Account

YEAR = 365
QUARTER = 90


@dataclass(frozen=True)
class Features:
    as_of: date
    open_balance: dict[str, Decimal]
    open_count: int
    oldest_days_past_due: int
    #: Of the latest settlements, oldest first.
    days_late: tuple[int, ...]
    days_to_pay: tuple[int, ...]
    mean_days_late: float | None
    #: Days late gained per settlement, least squares over the latest settlements.
    late_slope: float | None
    share_paid_late: float | None
    broken_promises_365: int
    defaulted_plans_365: int
    hardships_365: int
    disputes_90: int
    disputes_365: int
    recent_claims: int
    disputed_recent: int
    disputed_share: float | None
    month: str
    claims_this_month: int
    amount_this_month: Decimal
    baseline_months: int
    baseline_claims: float | None
    volume_ratio: float | None
    first_claim_on: date | None
    tenure_days: int
    country: str | None
    exposure_ratio: float | None

    def as_json(self) -> dict:
        """For the API: decimals as strings, ratios rounded."""
        out = {}
        for name, value in asdict(self).items():
            if isinstance(value, float):
                value = round(value, 3)
            elif isinstance(value, Decimal):
                value = format(value, "f")
            elif isinstance(value, dict):
                value = {key: format(amount, "f") for key, amount in value.items()}
            elif isinstance(value, date):
                value = value.isoformat()
            out[name] = value
        return out


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months_before(day: date, count: int) -> tuple[str, ...]:
    """The ``count`` calendar months before ``day``'s month, latest first."""
    return _months_before(day.year, day.month, count)


@lru_cache(maxsize=4096)
def _months_before(year: int, month: int, count: int) -> tuple[str, ...]:
    months = []
    for _ in range(count):
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        months.append(f"{year:04d}-{month:02d}")
    return tuple(months)


def slope(values: tuple[int, ...]) -> float | None:
    """Least-squares slope of ``values`` against their index; None under 3 points."""
    n = len(values)
    if n < 3:
        return None
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    spread = sum((x - mean_x) ** 2 for x in range(n))
    return sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values)) / spread


def within(days: tuple[date, ...], as_of: date, window: int) -> int:
    since = as_of - timedelta(days=window)
    return sum(1 for day in days if since < day <= as_of)


def features(account: Account, as_of: date, scorecard: Scorecard) -> Features:
    history = scorecard.history
    settled = account.settlements[-history.settlements :]
    days_late = tuple(s.days_late for s in settled)
    oldest_due = min((claim.due_on for claim in account.open.values()), default=None)
    recent = account.recent_claims[-history.recent_claims :]
    disputed = sum(1 for claim in recent if claim.disputed)
    opened = tuple(dispute.opened_on for dispute in account.disputes)
    month = month_of(as_of)
    this_month = account.months.get(month)
    baseline_window = months_before(as_of, history.baseline_months)
    if account.first_claim_on is not None:
        # Only the months since the relationship began count towards the baseline.
        baseline_window = [m for m in baseline_window if m >= month_of(account.first_claim_on)]
    baseline = (
        sum(account.months[m].claims for m in baseline_window if m in account.months)
        / len(baseline_window)
        if baseline_window
        else None
    )
    claims_this_month = this_month.claims if this_month else 0
    balance = account.open_balance()
    limit = account.credit_limit
    exposure = None
    if limit is not None:
        owed = balance.get(limit.currency, Decimal(0))
        exposure = float(owed / limit.amount) if limit.amount else (0.0 if not owed else 99.0)
    return Features(
        as_of=as_of,
        open_balance=balance,
        open_count=len(account.open),
        oldest_days_past_due=max(0, (as_of - oldest_due).days) if oldest_due else 0,
        days_late=days_late,
        days_to_pay=tuple(s.days_to_pay for s in settled),
        mean_days_late=sum(days_late) / len(days_late) if days_late else None,
        late_slope=slope(days_late),
        share_paid_late=sum(1 for d in days_late if d > 0) / len(days_late) if days_late else None,
        broken_promises_365=within(account.broken_promises, as_of, YEAR),
        defaulted_plans_365=within(account.defaulted_plans, as_of, YEAR),
        hardships_365=within(account.hardships, as_of, YEAR),
        disputes_90=within(opened, as_of, QUARTER),
        disputes_365=within(opened, as_of, YEAR),
        recent_claims=len(recent),
        disputed_recent=disputed,
        disputed_share=disputed / len(recent) if recent else None,
        month=month,
        claims_this_month=claims_this_month,
        amount_this_month=this_month.amount if this_month else Decimal(0),
        baseline_months=len(baseline_window),
        baseline_claims=baseline,
        volume_ratio=(
            None
            if baseline is None
            else (claims_this_month / baseline if baseline else float(claims_this_month))
        ),
        first_claim_on=account.first_claim_on,
        tenure_days=(as_of - account.first_claim_on).days if account.first_claim_on else 0,
        country=account.country,
        exposure_ratio=exposure,
    )
