"""Reactions: a service appends events in reaction to events of the log.

A reaction is a pure function ``(state, envelope) -> events`` registered for one event type; the
state is the service's own (a claim, a dunning plan, a debtor's risk features), read from its
projection in the batch's transaction *before* the batch, then evolved event by event, so the
state a reaction sees does not depend on where a batch happens to start or end.

The projection runner calls :meth:`Reactor.react` inside the batch's transaction and appends what
it returns before it commits the rows and positions. Hence:

- **Exactly-once effects.** A reaction's event id is derived from its trigger
  (:func:`amiable_events.ids.caused_id`): a crash after the append and before the commit
  re-applies the batch and re-appends the same ids, which every projection drops.
- **Causation and trace.** The derived event is caused by its trigger, in the trigger's
  correlation; its ``traceparent``/``tracestate`` are the trigger's as the runner hands it over:
  the trigger's processing span, the derived event's parent (docs/observability.md).
- **Never during a rebuild.** ``rebuild`` builds its store without a reactor, and a live store
  does not react to events below its ``reaction_horizon`` (the positions a rebuild or a
  migration replayed through: their reactions happened when they were first applied).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from amiable_events.base import Event
from amiable_events.envelope import Envelope, service_actor
from amiable_events.ids import caused_id, caused_steps

#: Pure: what to append when ``envelope`` arrives, given the service's state right after it.
React = Callable[[Any, Envelope], Sequence[Event]]
#: Reads from the projection, before the batch, the states of the keys of a batch's reacting
#: events (given by key, in log order, so a loader can read only what they need); missing ones:
#: absent.
LoadStates = Callable[[AsyncConnection, Mapping[str, list[Envelope]]], Awaitable[Mapping[str, Any]]]
#: Pure: the state after one more event (``None``: the service has no state for that key yet).
EvolveState = Callable[[Any, Envelope], Any]


def by_subject(envelope: Envelope) -> str:
    return envelope.subject


def by_account(envelope: Envelope) -> str:
    return envelope.key


@dataclass(frozen=True)
class Reactions:
    """A service's reactions: one pure function per event type, over its own state.

    ``state_key`` says whose state an event changes (the claim by default: its subject; a debtor
    account for risk). ``time`` stamps the derived events; by default the trigger's time, so a
    re-appended reaction is the same record.
    """

    service: str
    table: Mapping[type[Event], React]
    load: LoadStates
    evolve: EvolveState
    state_key: Callable[[Envelope], str] = by_subject
    time: Callable[[Envelope], datetime] = field(default=lambda trigger: trigger.time)

    def reacts_to(self, envelope: Envelope) -> bool:
        return type(envelope.data) in self.table


class Reactor:
    """Runs :class:`Reactions` over one batch: load the states it needs, evolve, react."""

    def __init__(self, reactions: Reactions) -> None:
        self.reactions = reactions
        self.service = reactions.service

    async def prepare(
        self,
        conn: AsyncConnection,
        envelopes: Sequence[Envelope],
        horizon: Mapping[int, int],
    ) -> Batch:
        """Before the batch is applied: the states of every key that a reacting event past the
        ``horizon`` (partition -> first offset to react to) touches."""
        triggers: dict[str, list[Envelope]] = {}
        for envelope in envelopes:
            if self.reactions.reacts_to(envelope):
                triggers.setdefault(self.reactions.state_key(envelope), []).append(envelope)
        states = dict(await self.reactions.load(conn, triggers)) if triggers else {}
        return Batch(self.reactions, set(triggers), states, dict(horizon))


@dataclass
class Batch:
    reactions: Reactions
    keys: set[str]
    states: dict[str, Any]
    horizon: dict[int, int]

    def react(self, envelope: Envelope) -> list[Envelope]:
        """The envelopes ``envelope`` causes (call it in log order, once per applied event).

        Raises what the service's evolve or reaction raises; the state moves on only when both
        succeeded, so a failing event parks its account without corrupting the state."""
        reactions = self.reactions
        key = reactions.state_key(envelope)
        if key not in self.keys:
            return []
        state = reactions.evolve(self.states.get(key), envelope)
        react = reactions.table.get(type(envelope.data))
        events: list[Event] = []
        if react is not None and envelope.offset >= self.horizon.get(envelope.partition, 0):
            events = list(react(state, envelope))
        self.states[key] = state
        return caused_envelopes(envelope, events, reactions.service, reactions.time(envelope))


def caused_envelopes(
    trigger: Envelope, events: Sequence[Event], service: str, time: datetime
) -> list[Envelope]:
    """Envelopes for ``events`` caused by ``trigger``, with ids derived from it: the n-th event of
    one type gets step ``type`` (n = 1) or ``type#n``."""
    envelopes = []
    for event, step in zip(events, caused_steps(events), strict=True):
        envelopes.append(
            trigger.caused(
                event,
                id=caused_id(trigger.id, service, step),
                time=time,
                subject=event.subject,
                actor=service_actor(service),
            )
        )
    return envelopes
