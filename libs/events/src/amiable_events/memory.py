"""In-memory versions of the log, the projection runner, the read model and the idempotency
ledger, for behaviour tests that run in milliseconds.

They keep the contracts that matter to a service's behaviour: per-account partitions with
offsets in append order, event ids applied once, a command's events applied all or none, and
reactions appended with ids derived from their trigger. They are not a broker: nothing is
concurrent, and "applied" means "applied before ``append`` returns". The same behaviour suite
runs against them and against the real Kafka and PostgreSQL (see docs/architecture.md).
"""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from amiable_events.commands import Loaded, Scope
from amiable_events.envelope import Envelope
from amiable_events.reactions import Reactions, caused_envelopes
from amiable_events.topics import partition_for

S = TypeVar("S")


@dataclass(frozen=True)
class Appended:
    event_id: str
    partition: int
    offset: int


class InMemoryStates(Generic[S]):
    """A read model of one state per subject, folded with the service's pure ``evolve``.

    ``follows(envelope)`` says which events change the service's state (e.g. only the events
    its own service emitted); the others are only remembered as applied.
    """

    def __init__(
        self,
        evolve: Callable[[S | None, Envelope], S | None],
        *,
        follows: Callable[[Envelope], bool] = lambda envelope: True,
        state_key: Callable[[Envelope], str] = lambda envelope: envelope.subject,
        by_account: bool = False,
        holds: Callable[[S, str], bool] | None = None,
    ) -> None:
        """``by_account``: one state per debtor account (``state_key`` is the envelope's key),
        loaded by debtor id; a debtor with no state yet loads as ``Loaded(None, debtor_id)``,
        as a service whose commands may come before any event of the account answers it.
        ``holds``: one state per debtor account, loaded by a subject it holds (dunning keeps an
        account's claims together, and its commands name a claim)."""
        self.evolve = evolve
        self.follows = follows
        self.by_account = by_account or holds is not None
        self.holds = holds
        self.state_key = (lambda envelope: envelope.key) if self.by_account else state_key
        self.states: dict[str, tuple[str, str, S]] = {}
        self.applied_ids: set[uuid.UUID] = set()

    def apply(self, envelope: Envelope) -> None:
        self.applied_ids.add(envelope.id)
        if not self.follows(envelope):
            return
        key = self.state_key(envelope)
        current = self.states.get(key)
        if current is not None and current[0] != envelope.tenant:
            return  # a state belongs to its tenant: another tenant's event never changes it
        state = self.evolve(current[2] if current else None, envelope)
        if state is not None:
            self.states[key] = (envelope.tenant, envelope.debtor_id, state)

    def state(self, key: str) -> S | None:
        found = self.states.get(key)
        return found[2] if found else None

    async def load(self, tenant: str, subject: uuid.UUID | str) -> Loaded[S] | None:
        if self.holds is not None:
            return next(
                (
                    Loaded(state, debtor_id)
                    for owner, debtor_id, state in self.states.values()
                    if owner == tenant and self.holds(state, str(subject))
                ),
                None,
            )
        if self.by_account:
            found = self.states.get(f"{tenant}:{subject}")
            return Loaded(found[2] if found else None, str(subject))
        found = self.states.get(str(subject))
        if found is None or found[0] != tenant:
            return None
        return Loaded(found[2], found[1])

    async def applied(self, event_id: uuid.UUID) -> bool:
        return event_id in self.applied_ids


class InMemoryLog:
    """The claim log as lists of records per partition; every append is applied at once by the
    runners subscribed to it, reactions included, in log order."""

    def __init__(self, partitions: int = 12) -> None:
        self.partitions = partitions
        self.records: dict[int, list[Envelope]] = defaultdict(list)
        self.runners: list[InMemoryRunner] = []
        self._delivering = False
        self._queue: deque[Envelope] = deque()
        self._sequence: dict[tuple[int, int], int] = {}  # (partition, offset) -> append order

    @property
    def envelopes(self) -> list[Envelope]:
        """Every record in append order (duplicates included, as in Kafka)."""
        return sorted(
            (e for records in self.records.values() for e in records),
            key=lambda e: self._sequence[e.partition, e.offset],
        )

    async def append(self, envelopes: Sequence[Envelope], *, atomic: bool = True) -> list[Appended]:
        appended = []
        for envelope in envelopes:
            partition = partition_for(envelope.key.encode(), self.partitions)
            offset = len(self.records[partition])
            placed = envelope.at(partition, offset)
            self.records[partition].append(placed)
            self._sequence[partition, offset] = len(self._sequence)
            self._queue.append(placed)
            appended.append(Appended(str(envelope.id), partition, offset))
        await self._deliver()
        return appended

    async def _deliver(self) -> None:
        if self._delivering:  # a reaction appending: delivered by the loop below, in order
            return
        self._delivering = True
        try:
            while self._queue:
                envelope = self._queue.popleft()
                for runner in self.runners:
                    await runner.apply(envelope)
        finally:
            self._delivering = False


class InMemoryRunner:
    """Applies the log to a read model, drops ids already applied, and, with ``reactions``,
    appends what they return, like the projection runner does in one transaction."""

    def __init__(
        self,
        log: InMemoryLog,
        read_model: InMemoryStates,
        *,
        reactions: Reactions | None = None,
    ) -> None:
        self.log = log
        self.read_model = read_model
        self.reactions = reactions
        self.positions: dict[int, int] = {}
        log.runners.append(self)

    async def apply(self, envelope: Envelope) -> None:
        self.positions[envelope.partition] = envelope.offset + 1
        if envelope.id in self.read_model.applied_ids:
            return
        self.read_model.apply(envelope)
        if self.reactions is None or type(envelope.data) not in self.reactions.table:
            return
        state = self.read_model.state(self.reactions.state_key(envelope))
        events = self.reactions.table[type(envelope.data)](state, envelope)
        caused = caused_envelopes(
            envelope, events, self.reactions.service, self.reactions.time(envelope)
        )
        if caused:
            await self.log.append(caused)

    async def wait_caught_up(self, key: str, timeout: float) -> bool:
        return True

    async def wait_until_applied(self, partition: int, offset: int, timeout: float) -> bool:
        return self.positions.get(partition, 0) > offset

    async def raise_if_parked(self, account: str) -> None:
        """Nothing parks in memory: an apply failure raises."""


class InMemoryLedger:
    def __init__(self) -> None:
        self.keys: dict[tuple[Scope, str], str] = {}

    async def get(self, scope: Scope, key: str) -> str | None:
        return self.keys.get((scope, key))

    async def put(self, scope: Scope, key: str, fingerprint: str) -> None:
        self.keys.setdefault((scope, key), fingerprint)
