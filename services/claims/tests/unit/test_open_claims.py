"""Which claims a debtor-account event goes on the timelines of: the debtor's claims open at
its offset, from the claims open before the batch and what the batch's events left them."""

from __future__ import annotations

import uuid
from dataclasses import replace

from amiable_claims.adapters.accounts import OpenClaims, _timelines_of
from tests.risk_givens import every_risk_event

ACCOUNT, OTHER = ("acme", "D-1"), ("acme", "D-2")


def test_a_claim_is_on_it_as_its_last_earlier_event_left_it():
    old, closed_later, new, elsewhere = (uuid.uuid4() for _ in range(4))
    claims = OpenClaims({ACCOUNT: {old, closed_later}, OTHER: {elsewhere}})
    claims.record(new, ACCOUNT, 10, True)  # registered at offset 10
    claims.record(closed_later, ACCOUNT, 20, False)  # cancelled at 20
    assert claims.at(ACCOUNT, 5) == sorted([old, closed_later])
    assert claims.at(ACCOUNT, 15) == sorted([old, closed_later, new])
    assert claims.at(ACCOUNT, 25) == sorted([old, new])
    assert claims.at(OTHER, 25) == [elsewhere]
    assert claims.at(("other-tenant", "D-1"), 25) == []


def test_a_claim_closed_before_the_batch_stays_off_even_with_later_events():
    closed = uuid.uuid4()
    claims = OpenClaims({})
    claims.record(closed, ACCOUNT, 3, False)  # a payment after the closure
    assert claims.at(ACCOUNT, 1) == [] and claims.at(ACCOUNT, 4) == []


def test_the_assessment_made_as_a_claim_was_qualified_goes_on_that_claim_only():
    first, second = uuid.uuid4(), uuid.uuid4()
    claims = OpenClaims({ACCOUNT: {first, second}})
    assessments = [e for e in every_risk_event() if e.type.endswith("risk-assessed.v1")]
    qualified = next(e for e in assessments if e.data.claim_id is not None)
    changed = next(e for e in assessments if e.data.claim_id is None)
    on_account = {"tenant": "acme", "debtor_id": "D-1", "offset": 9}
    assert _timelines_of(replace(qualified, **on_account), claims) == [qualified.data.claim_id]
    assert _timelines_of(replace(changed, **on_account), claims) == sorted([first, second])
