"""The dispute state machine: what each status allows, the 409 that names it, who may handle a
dispute, the commands that repeat a state already reached, and the automatic escalation."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from amiable_disputes.domain.commands import (
    TRANSITIONS,
    Assign,
    Comment,
    Mediate,
    Reclassify,
    Withdraw,
)
from amiable_disputes.domain.decide import ALLOWED
from amiable_disputes.domain.react import escalate_on_breach
from amiable_events.commands import REPEATED
from amiable_events.disputes import (
    DisputeAssigned,
    DisputeCommented,
    DisputeEscalatedToMediation,
    DisputeReclassified,
    DisputeResolved,
    DisputeSlaBreached,
    DisputeWithdrawn,
)
from amiable_events.errors import Conflict, Invalid, NotFound
from tests.disputes_givens import NOW, POLICY, SEALED, STATUSES, claim, in_status, resolve

#: Written out here, not read from ALLOWED: a change to the state machine must change this too.
EXPECTED = {
    "open": ("assign", "withdraw", "reclassify", "comments"),
    "under_review": ("assign", "mediation", "resolve", "withdraw", "reclassify", "comments"),
    "mediation": ("assign", "mediation", "resolve", "withdraw", "reclassify", "comments"),
    "resolved": ("comments",),
    "withdrawn": ("comments",),
    "hardship": ("comments",),
}
COMMANDS = ("assign", "mediation", "resolve", "withdraw", "comments", "reclassify")


def command(name: str, dispute_id: uuid.UUID):
    """A command of ``name`` that changes something on any dispute ``in_status`` gives."""
    return {
        "assign": Assign(dispute_id, "agent-2"),
        "mediation": Mediate(dispute_id, "mediator-2"),
        "resolve": resolve(dispute_id),
        "withdraw": Withdraw(dispute_id),
        "comments": Comment(dispute_id, SEALED),
        "reclassify": Reclassify(dispute_id, "billing_error"),
    }[name]


EMITS = {
    "assign": [DisputeAssigned],
    "mediation": [DisputeEscalatedToMediation],
    "resolve": [DisputeResolved],
    "withdraw": [DisputeWithdrawn],
    "comments": [DisputeCommented],
    "reclassify": [DisputeReclassified],
}


def test_the_allowed_transitions_are_the_expected_table():
    assert ALLOWED == EXPECTED
    assert set(TRANSITIONS.values()) == set(COMMANDS)


@pytest.mark.parametrize(
    ("status", "name"),
    [(s, c) for s in STATUSES for c in COMMANDS if c in EXPECTED[s]],
)
def test_an_allowed_command_succeeds(status, name):
    case, dispute_id = in_status(status)
    events = case.decide(command(name, dispute_id))
    assert [type(e) for e in events] == EMITS[name]
    assert all(e.dispute_id == dispute_id for e in events)


@pytest.mark.parametrize(
    ("status", "name"),
    [(s, c) for s in STATUSES for c in COMMANDS if c not in EXPECTED[s]],
)
def test_an_illegal_command_is_a_conflict_naming_the_allowed_ones(status, name):
    case, dispute_id = in_status(status)
    before = len(case.history.envelopes)
    with pytest.raises(Conflict) as raised:
        case.decide(command(name, dispute_id))
    assert raised.value.status == 409
    assert raised.value.extra == {"dispute_status": status, "allowed": list(EXPECTED[status])}
    assert name in str(raised.value) and ", ".join(EXPECTED[status]) in str(raised.value)
    assert len(case.history.envelopes) == before


def test_an_open_dispute_is_assigned_then_mediated_then_resolved():
    case, dispute_id = in_status("open")
    case.decide(Assign(dispute_id, "agent-1"))
    assert case.dispute(dispute_id).status == "under_review"
    case.decide(Mediate(dispute_id, "mediator-1"))
    mediated = case.dispute(dispute_id)
    assert (mediated.status, mediated.mediator, mediated.mediated) == (
        "mediation",
        "mediator-1",
        True,
    )
    assert not mediated.escalated_automatically
    case.decide(resolve(dispute_id, "upheld"), NOW + timedelta(days=3))
    done = case.dispute(dispute_id)
    assert (done.status, done.outcome, done.closed_at) == (
        "resolved",
        "upheld",
        NOW + timedelta(days=3),
    )
    assert case.file.active is None


def test_a_dispute_another_tenant_or_nobody_opened_is_not_found():
    case, _ = in_status("open")
    with pytest.raises(NotFound):
        case.decide(Assign(uuid.uuid4(), "agent-1"))


def test_the_mediator_must_not_be_the_assignee():
    case, dispute_id = in_status("under_review")
    with pytest.raises(Invalid) as raised:
        case.decide(Mediate(dispute_id, "agent-1"))
    assert [(e.field, e.reason) for e in raised.value.errors] == [
        ("mediator", "must not be the dispute's assignee")
    ]


def test_the_assignee_must_not_be_the_mediator():
    case, dispute_id = in_status("mediation")
    with pytest.raises(Invalid) as raised:
        case.decide(Assign(dispute_id, "mediator-1"))
    assert [e.field for e in raised.value.errors] == ["assignee"]
    # another person takes the review over
    [reassigned] = case.decide(Assign(dispute_id, "agent-2"))
    assert reassigned.assignee == "agent-2"
    assert case.dispute(dispute_id).status == "mediation"


@pytest.mark.parametrize(
    ("status", "again"),
    [
        ("under_review", lambda d: Assign(d, "agent-1")),
        ("mediation", lambda d: Assign(d, "agent-1")),
        ("mediation", lambda d: Mediate(d, "mediator-1")),
        ("open", lambda d: Reclassify(d, "quality_or_service")),
        ("under_review", lambda d: Reclassify(d, "quality_or_service")),
    ],
)
def test_a_command_to_the_value_already_held_is_repeated(status, again):
    case, dispute_id = in_status(status)
    before = len(case.history.envelopes)
    assert case.decide(again(dispute_id)) is REPEATED
    assert len(case.history.envelopes) == before


def test_a_new_mediator_replaces_the_mediator():
    case, dispute_id = in_status("mediation")
    [escalated] = case.decide(Mediate(dispute_id, "mediator-2"))
    assert escalated.mediator == "mediator-2" and not escalated.automatic
    assert case.dispute(dispute_id).mediator == "mediator-2"


def test_comments_count_on_a_closed_dispute_too():
    case, dispute_id = in_status("resolved")
    case.decide(Comment(dispute_id, SEALED))
    case.decide(Comment(dispute_id, SEALED))
    assert case.dispute(dispute_id).comments == 2


# --- automatic escalation ---------------------------------------------------------------------


def breach(case, dispute_id, which: str):
    """The timer's DisputeSlaBreached, appended at the deadline; returns its envelope."""
    dispute = case.dispute(dispute_id)
    due_at = dispute.resolve_by if which == "resolve" else dispute.acknowledge_by
    event = DisputeSlaBreached(
        claim_id=case.claim_id, dispute_id=dispute_id, which=which, due_at=due_at
    )
    case.add(event, due_at)
    return case.history.envelopes[-1]


@pytest.mark.parametrize("status", ["open", "under_review"])
def test_a_resolve_breach_escalates_an_active_dispute_to_mediation(status):
    case, dispute_id = in_status(status)
    trigger = breach(case, dispute_id, "resolve")
    [escalated] = escalate_on_breach(POLICY)(case.file, trigger)
    assert isinstance(escalated, DisputeEscalatedToMediation)
    assert (escalated.dispute_id, escalated.automatic, escalated.mediator) == (
        dispute_id,
        True,
        None,
    )
    assert escalated.escalated_at == trigger.time
    case.add(escalated, trigger.time)
    dispute = case.dispute(dispute_id)
    assert (dispute.status, dispute.escalated_automatically, dispute.breaches) == (
        "mediation",
        True,
        ("resolve",),
    )
    assert escalate_on_breach(POLICY)(case.file, trigger) == []  # in mediation now


def test_an_acknowledge_breach_does_not_escalate():
    case, dispute_id = in_status("open")
    trigger = breach(case, dispute_id, "acknowledge")
    assert escalate_on_breach(POLICY)(case.file, trigger) == []
    assert case.dispute(dispute_id).breaches == ("acknowledge",)


def test_a_resolve_breach_does_not_escalate_a_dispute_already_in_mediation():
    case, dispute_id = in_status("mediation")
    assert escalate_on_breach(POLICY)(case.file, breach(case, dispute_id, "resolve")) == []


@pytest.mark.parametrize("status", ["resolved", "withdrawn", "hardship"])
def test_a_resolve_breach_does_not_escalate_a_closed_dispute(status):
    case, dispute_id = in_status(status)
    assert escalate_on_breach(POLICY)(case.file, breach(case, dispute_id, "resolve")) == []


def test_a_resolve_breach_does_not_escalate_when_the_policy_says_no():
    case, dispute_id = in_status("under_review")
    trigger = breach(case, dispute_id, "resolve")
    keep = replace(POLICY, escalate_on_resolve_breach=False)
    assert escalate_on_breach(keep)(case.file, trigger) == []


def test_a_breach_of_an_unknown_claim_escalates_nothing():
    case, dispute_id = in_status("open")
    trigger = breach(case, dispute_id, "resolve")
    assert escalate_on_breach(POLICY)(None, trigger) == []
    other = claim()
    assert escalate_on_breach(POLICY)(other.file, trigger) == []
