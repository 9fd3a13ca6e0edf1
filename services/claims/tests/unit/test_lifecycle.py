"""Given a claim's events, when a command or a timer, then events: the claim's whole life."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from amiable_claims.domain.commands import (
    AcknowledgeDebt,
    AdjustClaim,
    AgreePaymentPlan,
    CancelClaim,
    RecordPayment,
    RecordPromise,
    WriteOffClaim,
)
from amiable_claims.domain.decide import (
    Conflict,
    InvalidClaim,
    decide_acknowledgement,
    decide_adjustment,
    decide_cancel,
    decide_payment,
    decide_payment_plan,
    decide_promise,
    decide_write_off,
)
from amiable_claims.domain.evolve import _evolve
from amiable_claims.domain.figures import amount_due, prescription_date
from amiable_claims.domain.timers import desired_timers, timer_event
from amiable_events.claims import (
    ClaimSettled,
    DebtAcknowledged,
    Installment,
    InstallmentMissed,
    LimitationApproaching,
    PaymentPlanAgreed,
    PaymentPlanDefaulted,
    PaymentReceived,
    PromiseBroken,
    PromiseToPayRecorded,
)
from amiable_events.commands import REPEATED
from amiable_events.ids import seeded_ids
from tests.claims_givens import POLICY, context, envelope, given, registered_claim

D = Decimal
LATER = datetime(2026, 12, 15, 9, 0, tzinfo=UTC)
PAYMENT_IDS = seeded_ids(3)  # one deterministic stream: every payment gets its own id


def pay(claim, amount: str, on: date, now: datetime = LATER, currency: str = "EUR"):
    return decide_payment(
        claim,
        RecordPayment(amount=D(amount), currency=currency, received_on=on),
        context(now, PAYMENT_IDS, POLICY),
    )


def then(claim, events):
    for event in events:
        claim = _evolve(event, claim, envelope(event))
    return claim


def test_a_partial_payment_reduces_the_balance_without_settling():
    claim, _ = registered_claim()
    events = pay(claim, "500.00", date(2026, 12, 1))
    assert [type(e) for e in events] == [PaymentReceived]
    claim = then(claim, events)
    assert claim.paid == D("500.00")
    assert claim.status == "qualified"


def test_paying_everything_due_settles_the_claim():
    claim, _ = registered_claim()
    due = amount_due(claim, LATER.date(), POLICY).total
    assert due > D("1250.00")  # late interest since 2026-10-31 and the EUR 40 fee
    events = pay(claim, str(due), LATER.date())
    assert [type(e) for e in events] == [PaymentReceived, ClaimSettled]
    assert events[1].overpaid == 0
    assert then(claim, events).status == "settled"


def test_an_overpayment_is_recorded_as_a_credit_balance_never_an_error():
    claim, _ = registered_claim()
    due = amount_due(claim, LATER.date(), POLICY).total
    events = pay(claim, str(due + D("100.00")), LATER.date())
    assert events[1].overpaid == D("100.00")
    settled = then(claim, events)
    again = pay(settled, "20.00", LATER.date())
    assert [type(e) for e in again] == [PaymentReceived]  # on a settled claim: overpayment
    assert amount_due(then(settled, again), LATER.date(), POLICY).overpaid == D("120.00")


def test_a_payment_in_another_currency_is_refused():
    claim, _ = registered_claim()
    with pytest.raises(InvalidClaim) as invalid:
        pay(claim, "10.00", LATER.date(), currency="USD")
    assert invalid.value.errors[0].field == "currency"


def test_a_back_dated_payment_changes_every_later_figure():
    claim, _ = registered_claim()
    before = amount_due(claim, date(2026, 12, 31), POLICY)
    claim = then(claim, pay(claim, "1000.00", date(2026, 11, 5)))
    after = amount_due(claim, date(2026, 12, 31), POLICY)
    assert after.interest_accrued < before.interest_accrued
    assert after.principal_outstanding < before.principal_outstanding


def test_a_plan_must_add_up_to_the_balance():
    claim, _ = registered_claim()
    plan = AgreePaymentPlan(
        installments=(Installment(due_on=date(2027, 1, 15), amount=D("100.00")),)
    )
    with pytest.raises(InvalidClaim) as invalid:
        decide_payment_plan(claim, plan, context(LATER, seeded_ids(4), POLICY))
    assert invalid.value.errors[0].field == "installments"
    assert "balance due is" in invalid.value.errors[0].reason


def agreed_plan(claim):
    balance = amount_due(claim, LATER.date(), POLICY).total
    first = (balance / 2).quantize(D("0.01"))
    plan = AgreePaymentPlan(
        installments=(
            Installment(due_on=date(2027, 1, 15), amount=first),
            Installment(due_on=date(2027, 2, 15), amount=balance - first),
        )
    )
    events = decide_payment_plan(claim, plan, context(LATER, seeded_ids(4), POLICY))
    return then(claim, events), events[0]


def test_missed_instalments_then_default_through_timers():
    claim, _ = registered_claim()
    claim, agreed = agreed_plan(claim)
    assert isinstance(agreed, PaymentPlanAgreed)
    timers = {t.kind: t for t in desired_timers(claim, POLICY) if t.kind == "installment"}
    first = desired_timers(claim, POLICY)[0]
    assert first.due_at == datetime(2027, 1, 21, tzinfo=UTC)  # due + 5 grace days + 1
    missed = timer_event(first.kind, first.payload, first.due_at)
    assert isinstance(missed, InstallmentMissed)
    claim = then(claim, [missed])
    [second] = [t for t in desired_timers(claim, POLICY) if t.kind == "installment"]
    assert second.payload["misses_before"] == 1
    defaulted = timer_event(second.kind, second.payload, second.due_at)
    assert isinstance(defaulted, PaymentPlanDefaulted)
    claim = then(claim, [defaulted])
    assert claim.plan.defaulted_on == date(2027, 2, 21)
    assert not claim.plan_running
    assert [t.kind for t in desired_timers(claim, POLICY)] == ["limitation"]
    assert timers


def test_instalments_falling_due_together_miss_then_default_then_stop():
    claim, _ = registered_claim()
    balance = amount_due(claim, LATER.date(), POLICY).total
    third = (balance / 3).quantize(D("0.01"))
    plan = AgreePaymentPlan(
        installments=tuple(
            Installment(due_on=date(2027, month, 1), amount=amount)
            for month, amount in ((1, third), (2, third), (3, balance - 2 * third))
        )
    )
    claim = then(
        claim,
        decide_payment_plan(claim, plan, context(LATER, seeded_ids(9), POLICY)),
    )
    fired = [
        timer_event(t.kind, t.payload, t.due_at)
        for t in desired_timers(claim, POLICY)
        if t.kind == "installment"
    ]
    assert [type(e).__name__ for e in fired] == [
        "InstallmentMissed",
        "PaymentPlanDefaulted",
        "NoneType",
    ]


def test_a_paid_instalment_has_no_timer_and_the_last_payment_settles():
    claim, _ = registered_claim()
    claim, agreed = agreed_plan(claim)
    [one, two] = agreed.installments
    claim = then(
        claim, pay(claim, str(one.amount), date(2027, 1, 10), now=datetime(2027, 1, 10, tzinfo=UTC))
    )
    assert [t.payload.get("installment") for t in desired_timers(claim, POLICY)][:1] == [1]
    events = pay(claim, str(two.amount), date(2027, 2, 10), now=datetime(2027, 2, 10, tzinfo=UTC))
    assert [type(e) for e in events] == [PaymentReceived, ClaimSettled]  # interest suspended


def test_a_second_plan_while_one_runs_is_a_conflict():
    claim, _ = registered_claim()
    claim, _ = agreed_plan(claim)
    with pytest.raises(Conflict):
        agreed_plan(claim)


def test_a_promise_is_kept_by_a_payment_or_broken_by_its_timer():
    claim, _ = registered_claim()
    [promise] = decide_promise(
        claim,
        RecordPromise(amount=D("300.00"), promised_on=date(2026, 12, 20), source="call"),
        context(LATER, seeded_ids(5), POLICY),
    )
    assert isinstance(promise, PromiseToPayRecorded)
    promised = then(claim, [promise])
    [timer] = [t for t in desired_timers(promised, POLICY) if t.kind == "promise"]
    assert timer.due_at == datetime(2026, 12, 24, tzinfo=UTC)  # 3 grace days
    broken = timer_event(timer.kind, timer.payload, timer.due_at)
    assert isinstance(broken, PromiseBroken)
    assert then(promised, [broken]).promises[0].state == "broken"

    kept = then(
        promised,
        pay(promised, "300.00", date(2026, 12, 18), now=datetime(2026, 12, 18, tzinfo=UTC)),
    )
    assert kept.promises[0].state == "kept"
    assert [t.kind for t in desired_timers(kept, POLICY)] == ["limitation"]


def test_closed_claims_refuse_commands_with_a_conflict():
    claim, _ = registered_claim()
    written_off = then(claim, decide_write_off(claim, WriteOffClaim("insolvent"), context(LATER)))
    assert written_off.status == "written_off"
    assert decide_write_off(written_off, WriteOffClaim("again"), context(LATER)) is REPEATED
    for command in (
        lambda c: decide_cancel(c, CancelClaim("error"), context(LATER)),
        lambda c: decide_promise(
            c,
            RecordPromise(D("1.00"), date(2027, 1, 1), "email"),
            context(LATER, uuid.uuid4, POLICY),
        ),
    ):
        with pytest.raises(Conflict, match="written off"):
            command(written_off)
    assert desired_timers(written_off, POLICY) == []


def test_a_retried_command_without_a_key_is_recognised_by_what_it_records():
    """Client retries without an Idempotency-Key: the state names what was already done."""
    claim, _ = registered_claim()
    ctx = context(LATER, uuid.uuid4, POLICY)
    payment = RecordPayment(amount=D("100.00"), currency=None, received_on=LATER.date())
    claim = then(claim, decide_payment(claim, payment, ctx))
    assert decide_payment(claim, payment, ctx) is REPEATED
    # Same figures written differently still name the same payment.
    same = RecordPayment(amount=D("100.0"), currency=None, received_on=LATER.date())
    assert decide_payment(claim, same, ctx) is REPEATED
    # Another reference, another day or another key is another payment.
    for other in (
        RecordPayment(D("100.00"), None, LATER.date(), reference="VIR-2"),
        RecordPayment(D("100.00"), None, LATER.date() - timedelta(days=1)),
        RecordPayment(D("100.00"), None, LATER.date(), idempotency_key="k-1"),
    ):
        events = decide_payment(claim, other, ctx)
        assert [type(e) for e in events][:1] == [PaymentReceived]
        claim = then(claim, events)
    assert claim.paid == D("400.00")
    keyed = RecordPayment(D("100.00"), None, LATER.date(), idempotency_key="k-1")
    assert decide_payment(claim, keyed, ctx) is REPEATED

    promise = RecordPromise(D("300.00"), LATER.date() + timedelta(days=10), "call")
    claim = then(claim, decide_promise(claim, promise, ctx))
    assert decide_promise(claim, promise, ctx) is REPEATED
    assert len(claim.promises) == 1

    acknowledged = AcknowledgeDebt(LATER.date())
    claim = then(claim, decide_acknowledgement(claim, acknowledged, ctx))
    assert decide_acknowledgement(claim, acknowledged, ctx) is REPEATED

    due = amount_due(claim, LATER.date(), POLICY).total
    plan = AgreePaymentPlan((Installment(due_on=LATER.date() + timedelta(days=30), amount=due),))
    claim = then(claim, decide_payment_plan(claim, plan, ctx))
    assert decide_payment_plan(claim, plan, ctx) is REPEATED
    other_plan = AgreePaymentPlan(plan.installments, grace_days=1)
    with pytest.raises(Conflict, match="already running"):
        decide_payment_plan(claim, other_plan, ctx)

    cancelled = then(claim, decide_cancel(claim, CancelClaim("error"), ctx))
    assert decide_cancel(cancelled, CancelClaim("error"), ctx) is REPEATED


def test_a_partial_credit_note_reduces_the_principal():
    claim, _ = registered_claim()
    events = decide_adjustment(claim, AdjustClaim(D("250.00"), "AV-1"), context(LATER))
    claim = then(claim, events)
    assert amount_due(claim, LATER.date(), POLICY).principal_outstanding == D("1000.00")
    with pytest.raises(InvalidClaim, match="use /cancel"):
        decide_adjustment(claim, AdjustClaim(D("1000.00"), "AV-2"), context(LATER))


def test_an_acknowledgement_or_a_part_payment_restarts_the_limitation_period():
    claim, _ = registered_claim()
    assert prescription_date(claim, POLICY) == date(2031, 10, 31)
    claim = then(
        claim,
        [
            DebtAcknowledged(
                claim_id=claim.claim_id, acknowledged_on=date(2027, 3, 1), recorded_at=LATER
            )
        ],
    )
    assert prescription_date(claim, POLICY) == date(2032, 3, 1)
    claim = then(
        claim, pay(claim, "10.00", date(2028, 6, 30), now=datetime(2028, 7, 1, tzinfo=UTC))
    )
    assert prescription_date(claim, POLICY) == date(2033, 6, 30)
    [timer] = [t for t in desired_timers(claim, POLICY) if t.kind == "limitation"]
    assert timer.due_at.date() == date(2033, 6, 30) - timedelta(days=90)
    warning = timer_event(timer.kind, timer.payload, timer.due_at)
    assert isinstance(warning, LimitationApproaching)
    assert warning.days_left == 90
    assert not [t for t in desired_timers(then(claim, [warning]), POLICY) if t.kind == "limitation"]


def test_evolve_is_total_any_order_of_events_gives_a_claim():
    claim, registration = registered_claim()
    claim, agreed = agreed_plan(claim)
    history = [
        *registration,
        agreed,
        *pay(claim, "100.00", date(2026, 12, 1)),
        *decide_write_off(claim, WriteOffClaim("insolvent"), context(LATER)),
        DebtAcknowledged(
            claim_id=claim.claim_id, acknowledged_on=date(2026, 12, 2), recorded_at=LATER
        ),
        ClaimSettled(claim_id=claim.claim_id, settled_on=date(2026, 12, 3), overpaid=D(0)),
    ]
    rng = random.Random(42)
    for _ in range(200):
        shuffled = history[:]
        rng.shuffle(shuffled)
        state = given(*shuffled)
        if state is not None:
            assert state.status in (
                "registered",
                "qualified",
                "rejected",
                "settled",
                "written_off",
                "cancelled",
            )
            amount_due(state, date(2027, 1, 1), POLICY)
