"""Issue 7, uniqueness in the domain: one credit per credit-note reference per claim."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from amiable_claims.domain.commands import AdjustClaim
from amiable_claims.domain.decide import CreditNoteAlreadyApplied, decide_adjustment
from amiable_claims.domain.evolve import _evolve
from amiable_claims.domain.figures import amount_due
from tests.claims_givens import POLICY, context, envelope, registered_claim

D = Decimal
LATER = datetime(2026, 12, 15, 9, 0, tzinfo=UTC)


def then(claim, events):
    for event in events:
        claim = _evolve(event, claim, envelope(event))
    return claim


def test_a_credit_note_reference_credits_a_claim_once():
    """Duplicate credit-note reference: the same reference with another amount is a 409 that
    names it, and the principal is credited once."""
    claim, _ = registered_claim()
    claim = then(claim, decide_adjustment(claim, AdjustClaim(D("250.00"), "AV-1"), context(LATER)))
    with pytest.raises(CreditNoteAlreadyApplied, match="AV-1") as refused:
        decide_adjustment(claim, AdjustClaim(D("100.00"), "AV-1"), context(LATER))
    assert refused.value.status == 409
    assert refused.value.extra["credit_note_reference"] == "AV-1"
    assert amount_due(claim, LATER.date(), POLICY).principal_outstanding == D("1000.00")


def test_the_same_credit_note_sent_again_is_a_retry_that_records_nothing():
    """A client retry without an Idempotency-Key (same reference, same amount) changes nothing."""
    claim, _ = registered_claim()
    claim = then(claim, decide_adjustment(claim, AdjustClaim(D("250.00"), "AV-1"), context(LATER)))
    assert decide_adjustment(claim, AdjustClaim(D("250.00"), "AV-1"), context(LATER)) == []
    assert decide_adjustment(claim, AdjustClaim(D("250.00"), "AV-2"), context(LATER)) != []
