"""What claims makes of communications' events, pure: a call's promise (``domain.calls``), a
message's cost shared by its claims (``domain.costs``) in the cost-of-recovery KPI, and a line
of the timeline for each event, with no sealed text in it."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from amiable_claims.domain import kpis
from amiable_claims.domain.calls import promise_from_call
from amiable_claims.domain.costs import shares
from amiable_claims.domain.evolve import with_event
from amiable_claims.domain.timeline import summarize
from amiable_events.claims import ClaimWrittenOff
from amiable_events.communications import EVENTS as COMMUNICATION_EVENTS
from amiable_events.communications import (
    CallOutcomeRecorded,
    CommunicationDeferred,
    CommunicationSent,
    Cost,
    PromiseOutcome,
)
from tests.claims_givens import NOW, POLICY, escalation, registered_claim

SEALED = "pii:v1:sealed"


def outcome(amount: str = "300.00", on: date = date(2026, 11, 20), at: datetime = NOW):
    return CallOutcomeRecorded(
        claim_id=uuid.uuid4(),
        communication_id=uuid.uuid4(),
        outcome="promise_to_pay",
        promise=PromiseOutcome(amount=Decimal(amount), date=on),
        notes=SEALED,
        agent="agent-7",
        recorded_at=at,
    )


def test_a_call_s_promise_follows_the_rules_of_a_promise_recorded_by_hand():
    claim, _ = registered_claim()  # 1250.00 EUR, due 2026-10-31; NOW is 2026-11-02
    (promise,) = promise_from_call(claim, outcome(), uuid.uuid4(), POLICY)
    assert (promise.source_channel, promise.grace_days) == ("call", POLICY.promise_grace_days)
    assert promise.recorded_at == NOW
    # an open promise of the same amount and date is not recorded again
    assert promise_from_call(with_event(claim, promise), outcome(), uuid.uuid4(), POLICY) == []
    refused = {
        "above what is due": (claim, outcome("99999.00")),
        "a date before the call": (claim, outcome(on=date(2026, 11, 1))),
        "escalated": (with_event(claim, escalation(claim.claim_id)), outcome()),
        "written off": (
            with_event(
                claim, ClaimWrittenOff(claim_id=claim.claim_id, reason="x", written_off_at=NOW)
            ),
            outcome(),
        ),
    }
    for why, (state, call) in refused.items():
        assert promise_from_call(state, call, uuid.uuid4(), POLICY) == [], why


def test_the_call_is_judged_on_the_debtor_s_day():
    claim, _ = registered_claim()  # the debtor is in Paris
    late_evening = datetime(2026, 11, 2, 23, 30, tzinfo=UTC)  # already 3 November in Paris
    assert (
        promise_from_call(
            claim, outcome(on=date(2026, 11, 2), at=late_evening), uuid.uuid4(), POLICY
        )
        == []
    )
    assert (
        len(
            promise_from_call(
                claim, outcome(on=date(2026, 11, 3), at=late_evening), uuid.uuid4(), POLICY
            )
        )
        == 1
    )


@pytest.mark.parametrize(
    ("cost", "currency", "n", "expected"),
    [
        ("1.00", "EUR", 3, ["0.34", "0.33", "0.33"]),
        ("0.02", "EUR", 3, ["0.02", "0.00", "0.00"]),
        ("100", "JPY", 3, ["34", "33", "33"]),
        ("2.50", "EUR", 1, ["2.50"]),
    ],
)
def test_a_cost_is_shared_evenly_the_remainder_to_the_leader(cost, currency, n, expected):
    claims = tuple(uuid.uuid4() for _ in range(n))
    found = shares(Decimal(cost), currency, claims)
    assert [str(found[c]) for c in claims] == expected
    assert sum(found.values()) == Decimal(cost)


def sent(claims: tuple, amount: str = "1.00", currency: str = "EUR") -> CommunicationSent:
    return CommunicationSent(
        claim_id=claims[0],
        communication_id=uuid.uuid4(),
        claims=claims,
        channel="email",
        template="reminder_1",
        language="fr",
        tone="courteous",
        cost=Cost(amount=Decimal(amount), currency=currency),
        content=SEALED,
        step="reminder_1",
        sent_at=NOW,
    )


def test_a_claim_adds_its_share_of_each_message_in_its_currency_to_its_recovery_cost():
    claim, _ = registered_claim()
    other = uuid.uuid4()
    claim = with_event(claim, sent((other, claim.claim_id)))  # not the leader: 0.50
    claim = with_event(claim, sent((claim.claim_id,), "0.45"))
    claim = with_event(claim, sent((claim.claim_id,), "3.00", "USD"))  # another currency
    claim = with_event(claim, sent((other,), "9.00"))  # not about it
    assert claim.recovery_cost == Decimal("0.95")
    assert kpis.claim_facts(claim).recovery_cost == Decimal("0.95")


def test_the_cost_of_recovery_sums_the_costs_of_the_claims_collected_on():
    claim, _ = registered_claim()
    facts = kpis.claim_facts(with_event(claim, sent((claim.claim_id,), "2.00")))
    paid = kpis.ClaimFacts(**{**vars(facts), "payments": ((date(2026, 11, 10), Decimal("400")),)})
    unpaid = kpis.ClaimFacts(**{**vars(facts), "claim_id": "other"})
    period = kpis.kpis([paid, unpaid], date(2026, 11, 1), date(2026, 11, 30), currency="EUR")
    assert (period.recovery_cost, period.cost_of_recovery) == (Decimal("2.00"), Decimal("0.0050"))


def test_every_communications_event_has_a_line_of_its_own_without_sealed_text():
    for event_type in COMMUNICATION_EVENTS:
        if event_type.__name__ in ("CreditorProfileSet", "ContactPreferencesSet"):
            continue  # a tenant's and a debtor account's settings: on no claim's timeline
        assert summarize.dispatch(event_type) is not summarize.dispatch(object), event_type
    line = summarize(sent((uuid.uuid4(), uuid.uuid4()), "1.20"))
    assert line == (
        "reminder_1 by email sent (fr, courteous tone), cost 1.20 EUR, with 1 other claim(s) "
        "(dunning step reminder_1)"
    )
    deferred = CommunicationDeferred(
        claim_id=uuid.uuid4(),
        communication_id=uuid.uuid4(),
        channel="sms",
        rule="daily_cap",
        until=datetime(2026, 11, 3, 7, tzinfo=UTC),
        deferred_at=NOW,
    )
    assert summarize(deferred) == "Message by sms deferred until 2026-11-03 07:00 UTC (daily cap)"
    call = summarize(outcome())
    assert call == "Call outcome: promise_to_pay, promise to pay 300.00 by 2026-11-20"
    assert "pii:v1:" not in call
