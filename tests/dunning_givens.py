"""Givens for the dunning tests: a debtor account's history (``tests.risk_givens.History``) played
through the service's pure parts as the running service would (evolve, the reactions, the timers
firing at their time), so a unit test reads the events dunning would append."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from uuid import UUID

from amiable_dunning.domain.firing import timers
from amiable_dunning.domain.policy import Policy
from amiable_dunning.domain.react import TABLE, Desk, PolicyBook, evolve_desk
from amiable_dunning.settings import DunningSettings
from amiable_events.envelope import Envelope
from amiable_events.ledger import Figures
from amiable_events.reactions import caused_envelopes
from amiable_events.timers import timer_event_id
from tests.risk_givens import History

POLICY = Policy.load()
FIGURES = Figures.from_settings(DunningSettings(env="dev"))


@dataclass
class Played:
    """What dunning appended for the history, in order, and the account's state after it."""

    desk: Desk
    appended: list[Envelope] = field(default_factory=list)

    @property
    def account(self):
        return self.desk.account

    def claim(self, claim_id):
        return self.account.claim(claim_id)

    def events(self, *types) -> list:
        return [e.data for e in self.appended if not types or isinstance(e.data, types)]


def play(
    history: History, until: datetime, policy: Policy = POLICY, *, one_batch: bool = False
) -> Played:
    """The history's events in order, each with what it causes, and between them (and up to
    ``until``) every timer that falls due, fired at its time as the timer loop would.

    ``one_batch``: the service reads the whole history in one batch, as after a restart on a
    backlog: each trigger's reaction sees the state of the triggers before it, not what the
    reactions before it appended, which come back from the log after the batch."""
    played = Played(Desk(None, PolicyBook(policy), FIGURES))
    if one_batch:
        caused = []
        for envelope in history.envelopes:
            played.desk = evolve_desk(played.desk, envelope)
            react = TABLE.get(type(envelope.data))
            if react is not None:
                caused += caused_envelopes(
                    envelope, react(played.desk, envelope), "dunning", envelope.time
                )
        for envelope in caused:
            played.appended.append(envelope)
            _apply(played, envelope)
    else:
        for envelope in history.envelopes:
            _fire_until(played, envelope.time)
            _apply(played, envelope)
    _fire_until(played, until)
    return played


def _apply(played: Played, envelope: Envelope) -> None:
    played.desk = evolve_desk(played.desk, envelope)
    react = TABLE.get(type(envelope.data))
    if react is None:
        return
    for caused in caused_envelopes(
        envelope, react(played.desk, envelope), "dunning", envelope.time
    ):
        played.appended.append(caused)
        _apply(played, caused)


def _fire_until(played: Played, moment: datetime) -> None:
    while played.account is not None:
        due = sorted(
            (t for t in timers(played.account, FIGURES) if t.due_at <= moment),
            key=lambda t: (t.due_at, t.timer_id),
        )
        if not due:
            return
        timer = due[0]
        claim = played.account.claim(timer.claim_id)
        envelope = Envelope(
            id=timer_event_id("dunning", timer.timer_id),
            subject=timer.claim_id,
            time=timer.due_at,
            tenant=played.account.tenant,
            debtor_id=played.account.debtor_id,
            correlation_id=UUID(timer.claim_id),
            data=timer.event,
        )
        assert claim is not None
        played.appended.append(envelope)
        _apply(played, envelope)


def behaviour_reactions():
    """The service's reactions for the behaviour suite: on the real backend they load the
    account and its tenant's policies (a Desk); the in-memory one keeps the account alone, so
    each reaction is given the default policy's Desk around it."""
    from amiable_dunning.app.reactions import reactions

    real = reactions(POLICY, FIGURES)

    def around(react):
        def adapted(state, envelope):
            desk = state if isinstance(state, Desk) else Desk(state, PolicyBook(POLICY), FIGURES)
            return react(desk, envelope)

        return adapted

    return replace(real, table={kind: around(react) for kind, react in real.table.items()})
