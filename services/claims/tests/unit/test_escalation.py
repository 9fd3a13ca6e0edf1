"""A claim handed over to litigation: dunning's ``ClaimEscalated`` moves it to ``escalated``
(amicable recovery over, the money still owed); what it still accepts; and the dunning and
communications events, each with a line of its own on the claim's timeline."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from amiable_claims.domain import kpis
from amiable_claims.domain.commands import (
    AcknowledgeDebt,
    AdjustClaim,
    AgreePaymentPlan,
    CancelClaim,
    RecordPayment,
    RecordPromise,
    RequalifyClaim,
    WriteOffClaim,
)
from amiable_claims.domain.decide import (
    Conflict,
    decide_acknowledgement,
    decide_adjustment,
    decide_cancel,
    decide_payment,
    decide_payment_plan,
    decide_promise,
    decide_qualification,
    decide_write_off,
)
from amiable_claims.domain.evolve import with_event
from amiable_claims.domain.figures import amount_due
from amiable_claims.domain.timeline import summarize
from amiable_claims.domain.timers import desired_timers
from amiable_events.claims import (
    ClaimQualified,
    ClaimRejected,
    ClaimSettled,
    ClaimWrittenOff,
    Installment,
    PaymentReceived,
)
from amiable_events.communications import CommunicationFailed
from amiable_events.dunning import (
    EVENTS as DUNNING_EVENTS,
)
from amiable_events.dunning import (
    DunningPaused,
    DunningPlanScheduled,
    DunningStepDue,
    DunningStopped,
    TenantEvent,
)
from tests.claims_givens import (
    APPROVER,
    POLICY,
    context,
    dunning_events,
    escalation,
    given,
    registered_claim,
)

LATER = datetime(2026, 12, 15, 9, 0, tzinfo=UTC)


def escalated_claim():
    claim, _ = registered_claim()
    return with_event(claim, escalation(claim.claim_id, LATER))


def test_a_handoff_to_litigation_escalates_the_claim_which_stays_open():
    claim = escalated_claim()
    assert (claim.status, claim.closed, claim.closed_on) == ("escalated", False, None)
    # 23:30 UTC on 31 December is already 1 January in Paris, the debtor's zone.
    late = with_event(
        registered_claim()[0],
        escalation(claim.claim_id, datetime(2026, 12, 31, 23, 30, tzinfo=UTC)),
    )
    assert late.escalated_on == date(2027, 1, 1)
    assert claim.escalated_on == date(2026, 12, 15)
    again = with_event(claim, escalation(claim.claim_id, LATER + timedelta(days=3)))
    assert again.escalated_on == date(2026, 12, 15)  # the first handoff dates it


def test_a_requalification_on_the_log_does_not_undo_the_handoff_nor_a_handoff_reopen():
    claim = escalated_claim()
    for event in (
        ClaimQualified(
            claim_id=claim.claim_id, qualified_at=LATER, prescription_date=date(2031, 10, 31)
        ),
        ClaimRejected(claim_id=claim.claim_id, rejected_at=LATER, reasons=("duplicate",)),
    ):
        assert with_event(claim, event).status == "escalated"
    written_off = with_event(
        registered_claim()[0],
        ClaimWrittenOff(claim_id=claim.claim_id, reason="x", written_off_at=LATER),
    )
    assert with_event(written_off, escalation(claim.claim_id, LATER)).status == "written_off"


def test_money_received_after_the_handoff_is_recorded_and_a_full_payment_settles():
    claim = escalated_claim()
    ctx = context(LATER, uuid.uuid4, POLICY)
    (part,) = decide_payment(claim, RecordPayment(Decimal("100.00"), "EUR", LATER.date()), ctx)
    claim = with_event(claim, part)
    assert (claim.status, claim.paid) == ("escalated", Decimal("100.00"))
    rest = amount_due(claim, LATER.date(), POLICY).total
    paid, settled = decide_payment(claim, RecordPayment(rest, "EUR", LATER.date()), ctx)
    assert type(paid) is PaymentReceived and type(settled) is ClaimSettled
    assert with_event(with_event(claim, paid), settled).status == "settled"


def test_no_more_negotiation_on_an_escalated_claim_a_409_naming_its_status():
    claim = escalated_claim()
    ctx = context(LATER, uuid.uuid4, POLICY)
    due = amount_due(claim, LATER.date(), POLICY).total
    refused = (
        lambda: decide_promise(
            claim, RecordPromise(Decimal("100.00"), date(2027, 1, 10), "call"), ctx
        ),
        lambda: decide_payment_plan(
            claim, AgreePaymentPlan((Installment(due_on=date(2027, 1, 10), amount=due),)), ctx
        ),
        lambda: decide_qualification(claim, RequalifyClaim(None), ctx),
    )
    for command in refused:
        with pytest.raises(Conflict, match="claim is escalated") as refusal:
            command()
        assert refusal.value.extra["status_of_claim"] == "escalated"


def test_an_escalated_claim_may_still_be_credited_acknowledged_written_off_or_cancelled():
    claim = escalated_claim()
    ctx = context(LATER, uuid.uuid4, POLICY)
    assert decide_adjustment(claim, AdjustClaim(Decimal("50.00"), "AV-9", None), ctx)
    assert decide_acknowledgement(claim, AcknowledgeDebt(LATER.date(), None), ctx)
    (written_off,) = decide_write_off(claim, WriteOffClaim("pii:v1:sealed"), ctx)
    assert with_event(claim, written_off).status == "written_off"
    (cancelled,) = decide_cancel(claim, CancelClaim("pii:v1:sealed", "AV-10"), ctx)
    assert with_event(claim, cancelled).status == "cancelled"


def test_an_escalated_claim_keeps_its_limitation_warning_and_stays_a_receivable():
    claim = escalated_claim()
    assert [t.kind for t in desired_timers(claim, POLICY)] == ["limitation"]
    facts = kpis.claim_facts(claim)
    assert facts.closed_as is None and facts.closed_on is None
    assert kpis.open_balance(facts, LATER.date()) == claim.amount
    aged = kpis.aged_balance([facts], LATER.date(), currency="EUR")
    assert (aged.count, aged.total) == (1, claim.amount)


def test_any_order_of_a_handoff_and_the_claim_s_events_gives_a_claim():
    claim, registration = registered_claim()
    history = [
        *registration,
        escalation(claim.claim_id, LATER),
        PaymentReceived(
            claim_id=claim.claim_id,
            payment_id=uuid.uuid4(),
            amount=Decimal("10.00"),
            currency="EUR",
            received_on=LATER.date(),
            recorded_at=LATER,
        ),
        ClaimSettled(claim_id=claim.claim_id, settled_on=LATER.date(), overpaid=Decimal(0)),
    ]
    rng = random.Random(7)
    seen = set()
    for _ in range(100):
        rng.shuffle(history)
        state = given(*history)
        if state is not None:
            seen.add(state.status)
            assert state.closed == (state.status == "settled")
    assert "escalated" in seen and "settled" in seen


# --- the timeline ------------------------------------------------------------------------------


def test_every_dunning_event_about_a_claim_has_a_line_of_its_own_naming_no_person():
    claim_id = uuid.uuid4()
    events = dunning_events(claim_id, LATER)
    about_claims = {t for t in DUNNING_EVENTS if not issubclass(t, TenantEvent)}
    assert about_claims <= {type(e) for e in events}
    lines = {type(e): summarize(e) for e in events}
    for event_type in lines:  # none falls back to the generic line
        assert summarize.dispatch(event_type) is not summarize.dispatch(object)
    assert lines[DunningPlanScheduled] == (
        "Dunning plan 1: track standard b2b, policy default 2026.12-1, 1 step(s) "
        "(claim qualified); next formal notice on 2027-01-04"
    )
    assert lines[DunningPaused] == "Dunning paused: dispute opened"
    assert lines[DunningStepDue] == (
        "Formal notice by registered letter (step formal_notice, firm tone, to management), "
        "pay by 2027-01-12, with 1 other claim(s)"
    )
    assert lines[DunningStopped] == "Dunning stopped: escalated"
    assert lines[CommunicationFailed] == "Message by email not delivered (dunning step reminder_1)"
    text = " ".join(lines.values())
    assert "claire" not in text and APPROVER not in text  # summaries are stored: no person
