"""A deadline the timer has not fired yet (the service was down, or the agent was quicker than
the timer loop) is recorded by the command that finds it passed: a late assignment breaches the
acknowledgement, a late closing the resolution, and that breach escalates nothing."""

from __future__ import annotations

from datetime import timedelta

from amiable_disputes.domain.commands import Assign, Withdraw
from amiable_disputes.domain.react import escalate_on_breach
from amiable_events.disputes import (
    DisputeAssigned,
    DisputeResolved,
    DisputeSlaBreached,
    DisputeWithdrawn,
)
from tests.disputes_givens import NOW, POLICY, claim, in_status, resolve


def test_an_assignment_in_time_records_no_breach():
    case = claim()
    dispute_id = case.open()
    events = case.decide(Assign(dispute_id, "agent-1"), NOW + timedelta(hours=1))
    assert [type(e) for e in events] == [DisputeAssigned]


def test_a_late_assignment_records_the_missed_acknowledgement():
    case = claim()
    dispute_id = case.open()
    due = case.dispute(dispute_id).acknowledge_by
    events = case.decide(Assign(dispute_id, "agent-1"), due + timedelta(minutes=1))
    assert [type(e) for e in events] == [DisputeAssigned, DisputeSlaBreached]
    assert (events[1].which, events[1].due_at) == ("acknowledge", due)
    assert case.dispute(dispute_id).breaches == ("acknowledge",)


def test_a_breach_the_timer_recorded_is_not_recorded_again():
    case = claim()
    dispute_id = case.open()
    dispute = case.dispute(dispute_id)
    case.add(
        DisputeSlaBreached(
            claim_id=case.claim_id,
            dispute_id=dispute_id,
            which="acknowledge",
            due_at=dispute.acknowledge_by,
        ),
        dispute.acknowledge_by,
    )
    events = case.decide(Assign(dispute_id, "agent-1"), dispute.acknowledge_by + timedelta(days=1))
    assert [type(e) for e in events] == [DisputeAssigned]


def test_a_late_resolution_records_the_missed_deadline_and_escalates_nothing():
    case, dispute_id = in_status("under_review")
    due = case.dispute(dispute_id).resolve_by
    events = case.decide(resolve(dispute_id), due + timedelta(days=2))
    assert [type(e) for e in events] == [DisputeResolved, DisputeSlaBreached]
    assert events[1].which == "resolve"
    breach = case.history.envelopes[-1]
    assert escalate_on_breach(POLICY)(case.file, breach) == []
    assert case.dispute(dispute_id).status == "resolved"


def test_withdrawing_an_unacknowledged_dispute_late_records_both_deadlines():
    case = claim()
    dispute_id = case.open()
    due = case.dispute(dispute_id).resolve_by
    events = case.decide(Withdraw(dispute_id), due + timedelta(hours=1))
    assert [type(e) for e in events] == [DisputeWithdrawn, DisputeSlaBreached, DisputeSlaBreached]
    assert [e.which for e in events[1:]] == ["acknowledge", "resolve"]
