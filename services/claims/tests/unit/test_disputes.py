"""What a dispute does to its claim, pure: each outcome of ``DisputeResolved`` (domain.disputes),
the first ``DisputeOpened`` in the claim's KPIs, the account state that follows only the claims
its triggers name, and the timeline's lines."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from amiable_claims.domain import kpis
from amiable_claims.domain.disputes import resolve
from amiable_claims.domain.evolve import with_event
from amiable_claims.domain.proceedings import DebtorAccount, evolve_account, followed_claim
from amiable_claims.domain.timeline import FREE_TEXT, summarize
from amiable_events.claims import ClaimAdjusted, ClaimCancelled, ClaimSettled, PaymentReceived
from amiable_events.disputes import EVENTS as DISPUTE_EVENTS
from amiable_events.disputes import DisputeOpened, DisputeResolved, HardshipDeclared
from tests.claims_givens import NOW, envelope, registered_claim

DISPUTE = uuid.UUID("00000000-0000-4000-8000-00000000d150")
REFERENCE = f"dispute:{DISPUTE}"
#: 23:30 UTC on 30 November is 1 December in Paris, the debtor's time zone.
RESOLVED_AT = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)


def resolution(outcome: str, **changes) -> DisputeResolved:
    claim, _ = registered_claim()
    values = dict(
        claim_id=claim.claim_id,
        dispute_id=DISPUTE,
        outcome=outcome,
        resolution_note="pii:v1:sealed-note",
        disputed_amount=Decimal("1250.00"),
        currency="EUR",
        whole_claim=True,
        resolved_at=RESOLVED_AT,
    )
    values.update(changes)
    return DisputeResolved(**values)


def opened(claim_id: uuid.UUID, opened_at: datetime, reason: str = "billing_error"):
    return DisputeOpened(
        claim_id=claim_id,
        dispute_id=uuid.uuid4(),
        reason=reason,
        disputed_amount=Decimal("300.00"),
        currency="EUR",
        whole_claim=False,
        description="pii:v1:sealed-description",
        raised_by="debtor_contact",
        opened_at=opened_at,
        acknowledge_by=opened_at + timedelta(days=2),
        resolve_by=opened_at + timedelta(days=30),
    )


def test_upheld_on_the_whole_claim_cancels_it():
    claim, _ = registered_claim()
    (cancelled,) = resolve(claim, resolution("upheld"))
    assert cancelled == ClaimCancelled(
        claim_id=claim.claim_id,
        reason=f"dispute {DISPUTE} upheld",
        credit_note_reference=REFERENCE,
        cancelled_at=RESOLVED_AT,
    )
    assert with_event(claim, cancelled).status == "cancelled"


def test_upheld_on_a_part_reduces_the_claim_by_the_disputed_amount():
    claim, _ = registered_claim()
    part = resolution("upheld", whole_claim=False, disputed_amount=Decimal("300.00"))
    (adjusted,) = resolve(claim, part)
    assert adjusted == ClaimAdjusted(
        claim_id=claim.claim_id,
        amount=Decimal("300.00"),
        credit_note_reference=REFERENCE,
        reason=f"dispute {DISPUTE} upheld",
        adjusted_on=date(2026, 12, 1),  # the resolution's day in Paris, not in UTC
        adjusted_at=RESOLVED_AT,
    )
    assert with_event(claim, adjusted).unpaid_principal == Decimal("950.00")


def test_partially_upheld_reduces_the_claim_by_the_accepted_amount():
    claim, _ = registered_claim()
    partly = resolution(
        "partially_upheld",
        whole_claim=False,
        disputed_amount=Decimal("600.00"),
        accepted_amount=Decimal("250.00"),
    )
    (adjusted,) = resolve(claim, partly)
    assert type(adjusted) is ClaimAdjusted
    assert (adjusted.amount, adjusted.credit_note_reference) == (Decimal("250.00"), REFERENCE)
    assert adjusted.reason == f"dispute {DISPUTE} partially upheld"
    assert adjusted.adjusted_on == date(2026, 12, 1)


@pytest.mark.parametrize(
    ("outcome", "amounts"),
    [
        ("partially_upheld", {"accepted_amount": Decimal("250.00")}),
        ("upheld", {"disputed_amount": Decimal("250.00")}),
    ],
)
def test_an_amount_covering_the_unpaid_principal_cancels_the_claim(outcome, amounts):
    claim, _ = registered_claim()
    paid = PaymentReceived(
        claim_id=claim.claim_id,
        payment_id=uuid.uuid4(),
        amount=Decimal("1000.00"),
        currency="EUR",
        received_on=date(2026, 11, 10),
        recorded_at=NOW,
    )
    claim = with_event(claim, paid)  # 250.00 of the principal left
    (cancelled,) = resolve(claim, resolution(outcome, whole_claim=False, **amounts))
    assert type(cancelled) is ClaimCancelled
    assert cancelled.credit_note_reference == REFERENCE
    # A cent less leaves a cent to pay: a reduction.
    less = {name: value - Decimal("0.01") for name, value in amounts.items()}
    (adjusted,) = resolve(claim, resolution(outcome, whole_claim=False, **less))
    assert type(adjusted) is ClaimAdjusted and adjusted.amount == Decimal("249.99")


def test_reissued_cancels_the_claim_and_names_the_new_invoice():
    claim, _ = registered_claim()
    (cancelled,) = resolve(
        claim, resolution("reissued", whole_claim=False, new_invoice_number="INV-1-BIS")
    )
    assert type(cancelled) is ClaimCancelled
    assert (cancelled.reissued_as, cancelled.credit_note_reference) == ("INV-1-BIS", REFERENCE)
    assert cancelled.reason == f"dispute {DISPUTE} resolved by a new invoice"


def test_rejected_changes_nothing():
    claim, _ = registered_claim()
    assert resolve(claim, resolution("rejected")) == []


@pytest.mark.parametrize(
    "closing",
    [
        lambda claim_id: ClaimSettled(claim_id=claim_id, settled_on=NOW.date(), overpaid=0),
        lambda claim_id: ClaimCancelled(claim_id=claim_id, reason="error", cancelled_at=NOW),
    ],
)
def test_a_closed_claim_is_left_as_it_is(closing):
    claim, _ = registered_claim()
    closed = with_event(claim, closing(claim.claim_id))
    assert resolve(closed, resolution("upheld")) == []
    partly = resolution("partially_upheld", accepted_amount=Decimal("10.00"))
    assert resolve(closed, partly) == []


def test_a_claim_reduced_by_the_dispute_once_is_not_reduced_again():
    claim, _ = registered_claim()
    partly = resolution("partially_upheld", accepted_amount=Decimal("250.00"))
    (adjusted,) = resolve(claim, partly)
    assert resolve(with_event(claim, adjusted), partly) == []


def test_nothing_to_reduce_and_another_currency_change_nothing():
    claim, _ = registered_claim()
    assert resolve(None, resolution("upheld")) == []
    assert resolve(claim, resolution("upheld", currency="GBP")) == []
    zero = resolution("partially_upheld", accepted_amount=Decimal("0"))
    assert resolve(claim, zero) == []


def test_the_account_follows_the_claims_its_triggers_name_and_only_those():
    first, first_events = registered_claim()
    other = uuid.uuid4()
    second_events = [e.model_copy(update={"claim_id": other}) for e in first_events]
    everything = None
    for event in first_events + second_events:
        everything = evolve_account(everything, envelope(event))
    assert {c.claim_id for c in everything.claims} == {first.claim_id, other}

    loaded = DebtorAccount(following=frozenset({other}))
    for event in first_events + second_events:
        loaded = evolve_account(loaded, envelope(event))
    assert followed_claim(loaded, first.claim_id) is None
    assert followed_claim(loaded, other) == first.model_copy(update={"claim_id": other})


def test_the_first_dispute_dates_the_claim_in_the_debtors_time_zone():
    claim, _ = registered_claim()
    first = opened(claim.claim_id, datetime(2026, 11, 30, 23, 30, tzinfo=UTC), "delivery")
    claim = with_event(claim, first)
    claim = with_event(claim, opened(claim.claim_id, datetime(2027, 1, 5, 9, tzinfo=UTC)))
    claim = with_event(
        claim,
        HardshipDeclared(
            claim_id=claim.claim_id,
            dispute_id=uuid.uuid4(),
            raised_by="debtor_contact",
            declared_at=datetime(2026, 11, 1, tzinfo=UTC),
        ),
    )
    facts = kpis.claim_facts(claim)
    assert (facts.disputed_on, facts.dispute_reason) == (date(2026, 12, 1), "delivery")
    period = kpis.kpis([facts], date(2026, 12, 1), date(2026, 12, 31), currency="EUR")
    assert (period.disputed_count, period.disputed_by_reason) == (1, {"delivery": 1})


def test_every_dispute_event_has_a_line_of_its_own_without_its_free_text():
    claim, _ = registered_claim()
    event = opened(claim.claim_id, datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    assert summarize(event) == (
        "Dispute opened (billing error) on 300.00 EUR by the debtor's contact; to be assigned "
        "by 2026-12-02 23:30 UTC and resolved by 2026-12-30 23:30 UTC"
    )
    partly = resolution("partially_upheld", accepted_amount=Decimal("250.00"))
    assert summarize(partly) == "Dispute resolved: partially upheld, 250.00 EUR accepted"
    assert "pii:v1:" not in summarize(event) + summarize(partly)
    for event_type in DISPUTE_EVENTS:  # none falls back to the generic line
        assert summarize.dispatch(event_type) is not summarize.dispatch(object)
    assert {t for t in FREE_TEXT if t.source == "disputes"} <= set(DISPUTE_EVENTS)
