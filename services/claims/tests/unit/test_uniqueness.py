"""Issue 7, uniqueness in the domain: one credit per credit-note reference per claim."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from amiable_claims.domain.commands import AdjustClaim, RecordPayment
from amiable_claims.domain.decide import (
    CreditNoteAlreadyApplied,
    decide_adjustment,
    decide_payment,
    decide_registration,
)
from amiable_claims.domain.evolve import _evolve
from amiable_claims.domain.figures import amount_due
from amiable_events.commands import REPEATED
from tests.claims_givens import POLICY, context, envelope, register_command, registered_claim

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
    assert decide_adjustment(claim, AdjustClaim(D("250.00"), "AV-1"), context(LATER)) is REPEATED
    assert decide_adjustment(claim, AdjustClaim(D("250.00"), "AV-2"), context(LATER)) != []


def test_an_imported_rows_claim_id_is_fixed_by_its_invoice_number():
    """A retried import names the same claims, so it reuses the invoice numbers' reservations
    (a kill -9 between the reservation and the append blocks nothing)."""
    from amiable_claims.app.handlers import imported_id

    class Row:
        invoice_number = "INV-7"

    fixed = imported_id("acme", Row())
    [registered, _] = decide_registration(
        None, replace(register_command(), claim_id=fixed), context(LATER)
    )
    assert registered.claim_id == fixed == imported_id("acme", Row())
    assert fixed != imported_id("acme/x", Row())


async def test_the_in_memory_read_model_ignores_another_tenants_event_on_a_claim():
    """Every projection checks the event's tenant: the in-memory one behaviour tests use too."""
    from amiable_claims.domain.evolve import evolve
    from amiable_events.memory import InMemoryStates

    claim, events = registered_claim()
    states = InMemoryStates(evolve)
    for event in events:
        states.apply(envelope(event))
    paid = decide_payment(
        claim,
        RecordPayment(amount=D("1250.00"), currency="EUR", received_on=LATER.date()),
        context(LATER),
    )
    forged = replace(envelope(paid[0]), tenant="intruder")
    states.apply(forged)
    assert states.state(str(claim.claim_id)).paid == 0
    assert await states.load("intruder", claim.claim_id) is None
