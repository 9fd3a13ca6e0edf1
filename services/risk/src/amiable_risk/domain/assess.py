"""From features to an assessment (score, band, grade, segment, reasons) and to the weak signals
above their threshold. Pure; the scorecard holds every number."""

from __future__ import annotations

from datetime import date

from amiable_events.risk import Reason, Segment, Signal
from amiable_risk.domain.features import Features, features
from amiable_risk.domain.scorecard import Scorecard
from amiable_risk.domain.state import Account, Alert, Assessment

TOP_REASONS = 3


def _text(value) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def score(facts: Features, scorecard: Scorecard) -> tuple[int, tuple[Reason, ...]]:
    """The score (0-100) and the features that added points, largest first."""
    total, contributions = 0, []
    for name, bands in scorecard.features.items():
        value = getattr(facts, name)
        points, code = bands.band(value)
        total += points
        if points > 0:
            contributions.append((-points, code, value))
    top = sorted(contributions, key=lambda c: (c[0], c[1]))[:TOP_REASONS]
    reasons = tuple(
        Reason(code=code, points=-points, value=_text(value)) for points, code, value in top
    )
    return min(100, max(0, total)), reasons


def scored_segment(facts: Features, points: int, scorecard: Scorecard) -> Segment:
    rules = scorecard.segments
    disputer = rules.systematic_disputer
    if (
        facts.disputed_recent >= disputer.min_disputed
        and (facts.disputed_share or 0) >= disputer.min_disputed_share
    ):
        return "systematic_disputer"
    if points >= rules.high_risk.min_score:
        return "high_risk"
    settled = len(facts.days_late)
    new = rules.new_customer
    if facts.tenure_days <= new.max_tenure_days or settled <= new.max_settled:
        return "new_customer"
    chronic = rules.chronic_late_payer
    if (
        settled >= chronic.min_settled
        and (facts.share_paid_late or 0) >= chronic.min_share_paid_late
        and (facts.mean_days_late or 0) >= chronic.min_mean_days_late
    ):
        return "chronic_late_payer"
    loyal = rules.loyal_temporary_difficulty
    # A declared hardship is a trouble like a broken promise: the debtor says it cannot pay
    # for now, which is what this segment is for (dunning then proposes a plan).
    troubles = facts.broken_promises_365 + facts.defaulted_plans_365 + facts.hardships_365
    if facts.tenure_days >= loyal.min_tenure_days and (
        facts.oldest_days_past_due >= loyal.min_oldest_days_past_due
        or (facts.late_slope or 0) >= loyal.min_late_slope
        or troubles >= loyal.min_broken_or_defaulted
    ):
        return "loyal_temporary_difficulty"
    return "reliable"


def assessment(account: Account, as_of: date, scorecard: Scorecard) -> Assessment:
    facts = features(account, as_of, scorecard)
    return assess(account, facts, scorecard)


def assess(account: Account, facts: Features, scorecard: Scorecard) -> Assessment:
    points, reasons = score(facts, scorecard)
    scored = scored_segment(facts, points, scorecard)
    segment: Segment = scored
    if account.proceeding is not None:
        segment = "insolvency"
    elif account.override is not None and account.override.applies_on(facts.as_of):
        segment = account.override.segment
    return Assessment(
        score=points,
        band=scorecard.band(points),
        grade=scorecard.grade(points),
        segment=segment,
        scored_segment=scored,
        reasons=reasons,
        scorecard_version=scorecard.version,
        as_of=facts.as_of,
    )


def signals(account: Account, facts: Features, scorecard: Scorecard) -> tuple[Alert, ...]:
    """Every weak signal above its threshold, with its evidence, in a fixed order."""
    rules = scorecard.signals
    alerts: list[tuple[Signal, dict]] = []
    slowing = rules.slowing_payments
    if (
        len(facts.days_late) >= slowing.min_payments
        and facts.late_slope is not None
        and facts.late_slope >= slowing.min_slope_days
        and facts.days_late[-1] > facts.days_late[0]
    ):
        alerts.append(
            (
                "slowing_payments",
                {
                    "days_late": facts.days_late,
                    "slope_days": f"{facts.late_slope:.1f}",
                    "threshold_slope_days": f"{slowing.min_slope_days:g}",
                },
            )
        )
    disputes = rules.dispute_frequency
    if facts.disputes_90 >= disputes.min_disputes_90 or (
        facts.disputed_recent >= disputes.min_disputed
        and (facts.disputed_share or 0) >= disputes.min_disputed_share
    ):
        alerts.append(
            (
                "dispute_frequency",
                {
                    "disputes_90_days": facts.disputes_90,
                    "disputes_365_days": facts.disputes_365,
                    "disputed_of_recent_claims": facts.disputed_recent,
                    "recent_claims": facts.recent_claims,
                },
            )
        )
    volume = rules.volume_anomaly
    if (
        facts.baseline_months >= volume.min_baseline_months
        and facts.claims_this_month >= volume.min_claims
        and facts.volume_ratio is not None
        and facts.volume_ratio >= volume.min_ratio
    ):
        alerts.append(
            (
                "volume_anomaly",
                {
                    "month": facts.month,
                    "claims_this_month": facts.claims_this_month,
                    "amount_this_month": format(facts.amount_this_month, "f"),
                    "baseline_claims_per_month": f"{facts.baseline_claims:.1f}",
                    "threshold_ratio": f"{volume.min_ratio:g}",
                },
            )
        )
    broken = facts.broken_promises_365 + facts.defaulted_plans_365
    if broken >= rules.broken_promises.min_broken_or_defaulted:
        alerts.append(
            (
                "broken_promises",
                {
                    "broken_promises_365_days": facts.broken_promises_365,
                    "defaulted_plans_365_days": facts.defaulted_plans_365,
                },
            )
        )
    limit = account.credit_limit
    if limit is not None:
        owed = facts.open_balance.get(limit.currency)
        if owed is not None and owed > limit.amount:
            alerts.append(
                (
                    "exposure_above_limit",
                    {
                        "open_balance": format(owed, "f"),
                        "credit_limit": format(limit.amount, "f"),
                        "currency": limit.currency,
                    },
                )
            )
    return tuple(Alert(signal=signal, evidence=evidence) for signal, evidence in alerts)
