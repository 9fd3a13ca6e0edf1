"""Disputes and hardships in the risk fold, as the disputes service writes them: the dispute
features, the systematic disputer, the dispute_frequency signal and the hardship that marks a
temporary difficulty."""

from __future__ import annotations

from datetime import timedelta

from amiable_events.ids import keyed_id
from amiable_risk.domain.evolve import evolve
from amiable_risk.domain.features import features
from amiable_risk.domain.publish import react
from amiable_risk.domain.scorecard import Scorecard
from amiable_risk.domain.timers import next_review
from amiable_rules.business_days import next_business_day
from tests.risk_givens import TODAY, History, at, paid_late

SCORECARD = Scorecard.load()


def fold(history: History):
    state = None
    for envelope in history.envelopes:
        state = evolve(state, envelope, SCORECARD)
    return state


def published(history: History) -> list:
    state, out = None, []
    for envelope in history.envelopes:
        state = evolve(state, envelope, SCORECARD)
        out += react(state, envelope)
    return out


def alerts(events: list, signal: str) -> list:
    return [e for e in events if e.type.endswith("risk-alert-raised.v1") and e.signal == signal]


def six_claims(history: History) -> list:
    return [history.claim(TODAY - timedelta(days=200 - 20 * n)) for n in range(6)]


def test_a_debtor_disputing_4_of_its_last_6_claims_becomes_a_systematic_disputer():
    history = History("acme")
    claims = six_claims(history)
    before = fold(history).assessment
    for claim_id in claims[1:5]:
        history.disputed(claim_id, TODAY - timedelta(days=10))
    state = fold(history)
    facts = features(state, state.as_of, SCORECARD)
    assert (facts.disputed_recent, facts.recent_claims) == (4, 6)
    assert (facts.disputes_90, facts.disputes_365) == (4, 4)
    assert before.segment != "systematic_disputer"
    assert state.assessment.segment == "systematic_disputer"
    assert "disputes_most_claims" in [reason.code for reason in state.assessment.reasons]
    events = published(history)
    latest = [e for e in events if e.type.endswith("risk-assessed.v1")][-1]
    assert (latest.segment, latest.trigger) == ("systematic_disputer", "account_changed")
    [alert] = alerts(events, "dispute_frequency")  # raised once, when it crossed
    assert alert.evidence["disputes_90_days"] == 3
    assert alert.evidence["disputed_of_recent_claims"] == 3


def test_two_disputes_of_six_claims_are_neither_systematic_nor_frequent():
    history = History("acme")
    claims = six_claims(history)
    for claim_id in claims[:2]:
        history.disputed(claim_id, TODAY - timedelta(days=10))
    assert fold(history).assessment.segment != "systematic_disputer"
    assert alerts(published(history), "dispute_frequency") == []


def test_a_dispute_counts_from_the_debtors_local_date_for_90_and_365_days():
    history = History("acme")
    claim_id = history.claim(TODAY - timedelta(days=20))
    # 23:00 UTC is already the next day in Paris
    history.disputed(claim_id, TODAY - timedelta(days=5), hour=23)
    state = fold(history)
    opened_on = TODAY - timedelta(days=4)
    assert [d.opened_on for d in state.disputes] == [opened_on]

    def counted(days_after: int) -> tuple[int, int]:
        facts = features(state, opened_on + timedelta(days=days_after), SCORECARD)
        return facts.disputes_90, facts.disputes_365

    assert counted(89) == (1, 1)
    assert counted(90) == (0, 1)
    assert counted(364) == (0, 1)
    assert counted(365) == (0, 0)


def test_dispute_frequency_falls_back_as_disputes_leave_90_days_and_is_raised_again():
    history = History("acme")
    claim_id = history.claim(TODAY - timedelta(days=250))
    for days_ago in (240, 220, 200):  # three disputes of one claim, one after another
        history.disputed(claim_id, TODAY - timedelta(days=days_ago))
    assert "dispute_frequency" in fold(history).alerts
    later = history.claim(TODAY - timedelta(days=60))  # the first disputes are 140 days old
    assert "dispute_frequency" not in fold(history).alerts
    for days_ago in (30, 20, 10):
        history.disputed(later, TODAY - timedelta(days=days_ago))
    raised = alerts(published(history), "dispute_frequency")
    assert [a.as_of for a in raised] == [TODAY - timedelta(days=200), TODAY - timedelta(days=10)]


def test_a_dispute_of_a_claim_risk_never_saw_or_seen_twice_counts_once_at_most():
    history = History("acme")
    claim_id = history.claim(TODAY - timedelta(days=20))
    history.disputed(keyed_id("a claim registered before the log began"), TODAY)
    assert fold(history).disputes == ()
    history.disputed(claim_id, TODAY)
    history.add(history.envelopes[-1].data, at(TODAY))  # the same dispute again
    assert len(fold(history).disputes) == 1


def test_a_hardship_puts_a_long_standing_customer_in_temporary_difficulty_for_a_year():
    history = History("acme")
    paid_late(history, [0, 1, 0, 2, 0], first_issued=TODAY - timedelta(days=400))
    claim_id = history.claim(TODAY - timedelta(days=5))
    reliable = fold(history).assessment
    assert reliable.segment == "reliable"
    history.hardship(claim_id, TODAY - timedelta(days=2))
    history.settle(claim_id, TODAY)
    state = fold(history)
    assert features(state, TODAY, SCORECARD).hardships_365 == 1
    assert state.assessment.segment == "loyal_temporary_difficulty"
    # the hardship is no debt: it adds no points
    assert state.assessment.score == reliable.score
    # a year after the declaration the review timer gives the reliable customer back
    review = next_review(state, SCORECARD)
    expected = next_business_day(TODAY - timedelta(days=2) + timedelta(days=365), "FR")
    assert (review.day, review.assessment.segment) == (expected, "reliable")


def test_a_dispute_reclassified_as_a_hardship_stops_counting_as_a_dispute():
    history = History("acme")
    claims = six_claims(history)
    disputes = [history.disputed(claim_id, TODAY - timedelta(days=10)) for claim_id in claims[:3]]
    assert fold(history).assessment.segment == "systematic_disputer"
    history.hardship(claims[0], TODAY - timedelta(days=5), reclassified=disputes[0])
    state = fold(history)
    facts = features(state, state.as_of, SCORECARD)
    assert (facts.disputed_recent, facts.disputes_90, facts.hardships_365) == (2, 2, 1)
    assert state.assessment.segment != "systematic_disputer"
    assert [c.disputed for c in state.recent_claims] == [False, True, True, False, False, False]
