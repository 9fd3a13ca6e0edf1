"""When time alone changes a debtor's assessment: the day a claim crosses into an older
past-due band, a customer's tenure crosses a threshold, a broken promise, a hardship or a
dispute leaves its window, an override expires, a month starts. The risk projection keeps one
review timer per account, at the first such day whose assessment differs from the one last
published, moved to the debtor's next local business day; it fires ``RiskAssessed`` (trigger
``time_passed``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from amiable_risk.domain.assess import assessment
from amiable_risk.domain.features import QUARTER, YEAR
from amiable_risk.domain.scorecard import Scorecard
from amiable_risk.domain.state import Account, Assessment
from amiable_rules.business_days import next_business_day
from amiable_rules.local_time import zone

REVIEW = "review"
#: Local time a review fires: before the debtor's business day begins.
REVIEW_AT = time(6, 0)
#: How far ahead a review is looked for; an account with no change within it gets none (its
#: next event looks again).
HORIZON_DAYS = 400


@dataclass(frozen=True)
class Review:
    day: date
    due_at: datetime
    assessment: Assessment


def _days_after(day: date, days: float) -> date:
    return day + timedelta(days=int(days))


def _candidates(account: Account, scorecard: Scorecard) -> set[date]:
    """Days on which a feature may change with no event, each the first day of its new value."""
    days: set[date] = set()
    oldest_due = min((claim.due_on for claim in account.open.values()), default=None)
    segments = scorecard.segments
    if oldest_due is not None:
        bands = scorecard.features["oldest_days_past_due"].bands
        days |= {_days_after(oldest_due, band.upto + 1) for band in bands if band.upto is not None}
        loyal = segments.loyal_temporary_difficulty.min_oldest_days_past_due
        days.add(_days_after(oldest_due, loyal))
    if account.first_claim_on is not None:
        bands = scorecard.features["tenure_days"].bands
        thresholds = [band.upto + 1 for band in bands if band.upto is not None]
        thresholds += [
            segments.new_customer.max_tenure_days + 1,
            segments.loyal_temporary_difficulty.min_tenure_days,
        ]
        days |= {_days_after(account.first_claim_on, t) for t in thresholds}
    for day in (*account.broken_promises, *account.defaulted_plans, *account.hardships):
        days.add(_days_after(day, YEAR))
    for dispute in account.disputes:
        days |= {_days_after(dispute.opened_on, QUARTER), _days_after(dispute.opened_on, YEAR)}
    if account.override is not None and account.override.until is not None:
        days.add(account.override.until + timedelta(days=1))
    if account.as_of is not None:
        as_of = account.as_of
        days.add(date(as_of.year + (as_of.month == 12), as_of.month % 12 + 1, 1))
    return days


def next_review(account: Account, scorecard: Scorecard) -> Review | None:
    if account.as_of is None or account.assessment is None:
        return None
    published = account.published or account.assessment.key
    last = account.as_of + timedelta(days=HORIZON_DAYS)
    seen: set[date] = set()
    for day in sorted(d for d in _candidates(account, scorecard) if account.as_of < d <= last):
        business_day = next_business_day(day, account.country)
        if business_day in seen:
            continue
        seen.add(business_day)
        then = assessment(account, business_day, scorecard)
        if then.key != published:
            return Review(
                day=business_day,
                due_at=datetime.combine(business_day, REVIEW_AT, zone(account.timezone)),
                assessment=then,
            )
    return None
