"""Opening a dispute: the amount it contests against what is owed on the claim, the outcomes
that carry an amount or a new invoice, one active dispute per claim, and the hardship that is no
contestation."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from amiable_disputes.domain.commands import Assign, Reclassify, Withdraw
from amiable_events.claims import (
    ClaimCancelled,
    ClaimRejected,
    ClaimSettled,
    ClaimWrittenOff,
    LimitationApproaching,
)
from amiable_events.disputes import (
    DisputeOpened,
    DisputeReclassified,
    DisputeResolved,
    HardshipDeclared,
)
from amiable_events.errors import Conflict, Invalid
from tests.disputes_givens import NOW, POLICY, SEALED, TODAY, claim, in_status, resolve


def due(case):
    return case.file.ledger.amount_due(TODAY, POLICY.figures)


def field_errors(raised) -> list[str]:
    return [e.field for e in raised.value.errors]


def test_no_amount_disputes_everything_due_with_interest_and_the_fixed_fee():
    case = claim(amount="1000.00", days_late=30)
    owed = due(case)
    # a French claim past due: statutory interest and the EUR 40 recovery fee
    assert owed.fixed_fee == Decimal("40.00") and owed.interest > 0
    assert owed.total == Decimal("1040.00") + owed.interest
    dispute_id = case.open()
    [opened] = case.history.envelopes[-1:]
    assert isinstance(opened.data, DisputeOpened)
    assert (opened.data.disputed_amount, opened.data.currency, opened.data.whole_claim) == (
        owed.total,
        "EUR",
        True,
    )
    dispute = case.dispute(dispute_id)
    assert (dispute.status, dispute.disputed_amount, dispute.whole_claim) == (
        "open",
        owed.total,
        True,
    )


def test_a_claim_not_yet_due_is_disputed_for_its_principal():
    case = claim(amount="1000.00", days_late=-10)
    dispute_id = case.open()
    assert case.dispute(dispute_id).disputed_amount == Decimal("1000.00")


def test_an_amount_equal_to_what_is_due_is_the_whole_claim():
    case = claim()
    dispute_id = case.open(amount=format(due(case).total, "f"))
    assert case.dispute(dispute_id).whole_claim


def test_a_part_of_what_is_due_is_not_the_whole_claim():
    case = claim()
    dispute_id = case.open(amount="250.00")
    dispute = case.dispute(dispute_id)
    assert (dispute.disputed_amount, dispute.whole_claim) == (Decimal("250.00"), False)


def test_an_amount_above_what_is_due_is_refused_naming_the_amount_due():
    case = claim()
    owed = due(case).total
    with pytest.raises(Invalid) as raised:
        case.open(amount=format(owed + Decimal("0.01"), "f"))
    assert field_errors(raised) == ["disputed_amount"]
    assert f"{format(owed, 'f')} EUR" in raised.value.errors[0].reason
    assert case.file.disputes == ()


@pytest.mark.parametrize("amount", ["0", "0.00", "-5.00", "10.005", "10.000"])
def test_a_zero_negative_or_too_precise_amount_is_refused(amount):
    case = claim()
    with pytest.raises(Invalid) as raised:
        case.open(amount=amount)
    assert field_errors(raised) == ["disputed_amount"]


@pytest.mark.parametrize(
    "closing",
    [
        lambda c: ClaimSettled(claim_id=c, settled_on=TODAY, overpaid=Decimal(0)),
        lambda c: ClaimWrittenOff(claim_id=c, reason="uneconomic", written_off_at=NOW),
        lambda c: ClaimCancelled(
            claim_id=c, reason="error", credit_note_reference="AV-1", cancelled_at=NOW
        ),
        lambda c: ClaimRejected(claim_id=c, reasons=("duplicate",), rejected_at=NOW),
    ],
)
def test_a_closed_or_rejected_claim_cannot_be_disputed(closing):
    case = claim()
    case.add(closing(case.claim_id))
    with pytest.raises(Conflict) as raised:
        case.open()
    assert raised.value.extra["claim_status"] == case.file.ledger.status
    with pytest.raises(Conflict):
        case.open("cash_flow_difficulty")


def test_a_second_active_dispute_is_a_conflict_naming_the_first():
    case, first = in_status("under_review")
    with pytest.raises(Conflict) as raised:
        case.open("billing_error", amount="10.00")
    assert raised.value.extra == {"dispute_id": str(first)}
    assert str(first) in str(raised.value)


@pytest.mark.parametrize("status", ["resolved", "withdrawn", "hardship"])
def test_once_the_dispute_is_closed_a_new_one_may_be_opened(status):
    case, first = in_status(status)
    second = case.open("billing_error", amount="10.00")
    assert case.file.active.dispute_id == str(second) != str(first)
    assert case.dispute(first).status == status


# --- outcomes ---------------------------------------------------------------------------------


def test_partially_upheld_accepts_an_amount_below_the_disputed_one():
    case = claim()
    dispute_id = case.open(amount="300.00")
    case.decide(Assign(dispute_id, "agent-1"))
    [resolved] = case.decide(
        resolve(dispute_id, "partially_upheld", accepted_amount=Decimal("120.50"))
    )
    assert isinstance(resolved, DisputeResolved)
    assert (resolved.accepted_amount, resolved.disputed_amount, resolved.whole_claim) == (
        Decimal("120.50"),
        Decimal("300.00"),
        False,
    )
    assert case.dispute(dispute_id).accepted_amount == Decimal("120.50")


@pytest.mark.parametrize("accepted", [None, "0", "-1.00", "300.00", "300.01", "1.001"])
def test_partially_upheld_needs_an_amount_above_zero_and_below_the_disputed_one(accepted):
    case = claim()
    dispute_id = case.open(amount="300.00")
    case.decide(Assign(dispute_id, "agent-1"))
    amount = None if accepted is None else Decimal(accepted)
    with pytest.raises(Invalid) as raised:
        case.decide(resolve(dispute_id, "partially_upheld", accepted_amount=amount))
    assert field_errors(raised) == ["accepted_amount"]
    assert case.dispute(dispute_id).status == "under_review"


def test_reissued_names_a_new_invoice_other_than_the_claims_own():
    case, dispute_id = in_status("under_review")
    own = case.file.ledger.invoice_number
    for number in (None, own):
        with pytest.raises(Invalid) as raised:
            case.decide(resolve(dispute_id, "reissued", new_invoice_number=number))
        assert field_errors(raised) == ["new_invoice_number"]
    [resolved] = case.decide(resolve(dispute_id, "reissued", new_invoice_number=f"{own}-R"))
    assert resolved.new_invoice_number == f"{own}-R"


@pytest.mark.parametrize("outcome", ["upheld", "rejected", "reissued"])
def test_an_accepted_amount_is_refused_on_other_outcomes(outcome):
    case, dispute_id = in_status("under_review")
    number = "INV-NEW" if outcome == "reissued" else None
    with pytest.raises(Invalid) as raised:
        case.decide(
            resolve(dispute_id, outcome, accepted_amount=Decimal("1.00"), new_invoice_number=number)
        )
    assert field_errors(raised) == ["accepted_amount"]


@pytest.mark.parametrize("outcome", ["upheld", "rejected", "partially_upheld"])
def test_a_new_invoice_number_is_refused_on_other_outcomes(outcome):
    case, dispute_id = in_status("under_review")
    accepted = Decimal("1.00") if outcome == "partially_upheld" else None
    with pytest.raises(Invalid) as raised:
        case.decide(
            resolve(dispute_id, outcome, accepted_amount=accepted, new_invoice_number="INV-NEW")
        )
    assert field_errors(raised) == ["new_invoice_number"]


# --- hardship ---------------------------------------------------------------------------------


def test_a_cash_flow_difficulty_declares_a_hardship_not_a_dispute():
    case = claim()
    dispute_id = case.open("cash_flow_difficulty", description=SEALED)
    [declared] = [e.data for e in case.history.envelopes[-1:]]
    assert isinstance(declared, HardshipDeclared)
    assert (declared.dispute_id, declared.reclassified, declared.raised_by) == (
        dispute_id,
        False,
        "debtor_contact",
    )
    assert declared.description == SEALED
    hardship = case.dispute(dispute_id)
    assert (hardship.status, hardship.disputed_amount, hardship.closed_at) == (
        "hardship",
        None,
        NOW,
    )
    assert case.file.active is None  # it holds nothing up: a dispute may still be opened
    case.open("billing_error", amount="10.00")


def test_a_cash_flow_difficulty_with_an_amount_is_refused():
    case = claim()
    with pytest.raises(Invalid) as raised:
        case.open("cash_flow_difficulty", amount="100.00")
    assert field_errors(raised) == ["disputed_amount"]
    assert case.file.disputes == ()


@pytest.mark.parametrize("status", ["open", "under_review", "mediation"])
def test_reclassified_as_a_cash_flow_difficulty_a_dispute_closes_as_a_hardship(status):
    case, dispute_id = in_status(status)
    later = NOW + timedelta(days=2)
    reclassified, declared = case.decide(
        Reclassify(dispute_id, "cash_flow_difficulty", SEALED), later
    )
    assert isinstance(reclassified, DisputeReclassified)
    assert (reclassified.from_reason, reclassified.to_reason) == (
        "quality_or_service",
        "cash_flow_difficulty",
    )
    assert isinstance(declared, HardshipDeclared)
    assert (declared.dispute_id, declared.reclassified, declared.raised_by) == (
        dispute_id,
        True,
        "agent",
    )
    dispute = case.dispute(dispute_id)
    assert (dispute.status, dispute.reason, dispute.closed_at) == (
        "hardship",
        "cash_flow_difficulty",
        later,
    )
    assert len(case.file.disputes) == 1  # the declaration names the same case
    with pytest.raises(Conflict):
        case.decide(Withdraw(dispute_id))


def test_reclassified_as_another_contest_a_dispute_stays_active():
    case, dispute_id = in_status("under_review")
    [reclassified] = case.decide(Reclassify(dispute_id, "administrative"))
    assert reclassified.to_reason == "administrative"
    dispute = case.dispute(dispute_id)
    assert (dispute.status, dispute.reason, dispute.closed_at) == (
        "under_review",
        "administrative",
        None,
    )
    assert case.file.active.dispute_id == str(dispute_id)


# --- limitation -------------------------------------------------------------------------------


def limitation_approaching(case, prescription: date):
    return LimitationApproaching(
        claim_id=case.claim_id,
        prescription_date=prescription,
        days_left=(prescription - TODAY).days,
    )


def test_a_limitation_warning_flags_the_active_dispute_not_the_closed_ones():
    case, closed = in_status("withdrawn")
    active = case.open()
    case.add(limitation_approaching(case, TODAY + timedelta(days=60)))
    assert case.dispute(active).limitation_at_risk
    assert not case.dispute(closed).limitation_at_risk


def test_a_dispute_opened_before_a_warned_prescription_date_is_at_risk_from_the_start():
    case = claim()
    case.add(limitation_approaching(case, TODAY + timedelta(days=60)))
    assert case.dispute(case.open()).limitation_at_risk


def test_a_warning_for_a_prescription_date_already_past_puts_a_new_dispute_at_no_risk():
    case = claim()
    case.add(limitation_approaching(case, TODAY - timedelta(days=1)))
    assert not case.dispute(case.open()).limitation_at_risk


def test_amounts_are_kept_in_the_currencys_units():
    case = claim(amount="1000.00", days_late=0)
    dispute_id = case.open(amount="4")
    assert format(case.dispute(dispute_id).disputed_amount, "f") == "4.00"
