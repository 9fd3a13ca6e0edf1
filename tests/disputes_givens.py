"""Givens for the disputes service's tests: a claim of the log (``tests.risk_givens.History``)
and its disputes, decided by the service's own deciders and folded by its own ``evolve``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from amiable_disputes.domain.commands import (
    Assign,
    Mediate,
    OpenDispute,
    Reclassify,
    Resolve,
    Withdraw,
)
from amiable_disputes.domain.decide import DECIDERS
from amiable_disputes.domain.evolve import evolve
from amiable_disputes.domain.state import ClaimFile
from amiable_disputes.main import policy
from amiable_disputes.settings import DisputesSettings
from amiable_events.commands import Context
from amiable_events.ids import keyed_id
from tests.risk_givens import History

POLICY = policy(DisputesSettings(env="dev"))
#: The disputes tests' "now": a Tuesday, no holiday in France (every date below derives from it)
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
SEALED = "pii:v1:sealed"


@dataclass
class Case:
    """One claim of ``history`` and the commands decided on it: each decider's events are
    appended to the history, so :attr:`file` is the state the service would load next."""

    history: History
    claim_id: uuid.UUID
    decided: list = field(default_factory=list)

    @property
    def tenant(self) -> str:
        return self.history.tenant

    @property
    def file(self) -> ClaimFile:
        state = None
        for envelope in self.history.envelopes:
            state = evolve(state, envelope)
        return state

    def decide(self, command, now: datetime = NOW, policy=POLICY) -> list:
        """The decider's answer on the current file (raises its error); appended when events."""
        context = Context(tenant=self.tenant, now=now, policy=policy)
        events = DECIDERS[type(command)](self.file, command, context)
        for event in events:
            self.history.add(event, now)
        return events

    def add(self, event, when: datetime = NOW) -> None:
        self.history.add(event, when)

    def open(self, reason: str = "quality_or_service", amount: str | None = None, **changes):
        """A dispute opened at ``now`` (default NOW); returns its id."""
        now = changes.pop("now", NOW)
        dispute_id = keyed_id("disputes-test", str(self.claim_id), str(len(self.decided)))
        self.decided.append(dispute_id)
        command = OpenDispute(
            claim_id=self.claim_id,
            dispute_id=dispute_id,
            reason=reason,
            raised_by="debtor_contact",
            disputed_amount=None if amount is None else Decimal(amount),
            **changes,
        )
        self.decide(command, now)
        return dispute_id

    def dispute(self, dispute_id: uuid.UUID):
        return self.file.dispute(str(dispute_id))


def claim(
    tenant: str = "acme",
    *,
    amount: str = "1000.00",
    days_late: int = 30,
    country: str = "FR",
    timezone: str = "Europe/Paris",
    today: date = TODAY,
) -> Case:
    """A qualified claim of ``amount`` EUR, ``days_late`` days past its due date on ``today``
    (terms of 30 days)."""
    history = History(tenant, "D-1", country=country, timezone=timezone)
    issued_on = today - timedelta(days=30 + days_late)
    claim_id = history.claim(issued_on, amount=amount, registered_on=issued_on)
    return Case(history, claim_id)


def resolve(dispute_id: uuid.UUID, outcome: str = "rejected", **changes) -> Resolve:
    return Resolve(dispute_id, outcome, SEALED, **changes)


#: How to bring a fresh dispute to each status, by the commands that lead there
STATUSES = ("open", "under_review", "mediation", "resolved", "withdrawn", "hardship")


def in_status(status: str, case: Case | None = None) -> tuple[Case, uuid.UUID]:
    """A claim with one dispute (reason quality_or_service, assignee ``agent-1`` and mediator
    ``mediator-1`` when it went that far) in ``status``."""
    case = case or claim()
    dispute_id = case.open()
    steps = {
        "open": [],
        "under_review": [Assign(dispute_id, "agent-1")],
        "mediation": [Assign(dispute_id, "agent-1"), Mediate(dispute_id, "mediator-1")],
        "resolved": [Assign(dispute_id, "agent-1"), resolve(dispute_id)],
        "withdrawn": [Withdraw(dispute_id)],
        "hardship": [Reclassify(dispute_id, "cash_flow_difficulty")],
    }[status]
    for command in steps:
        case.decide(command)
    assert case.dispute(dispute_id).status == status
    return case, dispute_id
