"""The generated claims events are the ones the claims service would have appended: folded by
the service's own domain, a payment or credit note is followed by ``ClaimSettled`` exactly when
nothing is owed any more, an open claim still owes something, and no timer of the service
(broken promise, missed instalment) was due before the end without its event in the history.

Only the test reads the service: the generator itself may not import it."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from functools import cache

from amiable_claims.domain.evolve import evolve
from amiable_claims.domain.figures import amount_due
from amiable_claims.domain.state import Policy
from amiable_claims.domain.timers import desired_timers
from amiable_demo.generate import Plan, generate
from amiable_events.claims import ClaimAdjusted, ClaimSettled, PaymentReceived
from amiable_rules.governing_law import GoverningLaws
from amiable_rules.late_fees import LateFeeRules
from amiable_rules.limitation import LimitationRules

PLAN = Plan(claims=1_200, seed=21, tenants=("acme", "globex", "initech"))


@cache
def policy() -> Policy:
    return Policy(LateFeeRules.load(), LimitationRules.load(), GoverningLaws(default="FR"))


def test_a_command_settles_the_claim_exactly_when_nothing_is_owed_after_it():
    claims = {}
    nothing_owed = {}  # command (correlation id) -> nothing owed after its payment or credit
    settled = set()
    for envelope in generate(PLAN).envelopes:
        if envelope.subject.startswith("debtor:"):
            continue
        claim = evolve(claims.get(envelope.subject), envelope)
        claims[envelope.subject] = claim
        if isinstance(envelope.data, PaymentReceived | ClaimAdjusted) and not claim.closed:
            owed = amount_due(claim, envelope.time.date(), policy()).total
            nothing_owed[envelope.correlation_id] = owed == 0
        elif isinstance(envelope.data, ClaimSettled):
            settled.add(envelope.correlation_id)

    assert len(nothing_owed) > PLAN.claims // 2
    assert settled == {command for command, paid in nothing_owed.items() if paid}


def test_open_claims_still_owe_and_no_timer_of_the_service_was_left_unfired():
    end = datetime.combine(PLAN.end + timedelta(days=1), time(0), tzinfo=UTC)
    claims = {}
    for envelope in generate(PLAN).envelopes:
        if not envelope.subject.startswith("debtor:"):
            claims[envelope.subject] = evolve(claims.get(envelope.subject), envelope)
    still_open = [claim for claim in claims.values() if not claim.closed]
    assert still_open
    for claim in still_open:
        assert amount_due(claim, PLAN.end, policy()).total > 0, claim.claim_id
    for claim in claims.values():
        for timer in desired_timers(claim, policy()):
            assert timer.kind == "limitation" or timer.due_at >= end, (claim.claim_id, timer)
