"""The dunning reactions and timers on a debtor account's history, through the pure parts the
service runs (tests.dunning_givens.play): what it appends, and when."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from amiable_dunning.domain.commands import Approve, approve
from amiable_events.claims import (
    Installment,
    PaymentPlanAgreed,
    PromiseToPayRecorded,
)
from amiable_events.commands import Context
from amiable_events.communications import CommunicationFailed
from amiable_events.disputes import DisputeOpened, DisputeResolved
from amiable_events.dunning import (
    ClaimEscalated,
    DunningApprovalRequested,
    DunningPaused,
    DunningPlanScheduled,
    DunningRescheduled,
    DunningResumed,
    DunningStepDue,
    DunningStepSkipped,
    DunningStopped,
)
from amiable_events.errors import Conflict
from amiable_events.ids import keyed_id
from amiable_events.risk import InsolvencyRecorded, SegmentOverridden
from tests.dunning_givens import FIGURES, play
from tests.risk_givens import History, at

#: Invoices issued on a Tuesday, due 30 days later; every date below derives from it.
ISSUED = date(2026, 9, 1)
DUE = ISSUED + timedelta(days=30)
LATER = at(ISSUED + timedelta(days=200))


def sent(played, claim_id=None) -> list[str]:
    return [
        e.step for e in played.events(DunningStepDue) if claim_id is None or e.claim_id == claim_id
    ]


def test_a_claim_runs_its_track_to_the_handoff_which_waits_for_a_person():
    history = History("acme")
    claim_id = history.claim(ISSUED)
    played = play(history, LATER)
    assert sent(played) == [
        "call_overdue",
        "email_reminder",
        "letter_email_copy",
        "letter_reminder",
        "registered_letter",
        "formal_notice",
    ]
    requested = played.events(DunningApprovalRequested)
    assert [e.step for e in requested] == ["litigation_handoff"]
    # every step on a French business day at 09:00 Paris time
    for due in played.events(DunningStepDue):
        local = due.due_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris"))
        assert local.hour == 9 and local.weekday() < 5
    notice = next(e for e in played.events(DunningStepDue) if e.action == "formal_notice")
    due = played.claim(claim_id).ledger.amount_due(notice.due_at.date(), FIGURES)
    assert notice.amount_due.total == due.total and notice.amount_due.fixed_fee == Decimal("40.00")
    assert [line.kind for line in notice.amount_due.lines].count("interest") >= 1
    assert notice.payment_deadline == notice.due_at.date() + timedelta(days=8)


def test_the_approved_handoff_goes_out_and_escalates_the_claim():
    history = History("acme")
    claim_id = history.claim(ISSUED)
    account = play(history, LATER).account
    context = Context(tenant="acme", now=LATER, policy=FIGURES)
    due, escalated = approve(account, Approve(claim_id, "litigation_handoff", "marie"), context)
    assert isinstance(due, DunningStepDue) and due.approved_by == "marie"
    assert isinstance(escalated, ClaimEscalated) and escalated.claim_id == claim_id
    with pytest.raises(Conflict) as refused:
        approve(account, Approve(claim_id, "formal_notice", "marie"), context)
    assert refused.value.extra["awaiting_approval"] == ["litigation_handoff"]


def test_three_claims_of_one_debtor_get_one_statement_per_reminder_day():
    history = History("acme")
    claims = [history.claim(ISSUED + timedelta(days=n)) for n in (0, 1, 2)]
    played = play(history, at(DUE + timedelta(days=20)))
    emails = [e for e in played.events(DunningStepDue) if e.step == "email_reminder"]
    assert len(emails) == 3
    assert len({e.group_id for e in emails}) == 1 and len({e.due_at for e in emails}) == 1
    assert set(emails[0].group) == set(claims) and emails[0].group[0] == claims[0]


def test_a_dispute_on_a_fifth_of_the_claim_lets_chasing_go_on():
    history = History("acme")
    claim_id = history.claim(ISSUED)
    history.add(_dispute(claim_id, "200.00", whole=False), at(DUE + timedelta(days=5)))
    played = play(history, at(DUE + timedelta(days=30)))
    assert not played.events(DunningPaused)
    email = next(e for e in played.events(DunningStepDue) if e.step == "email_reminder")
    assert email.disputed_amount == Decimal("200.00")  # the message claims only the rest


def test_a_whole_dispute_pauses_and_a_rejection_resumes_with_dates_moved():
    history = History("acme")
    claim_id = history.claim(ISSUED)
    opened = _dispute(claim_id, "1000.00", whole=True)
    history.add(opened, at(DUE + timedelta(days=5)))
    history.add(_resolved(opened, "rejected"), at(DUE + timedelta(days=40)))
    played = play(history, at(DUE + timedelta(days=60)))
    paused = played.events(DunningPaused)
    assert [p.reason for p in paused] == ["dispute_opened"]
    resumed = played.events(DunningResumed)
    assert [r.reason for r in resumed] == ["dispute_rejected"]
    # nothing went out while paused; after the resume, the next step is after the resume
    during = [
        e
        for e in played.events(DunningStepDue)
        if at(DUE + timedelta(days=5)) < e.due_at < at(DUE + timedelta(days=40))
    ]
    assert during == []
    assert resumed[0].steps[0].at > at(DUE + timedelta(days=40))


def test_an_upheld_dispute_on_the_whole_claim_stops_it():
    history = History("acme")
    claim_id = history.claim(ISSUED)
    opened = _dispute(claim_id, "1000.00", whole=True)
    history.add(opened, at(DUE + timedelta(days=5)))
    history.add(_resolved(opened, "upheld"), at(DUE + timedelta(days=10)))
    played = play(history, LATER)
    assert [s.reason for s in played.events(DunningStopped)] == ["dispute_upheld"]
    assert sent(played) == ["call_overdue"]


def test_a_promise_snoozes_and_a_broken_one_resumes_a_stage_firmer():
    history = History("acme")
    claim_id = history.claim(ISSUED)
    promised_on = DUE + timedelta(days=20)
    history.add(_promise(claim_id, promised_on), at(DUE + timedelta(days=8)))
    history.promise_broken(claim_id, promised_on + timedelta(days=4))
    played = play(history, at(DUE + timedelta(days=60)))
    paused = played.events(DunningPaused)
    assert paused[0].reason == "promise_to_pay" and paused[0].until == promised_on + timedelta(3)
    assert not played.events(DunningResumed)
    firmer = played.events(DunningPlanScheduled)[-1]
    assert firmer.reason == "promise_broken" and firmer.track == "standard_b2b"
    # reached: amicable (a call) -> goes on at the firm stage
    assert {s.stage for s in firmer.steps} <= {"firm", "formal_notice", "after_formal_notice"}
    assert firmer.steps[0].key == "registered_letter"
    assert played.claim(claim_id).status == "active"


def test_a_kept_promise_resumes_where_it_stood_after_its_grace():
    history = History("acme")
    claim_id = history.claim(ISSUED)
    promised_on = DUE + timedelta(days=20)
    history.add(_promise(claim_id, promised_on), at(DUE + timedelta(days=8)))
    played = play(history, at(DUE + timedelta(days=60)))
    resumed = played.events(DunningResumed)
    assert [r.reason for r in resumed] == ["promise_period_over"]
    # the promise came before the email reminder: it goes first, after the snooze
    assert resumed[0].steps[0].key == "email_reminder"
    assert resumed[0].steps[0].planned_on > promised_on + timedelta(days=3)


def test_a_partial_payment_skips_the_next_step_only():
    history = History("acme")
    claim_id = history.claim(ISSUED)
    history.pay(claim_id, DUE + timedelta(days=5), "100.00")
    played = play(history, at(DUE + timedelta(days=30)))
    skipped = played.events(DunningStepSkipped)
    assert [(s.step, s.reason) for s in skipped] == [("email_reminder", "paid_since_planned")]
    assert "letter_reminder" in sent(played)


def test_a_payment_plan_replaces_the_track_and_its_default_resumes_it_escalated():
    history = History("acme")
    claim_id = history.claim(ISSUED)
    agreed = DUE + timedelta(days=10)
    installments = tuple(
        Installment(due_on=agreed + timedelta(days=30 * n), amount=Decimal("500.00"))
        for n in (1, 2)
    )
    history.add(
        PaymentPlanAgreed(
            claim_id=claim_id,
            plan_id=keyed_id("risk-test-plan", str(claim_id)),  # as plan_defaulted names it
            agreed_on=agreed,
            installments=installments,
            grace_days=5,
            agreed_at=at(agreed),
        ),
        at(agreed),
    )
    history.pay(claim_id, installments[0].due_on, "500.00")
    history.plan_defaulted(claim_id, installments[1].due_on + timedelta(days=10))
    played = play(history, at(installments[1].due_on + timedelta(days=40)))
    plans = played.events(DunningPlanScheduled)
    assert [p.track for p in plans] == ["standard_b2b", "payment_plan", "standard_b2b"]
    assert [s.key for s in plans[1].steps] == [
        "installment_1_before",
        "installment_1_after",
        "installment_2_before",
        "installment_2_after",
    ]
    skipped = {s.step for s in played.events(DunningStepSkipped)}
    assert "installment_1_after" in skipped  # paid on its day
    assert plans[2].reason == "payment_plan_defaulted"
    assert plans[2].steps[0].stage != "amicable"


def test_insolvency_stops_every_chased_claim_of_the_debtor():
    history = History("acme")
    first, second = history.claim(ISSUED), history.claim(ISSUED + timedelta(days=3))
    history.add(
        InsolvencyRecorded(
            debtor_id="D-1",
            kind="receivership",
            opened_on=DUE + timedelta(days=4),
            reference="RJ-1",
            recorded_at=at(DUE + timedelta(days=4)),
        ),
        at(DUE + timedelta(days=4)),
    )
    third = history.claim(ISSUED + timedelta(days=6))
    played = play(history, LATER)
    stopped = played.events(DunningStopped)
    assert {(s.claim_id, s.reason) for s in stopped} == {
        (first, "insolvency"),
        (second, "insolvency"),
    }
    assert not [p for p in played.events(DunningPlanScheduled) if p.claim_id == third]
    assert played.claim(third).status == "waiting"


def test_hardship_moves_the_claim_to_the_fragile_track():
    history = History("acme")
    claim_id = history.claim(ISSUED)
    history.hardship(claim_id, DUE + timedelta(days=3))
    played = play(history, at(DUE + timedelta(days=40)))
    plans = played.events(DunningPlanScheduled)
    assert [(p.track, p.reason) for p in plans] == [
        ("standard_b2b", "claim_qualified"),
        ("fragile_customer", "hardship_declared"),
    ]
    assert "payment_plan" in [s.key for s in plans[1].steps]


def test_a_chronic_late_payer_segment_re_plans_on_the_firmer_track():
    history = History("acme")
    history.claim(ISSUED)
    history.add(
        SegmentOverridden(
            debtor_id="D-1",
            segment="chronic_late_payer",
            reason="pii:v1:x",
            overridden_at=at(ISSUED + timedelta(days=2)),
        ),
        at(ISSUED + timedelta(days=2)),
    )
    played = play(history, at(DUE + timedelta(days=5)))
    plans = played.events(DunningPlanScheduled)
    assert [p.track for p in plans] == ["standard_b2b", "chronic_late_payer"]
    assert plans[1].revision == 2 and plans[1].policy_version == "2026.12-1"


def test_a_failed_channel_moves_the_step_to_the_next_and_none_left_skips_it():
    history = History("acme")
    claim_id = history.claim(ISSUED)
    played = play(history, at(DUE + timedelta(days=60)))
    notice = next(e for e in played.events(DunningStepDue) if e.step == "formal_notice")
    history.add(
        CommunicationFailed(
            claim_id=claim_id,
            communication_id=keyed_id("comm", "1"),
            channel="registered_letter",
            revision=notice.revision,
            step="formal_notice",
            reason="address unknown",
            failed_at=notice.due_at + timedelta(hours=1),
        ),
        notice.due_at + timedelta(hours=1),
    )
    played = play(history, at(DUE + timedelta(days=60)))
    rescheduled = played.events(DunningRescheduled)
    assert rescheduled[0].steps[0].key == "formal_notice"
    assert rescheduled[0].steps[0].channels == ("email",)
    again = [e for e in played.events(DunningStepDue) if e.step == "formal_notice"]
    assert [e.channel for e in again] == ["registered_letter", "email"]


def test_a_settled_claim_stops_and_nothing_fires_after():
    history = History("acme")
    claim_id = history.claim(ISSUED)
    history.settle(claim_id, DUE + timedelta(days=12))
    played = play(history, LATER)
    assert [s.reason for s in played.events(DunningStopped)] == ["claim_settled"]
    assert sent(played) == ["call_overdue", "email_reminder"]


def _dispute(claim_id, amount: str, *, whole: bool) -> DisputeOpened:
    when = at(DUE + timedelta(days=5))
    return DisputeOpened(
        claim_id=claim_id,
        dispute_id=keyed_id("dispute", str(claim_id), amount),
        reason="quality_or_service",
        disputed_amount=Decimal(amount),
        currency="EUR",
        whole_claim=whole,
        raised_by="debtor_contact",
        opened_at=when,
        acknowledge_by=when + timedelta(days=2),
        resolve_by=when + timedelta(days=30),
    )


def _resolved(opened: DisputeOpened, outcome: str) -> DisputeResolved:
    return DisputeResolved(
        claim_id=opened.claim_id,
        dispute_id=opened.dispute_id,
        outcome=outcome,
        resolution_note="pii:v1:x",
        disputed_amount=opened.disputed_amount,
        currency="EUR",
        whole_claim=opened.whole_claim,
        resolved_at=opened.opened_at + timedelta(days=10),
    )


def _promise(claim_id, promised_on: date) -> PromiseToPayRecorded:
    return PromiseToPayRecorded(
        claim_id=claim_id,
        promise_id=keyed_id("promise", str(claim_id)),
        amount=Decimal("1000.00"),
        promised_on=promised_on,
        source_channel="call",
        grace_days=3,
        recorded_at=at(promised_on - timedelta(days=12)),
    )


# --- a backlog read in one batch: reactions decided before the plan was on the log -----------


def test_a_claim_settled_in_the_batch_of_its_qualification_stops_when_its_plan_arrives():
    history = History("acme")
    claim_id = history.claim(ISSUED)
    history.settle(claim_id, ISSUED + timedelta(days=3))
    played = play(history, LATER, one_batch=True)
    assert [type(e).__name__ for e in played.events()] == ["DunningPlanScheduled", "DunningStopped"]
    assert played.events(DunningStopped)[0].reason == "claim_settled"
    assert sent(played) == [] and played.claim(claim_id).status == "stopped"


def test_a_dispute_and_a_segment_in_the_batch_of_the_qualification_catch_up():
    history = History("acme")
    claim_id = history.claim(ISSUED)
    history.add(
        SegmentOverridden(
            debtor_id="D-1",
            segment="chronic_late_payer",
            reason="pii:v1:x",
            overridden_at=at(ISSUED + timedelta(days=1)),
        ),
        at(ISSUED + timedelta(days=1)),
    )
    history.add(_dispute(claim_id, "1000.00", whole=True), at(ISSUED + timedelta(days=2)))
    played = play(history, at(DUE + timedelta(days=30)), one_batch=True)
    plans = played.events(DunningPlanScheduled)
    assert [p.track for p in plans] == ["standard_b2b", "chronic_late_payer"]
    assert [p.reason for p in played.events(DunningPaused)] == ["dispute_opened"]
    assert sent(played) == []


def test_a_dispute_opened_during_a_promise_pauses_when_the_snooze_ends():
    history = History("acme")
    claim_id = history.claim(ISSUED)
    promised_on = DUE + timedelta(days=20)
    history.add(_promise(claim_id, promised_on), at(DUE + timedelta(days=8)))
    history.add(_dispute(claim_id, "1000.00", whole=True), at(DUE + timedelta(days=10)))
    played = play(history, at(DUE + timedelta(days=60)))
    reasons = [
        type(e).__name__ + ":" + e.reason for e in played.events(DunningPaused, DunningResumed)
    ]
    assert reasons == [
        "DunningPaused:promise_to_pay",
        "DunningResumed:promise_period_over",
        "DunningPaused:dispute_opened",
    ]
    assert played.claim(claim_id).status == "paused"
