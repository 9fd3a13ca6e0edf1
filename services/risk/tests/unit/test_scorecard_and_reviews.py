"""The scorecard file, the review timer's day, and the deciders."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import yaml
from pydantic import ValidationError

from amiable_events.commands import REPEATED, Context
from amiable_events.errors import Conflict, Invalid
from amiable_risk.domain.commands import OverrideSegment, RecordInsolvency, SetCreditLimit
from amiable_risk.domain.decide import decide_credit_limit, decide_insolvency, decide_override
from amiable_risk.domain.evolve import evolve
from amiable_risk.domain.scorecard import Scorecard
from amiable_risk.domain.timers import next_review
from tests.risk_givens import TODAY, History

SCORECARD = Scorecard.load()
CONTEXT = Context(tenant="acme", now=datetime.combine(TODAY, datetime.min.time(), UTC))


def fold(history: History):
    state = None
    for envelope in history.envelopes:
        state = evolve(state, envelope, SCORECARD)
    return state


def test_the_shipped_scorecard_is_versioned_and_complete():
    assert SCORECARD.version == "2026.12-1"
    assert [SCORECARD.grade(s) for s in (0, 19, 20, 59, 60, 80, 100)] == [
        "A", "A", "B", "C", "D", "E", "E",
    ]  # fmt: skip
    assert SCORECARD.features["oldest_days_past_due"].band(45) == (20, "overdue_31_to_60_days")
    assert SCORECARD.features["mean_days_late"].band(None) == (4, "no_payment_history")


def test_a_scorecard_with_a_feature_missing_or_bands_out_of_order_is_refused(tmp_path):
    data = SCORECARD.model_dump(mode="json")
    del data["features"]["tenure_days"]
    path = tmp_path / "scorecard.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValidationError, match="tenure_days"):
        Scorecard.load(path)
    data = SCORECARD.model_dump(mode="json")
    data["features"]["late_slope"]["bands"].reverse()
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValidationError, match=r"upper bound|increasing"):
        Scorecard.load(path)


def test_the_review_falls_on_the_first_business_day_a_claim_is_past_due():
    history = History("acme")
    # due on Saturday 2026-12-26; Sunday the 27th is its first day past due, Monday the 28th
    # the first business day (Christmas is the 25th)
    history.claim(date(2026, 12, 16), terms=10)
    state = fold(history)
    review = next_review(state, SCORECARD)
    assert review.day == date(2026, 12, 28)
    assert review.due_at == datetime(2026, 12, 28, 5, 0, tzinfo=UTC)  # 06:00 in Paris
    assert review.assessment.as_of == review.day
    assert "overdue_up_to_30_days" in [reason.code for reason in review.assessment.reasons]


def test_no_review_when_time_alone_changes_nothing_published():
    history = History("acme")
    claim_id = history.claim(TODAY - timedelta(days=800))
    history.settle(claim_id, TODAY - timedelta(days=770))
    history.claim(TODAY - timedelta(days=400))
    history.settle(history.envelopes[-2].data.claim_id, TODAY - timedelta(days=370))
    state = fold(history)
    review = next_review(state, SCORECARD)
    # nothing is open, tenure is past every threshold: only a month turning could matter, and
    # it changes neither band, grade nor segment
    assert review is None or review.assessment.key != state.published


def test_insolvency_cannot_be_dated_in_the_future_and_is_recorded_once():
    command = RecordInsolvency("D-1", "liquidation", TODAY, "TC Paris 2026L1")
    [event] = decide_insolvency(None, command, CONTEXT)
    assert (event.debtor_id, event.opened_on, event.subject) == ("D-1", TODAY, "debtor:D-1")
    history = History("acme")
    history.add(event, CONTEXT.now)
    assert decide_insolvency(fold(history), command, CONTEXT) is REPEATED
    with pytest.raises(Invalid, match="future"):
        decide_insolvency(None, replace(command, opened_on=TODAY + timedelta(days=1)), CONTEXT)


def test_a_credit_limit_is_never_negative_and_the_same_one_is_a_replay():
    with pytest.raises(Invalid):
        decide_credit_limit(None, SetCreditLimit("D-1", Decimal("-1"), "EUR"), CONTEXT)
    command = SetCreditLimit("D-1", Decimal("5000"), "EUR")
    history = History("acme")
    history.add(decide_credit_limit(None, command, CONTEXT)[0], CONTEXT.now)
    assert decide_credit_limit(fold(history), command, CONTEXT) is REPEATED


def test_an_override_is_refused_for_insolvency_the_past_and_a_debtor_in_proceedings():
    override = OverrideSegment("D-1", "reliable", "pii:v1:x", TODAY + timedelta(days=3))
    with pytest.raises(Invalid, match="segment"):
        decide_override(None, replace(override, segment="insolvency"), CONTEXT)
    with pytest.raises(Invalid, match="until"):
        decide_override(None, replace(override, until=TODAY - timedelta(days=1)), CONTEXT)
    history = History("acme")
    history.add(
        decide_insolvency(None, RecordInsolvency("D-1", "safeguard", TODAY, "r"), CONTEXT)[0],
        CONTEXT.now,
    )
    with pytest.raises(Conflict):
        decide_override(fold(history), override, CONTEXT)
