"""Givens for the communications tests: a debtor account's history played through dunning
(``tests.dunning_givens.play``), then the whole log (the history and what dunning appended, in
time order) played through the communications service's pure parts as the running service
would (evolve, the reactions, the governor timers firing at their time). A unit test reads what
communications would append; the sender's part (Sent, Delivered) is not played."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from amiable_communications.domain.evolve import evolve
from amiable_communications.domain.firing import timers
from amiable_communications.domain.governor import RuleBook
from amiable_communications.domain.react import SERVICE, TABLE
from amiable_communications.domain.state import Account
from amiable_events.claims import Contact
from amiable_events.envelope import Envelope
from amiable_events.reactions import caused_envelopes
from amiable_events.timers import timer_event_id
from tests.dunning_givens import play as play_dunning
from tests.risk_givens import History

RULES = RuleBook.shipped()
SEALED = "pii:v1:test"
#: A debtor reachable on every channel (the values are opaque sealed text here).
REACHABLE = {
    "contacts": (Contact(name=SEALED, email=SEALED, phone=SEALED),),
    "postal_address": SEALED,
}


@dataclass
class Played:
    account: Account | None = None
    log: list[Envelope] = field(default_factory=list)
    appended: list[Envelope] = field(default_factory=list)

    def events(self, *types) -> list:
        return [e.data for e in self.appended if not types or isinstance(e.data, types)]

    def log_events(self, *types) -> list:
        return [e.data for e in self.log if not types or isinstance(e.data, types)]


def reachable(tenant: str = "acme", **kwargs) -> History:
    return History(tenant, **{**REACHABLE, **kwargs})


def play(
    history: History, until: datetime, rules: RuleBook = RULES, extra: list[Envelope] = ()
) -> Played:
    """Dunning on the history, then communications on the whole log, up to ``until``;
    ``extra``: more envelopes (e.g. a ContactPreferencesSet) merged in by time."""
    dunning = play_dunning(history, until)
    log = sorted(
        [*history.envelopes, *extra, *dunning.appended], key=lambda e: e.time
    )  # a stable sort: what a trigger caused comes after it
    played = Played()
    for envelope in log:
        _fire_until(played, envelope.time, rules)
        _apply(played, envelope, rules)
    _fire_until(played, until, rules)
    return played


def _apply(played: Played, envelope: Envelope, rules: RuleBook) -> None:
    played.log.append(envelope)
    played.account = evolve(played.account, envelope)
    react = TABLE.get(type(envelope.data))
    if react is None or played.account is None:
        return
    for caused in caused_envelopes(
        envelope, react(played.account, envelope), SERVICE, envelope.time
    ):
        played.appended.append(caused)
        _apply(played, caused, rules)


def _fire_until(played: Played, moment: datetime, rules: RuleBook) -> None:
    while played.account is not None:
        due = sorted(
            (t for t in timers(played.account, rules) if t.due_at <= moment),
            key=lambda t: (t.due_at, t.timer_id),
        )
        if not due:
            return
        timer = due[0]
        envelope = Envelope(
            id=timer_event_id(SERVICE, timer.timer_id),
            subject=timer.claim_id,
            time=timer.due_at,
            tenant=played.account.tenant,
            debtor_id=played.account.debtor_id,
            correlation_id=UUID(timer.claim_id),
            data=timer.event,
        )
        played.appended.append(envelope)
        _apply(played, envelope, rules)
