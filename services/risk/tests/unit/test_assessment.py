"""The pure risk domain: features, signals, segments and what the state publishes, folded from
claims events as the claims service writes them."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from amiable_events.claims import ClaimCancelled, DebtorPersonalDataErased
from amiable_events.risk import CreditLimitSet, InsolvencyRecorded, SegmentOverridden
from amiable_risk.domain.assess import assessment
from amiable_risk.domain.evolve import evolve
from amiable_risk.domain.features import features, slope
from amiable_risk.domain.publish import react
from amiable_risk.domain.scorecard import Scorecard
from tests.risk_givens import TODAY, History, at, paid_late

SCORECARD = Scorecard.load()


def fold(history: History, upto: int | None = None):
    state = None
    for envelope in history.envelopes[:upto]:
        state = evolve(state, envelope, SCORECARD)
    return state


def published(history: History) -> list:
    """Every event the reactions would append, in log order."""
    state, out = None, []
    for envelope in history.envelopes:
        state = evolve(state, envelope, SCORECARD)
        out += react(state, envelope)
    return out


def test_payments_5_9_14_20_30_days_late_raise_slowing_payments():
    history = History("acme")
    paid_late(history, [5, 9, 14, 20, 30], first_issued=TODAY - timedelta(days=400))
    state = fold(history)
    facts = features(state, state.as_of, SCORECARD)
    assert facts.days_late == (5, 9, 14, 20, 30)
    assert facts.late_slope == pytest.approx(6.1)
    assert "slowing_payments" in state.alerts
    [alert] = [e for e in published(history) if e.type.endswith("risk-alert-raised.v1")]
    assert alert.signal == "slowing_payments"
    assert alert.evidence["slope_days"] >= "2"
    # raised once, when it crossed, not on every later settlement
    assert tuple(alert.evidence["days_late"])[-1] in (20, 30)


def test_steady_payments_raise_nothing():
    history = History("acme")
    paid_late(history, [3, 2, 4, 3, 2, 3], first_issued=TODAY - timedelta(days=400))
    state = fold(history)
    assert state.alerts == ()
    assert state.assessment.segment == "reliable"


def test_an_insolvency_moves_the_debtor_to_insolvency_whatever_its_score():
    history = History("acme")
    paid_late(history, [0, 1, 0, 2, 0], first_issued=TODAY - timedelta(days=400))
    assert fold(history).assessment.segment == "reliable"
    history.add(
        InsolvencyRecorded(
            debtor_id="D-1",
            kind="safeguard",
            opened_on=TODAY,
            reference="TC Lyon 2026S00042",
            recorded_at=at(TODAY),
        ),
        at(TODAY),
    )
    state = fold(history)
    assert state.assessment.segment == "insolvency"
    assert state.assessment.scored_segment == "reliable"
    [assessed] = [e for e in react(state, history.envelopes[-1])]
    assert assessed.segment == "insolvency" and assessed.trigger == "account_changed"


def test_an_override_applies_until_its_last_day_then_the_score_decides_again():
    history = History("acme")
    paid_late(history, [0, 1, 0, 2, 0], first_issued=TODAY - timedelta(days=400))
    history.add(
        SegmentOverridden(
            debtor_id="D-1",
            segment="loyal_temporary_difficulty",
            reason="pii:v1:sealed",
            until=TODAY + timedelta(days=10),
            overridden_at=at(TODAY),
        ),
        at(TODAY),
    )
    state = fold(history)
    assert state.assessment.segment == "loyal_temporary_difficulty"
    assert assessment(state, TODAY + timedelta(days=10), SCORECARD).segment == (
        "loyal_temporary_difficulty"
    )
    assert assessment(state, TODAY + timedelta(days=11), SCORECARD).segment == "reliable"
    # erasure drops the sealed reason, keeps the decision
    history.add(DebtorPersonalDataErased(debtor_id="D-1", erased_at=at(TODAY)), at(TODAY))
    erased = fold(history)
    assert erased.override.reason is None
    assert erased.override.segment == "loyal_temporary_difficulty"


def test_an_open_balance_above_the_credit_limit_raises_exposure_above_limit_once():
    history = History("acme")
    history.claim(TODAY - timedelta(days=10), amount="700.00")
    history.add(
        CreditLimitSet(debtor_id="D-1", amount=Decimal("1000"), currency="EUR", set_at=at(TODAY)),
        at(TODAY),
    )
    assert fold(history).alerts == ()
    history.claim(TODAY, amount="400.00")
    history.claim(TODAY, amount="400.00")
    events = published(history)
    alerts = [e for e in events if e.type.endswith("risk-alert-raised.v1")]
    assert [a.signal for a in alerts] == ["exposure_above_limit"]
    assert alerts[0].evidence == {
        "open_balance": "1100.00",
        "credit_limit": "1000",
        "currency": "EUR",
    }


def test_an_unusual_month_of_claims_raises_a_volume_anomaly():
    history = History("acme")
    start = date(TODAY.year, TODAY.month, 1) - timedelta(days=200)
    for month in range(6):  # one claim a month for six months
        history.claim(start + timedelta(days=31 * month))
    for n in range(5):  # then five in the current month
        history.claim(date(TODAY.year, TODAY.month, 1) + timedelta(days=n))
    state = fold(history)
    assert "volume_anomaly" in state.alerts
    facts = features(state, state.as_of, SCORECARD)
    assert facts.claims_this_month == 5 and facts.baseline_claims <= 1.0


def test_broken_promises_and_a_defaulted_plan_raise_broken_promises_and_leave_after_a_year():
    history = History("acme")
    claim_id = history.claim(TODAY - timedelta(days=120))
    history.promise_broken(claim_id, TODAY - timedelta(days=60))
    history.plan_defaulted(claim_id, TODAY - timedelta(days=30))
    state = fold(history)
    assert "broken_promises" in state.alerts
    facts = features(state, TODAY + timedelta(days=400), SCORECARD)
    assert facts.broken_promises_365 == facts.defaulted_plans_365 == 0


def test_a_qualification_always_publishes_and_other_events_only_on_a_change():
    history = History("acme")
    first = history.claim(TODAY - timedelta(days=5))
    history.claim(TODAY - timedelta(days=5))
    history.add(
        ClaimCancelled(claim_id=first, reason="credit note", cancelled_at=at(TODAY)), at(TODAY)
    )
    triggers = [e.trigger for e in published(history) if e.type.endswith("risk-assessed.v1")]
    # two qualifications; the cancellation changed neither band, grade nor segment
    assert triggers == ["claim_qualified", "claim_qualified"]


def test_the_fold_is_deterministic_byte_for_byte():
    history = History("acme")
    paid_late(history, [5, 9, 14, 20, 30], first_issued=TODAY - timedelta(days=400))
    assert fold(history).model_dump_json() == fold(history).model_dump_json()


def test_events_of_a_claim_risk_never_saw_change_nothing():
    history = History("acme")
    history.claim(TODAY - timedelta(days=5))
    state = fold(history)
    stranger = History("acme", "D-other")
    claim_id = stranger.claim(TODAY)
    stranger.settle(claim_id, TODAY)
    after = evolve(state, stranger.envelopes[-1], SCORECARD)
    assert after.open == state.open and after.settlements == ()


def test_slope_is_least_squares_and_needs_three_points():
    assert slope((1, 2)) is None
    assert slope((0, 10, 20)) == pytest.approx(10)
    assert slope((30, 20, 10, 0)) == pytest.approx(-10)
