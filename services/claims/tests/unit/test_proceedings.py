"""Collective proceedings stop the fixed fee: the claim's figures once it is waived, and the
reactions that waive it (given a debtor account's events, then the waivers)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import get_args

from amiable_claims.domain.figures import amount_due
from amiable_claims.domain.proceedings import REACTIONS, evolve_account
from amiable_events.claims import (
    ClaimRegistered,
    ClaimSettled,
    FixedFeeWaived,
    PaymentReceived,
)
from amiable_events.envelope import Envelope
from amiable_events.risk import InsolvencyRecorded, ProceedingKind
from tests.claims_givens import NOW, POLICY, given, registered_claim

D = Decimal
OPENED = date(2026, 11, 10)


def waiver(claim_id: uuid.UUID, waived_from: date = OPENED) -> FixedFeeWaived:
    return FixedFeeWaived(
        claim_id=claim_id,
        waived_from=waived_from,
        reason="insolvency_proceedings",
        proceeding_kind="receivership",
        proceeding_reference="RG 26/01234",
    )


def insolvency(opened_on: date = OPENED, kind: ProceedingKind = "receivership"):
    return InsolvencyRecorded(
        debtor_id="C-42",
        kind=kind,
        opened_on=opened_on,
        reference="RG 26/01234" if kind == "receivership" else "RG 26/09999",
        recorded_at=datetime(2026, 11, 12, 9, tzinfo=UTC),
    )


def on_account(event, tenant: str = "acme") -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        subject=event.subject,
        time=NOW,
        tenant=tenant,
        debtor_id="C-42",
        correlation_id=uuid.uuid4(),
        data=event,
    )


def react(*events):
    """The events the reactions append, given an account's events in log order."""
    state, appended = None, []
    for event in events:
        envelope = on_account(event)
        state = evolve_account(state, envelope)
        react = REACTIONS.get(type(event))
        if react is not None:
            appended += react(state, envelope)
    return appended


# --- the claim's figures ---------------------------------------------------------------------


def test_a_waived_fee_is_not_in_the_amount_due():
    """Due 2026-10-31: the fee would fall due on 2026-11-01, after proceedings opened on
    2026-10-20, so the total is the principal and its interest only."""
    claim, events = registered_claim()  # EUR 1,250.00 due 2026-10-31
    with_fee = amount_due(claim, date(2026, 12, 1), POLICY)
    claim = given(*events, waiver(claim.claim_id, date(2026, 10, 20)))
    without = amount_due(claim, date(2026, 12, 1), POLICY)
    assert (with_fee.fixed_fee, without.fixed_fee) == (D("40.00"), D("0.00"))
    assert without.total == with_fee.total - D("40.00")
    assert without.interest == with_fee.interest
    fee_note = [line.note for line in without.lines if line.kind == "fixed_fee"]
    assert fee_note == [
        "no fixed fee: waived from 2026-10-20 (collective proceedings bar paying it, D441-5); "
        "it would have fallen due on 2026-11-01"
    ]


def test_a_fee_due_before_the_opening_stays():
    claim, events = registered_claim()
    claim = given(*events, waiver(claim.claim_id, OPENED))  # opened 10 days after it fell due
    assert amount_due(claim, date(2026, 12, 1), POLICY).fixed_fee == D("40.00")


def test_a_later_waiver_never_brings_the_fee_back():
    claim, events = registered_claim()
    claim = given(
        *events,
        waiver(claim.claim_id, date(2026, 10, 20)),
        waiver(claim.claim_id, date(2026, 12, 1)),
    )
    assert claim.fixed_fee_waived_from == date(2026, 10, 20)
    assert amount_due(claim, date(2026, 12, 15), POLICY).fixed_fee == D("0.00")


def test_the_waiver_is_the_proceedings_own_kinds():
    assert get_args(FixedFeeWaived.model_fields["proceeding_kind"].annotation) == get_args(
        ProceedingKind
    )


# --- the reactions ---------------------------------------------------------------------------


def registration(due_on: date, n: int = 1) -> ClaimRegistered:
    _, events = registered_claim(invoice_number=f"INV-{n}", due_on=due_on)
    (registered,) = [e for e in events if type(e) is ClaimRegistered]
    return registered.model_copy(update={"claim_id": uuid.uuid4()})


def test_an_insolvency_waives_the_fee_of_open_claims_not_yet_due():
    late = registration(OPENED + timedelta(days=30), 1)  # fee falls due after the opening
    eve = registration(OPENED - timedelta(days=1), 2)  # fee falls due on the opening day
    past = registration(OPENED - timedelta(days=2), 3)  # fee already due the day before
    settled = registration(OPENED + timedelta(days=60), 4)
    waivers = react(
        late,
        eve,
        past,
        settled,
        ClaimSettled(claim_id=settled.claim_id, settled_on=date(2026, 11, 5), overpaid=D(0)),
        insolvency(),
    )
    assert waivers == [waiver(late.claim_id), waiver(eve.claim_id)]


def test_a_claim_registered_once_the_debtor_is_in_proceedings_gets_the_waiver():
    new = registration(OPENED + timedelta(days=45))
    assert react(insolvency(), new) == [waiver(new.claim_id)]


def test_a_claim_whose_fee_fell_due_before_the_opening_keeps_it():
    assert react(insolvency(), registration(OPENED - timedelta(days=40))) == []


def test_no_proceeding_no_waiver():
    assert react(registration(OPENED)) == []


def test_a_claim_already_waived_is_not_waived_again_and_the_first_opening_stays():
    claim = registration(OPENED + timedelta(days=30))
    later = insolvency(OPENED + timedelta(days=20), kind="liquidation")
    second = registration(OPENED + timedelta(days=10), 2)  # fee due between the two openings
    waivers = react(claim, insolvency(), waiver(claim.claim_id), later, second)
    assert waivers == [waiver(claim.claim_id), waiver(second.claim_id)]


def test_payments_and_other_events_leave_the_account_as_it_was():
    claim = registration(OPENED + timedelta(days=30))
    payment = PaymentReceived(
        claim_id=claim.claim_id,
        payment_id=uuid.uuid4(),
        amount=D("10.00"),
        currency="EUR",
        received_on=OPENED,
        recorded_at=NOW,
    )
    state = evolve_account(evolve_account(None, on_account(claim)), on_account(payment))
    assert [c.claim_id for c in state.open_claims] == [claim.claim_id]
    assert state.proceeding is None
