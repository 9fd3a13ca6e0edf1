"""The command path every service shares: lock -> catch up -> load -> decide -> append -> wait.

A route builds a command (a plain frozen dataclass) and calls :meth:`CommandBus.execute`; the bus
finds the command's decider in the service's table, one signature for all:
``decide(state, command, context) -> events``. What it guarantees:

- **Read your writes.** Before deciding, the account's partition is applied up to its end (a
  bounded wait, then :class:`Unavailable`); after appending, the bus waits until the events are
  in the read model, so the answer shows them.
- **One writer per account in a process.** A lock per debtor account serialises a command's
  read of the state with its append; across replicas, ``evolve`` is total, so a concurrent
  append never corrupts a state. A service whose rules span the account's history (one open
  dispute per claim) also takes a lock shared by the replicas (``across_replicas``).
- **All or none.** A command's events share the account key and go out as one record batch.
- **Idempotency-Key.** A key is scoped to the tenant, the subject and the command type
  (:class:`Scope`): the first event's id derives from them and the key, and the key's request
  fingerprint is kept. A retry changes nothing and is reported as a replay (the route answers the
  current state, marked); the same key on another request in the same scope is a 422.
- **Natural keys.** Without a key, a decider recognises a retry by what the state already holds
  (a payment's id derived from its content, a credit-note number, the plan already agreed) and
  returns :data:`REPEATED`: nothing is appended and the request is reported as a replay.

Errors are application errors (:mod:`amiable_events.errors`); HTTP lives elsewhere.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from amiable_events.base import Event
from amiable_events.clock import Clock
from amiable_events.envelope import REQUEST_ACTOR, Envelope, account_key
from amiable_events.errors import Invalid, NotFound, Parked, Unavailable
from amiable_events.ids import NewId, caused_id, caused_steps, keyed_id

S = TypeVar("S")


@dataclass(frozen=True)
class Context:
    """What a decider may know besides the state and the command: who asks, when, new ids,
    and the service's rules as data (its policy)."""

    tenant: str
    now: datetime
    new_id: NewId = uuid.uuid4
    policy: Any = None


#: Pure: the events a command entails on a state (raises an application error to refuse).
Decider = Callable[[Any, Any, Context], Sequence[Event]]


@dataclass(frozen=True)
class Loaded(Generic[S]):
    """A subject's state and the debtor account it lives in."""

    state: S
    debtor_id: str


@dataclass(frozen=True)
class Idempotency:
    """A client's Idempotency-Key and a fingerprint of the request it came with."""

    key: str
    fingerprint: str


class Scope(NamedTuple):
    """What an Idempotency-Key is unique within: a tenant's command type on one subject."""

    tenant: str
    subject: str
    command: str


class Repeated(tuple):
    """A decider's answer to a command the state shows carried out already: no events, and the
    request is answered as a replay rather than as a no-op or a conflict."""


#: What a decider returns for a retried command (see :class:`Repeated`).
REPEATED = Repeated()


class Executed(list[Envelope]):
    """The envelopes a command appended, once applied (none for a no-op or a replay);
    ``replayed``: the request is a retry of one already carried out."""

    def __init__(self, envelopes: Sequence[Envelope] = (), *, replayed: bool = False) -> None:
        super().__init__(envelopes)
        self.replayed = replayed


class Appended(Protocol):
    partition: int
    offset: int


class Log(Protocol):
    async def append(self, envelopes: Sequence[Envelope]) -> Sequence[Appended]: ...


class Runner(Protocol):
    async def wait_caught_up(self, key: str, timeout: float) -> bool: ...

    async def wait_until_applied(self, partition: int, offset: int, timeout: float) -> bool:
        """True once applied; raises :class:`~amiable_events.errors.Parked` when the record
        was parked instead."""
        ...

    async def raise_if_parked(self, account: str) -> None:
        """:class:`~amiable_events.errors.Parked` when ``account`` is parked."""
        ...


#: What a command is about: a claim (its id) or a debtor account (its debtor id).
Subject = uuid.UUID | str


class ReadModel(Protocol[S]):
    async def load(self, tenant: str, subject: Subject) -> Loaded[S] | None: ...

    async def applied(self, event_id: uuid.UUID) -> bool: ...


class Ledger(Protocol):
    """Idempotency keys seen, with the fingerprint of their first request."""

    async def get(self, scope: Scope, key: str) -> str | None: ...

    async def put(self, scope: Scope, key: str, fingerprint: str) -> None: ...


class CommandBus(Generic[S]):
    def __init__(
        self,
        *,
        service: str,
        deciders: Mapping[type, Decider],
        read_model: ReadModel[S],
        log: Log,
        runner: Runner,
        ledger: Ledger,
        clock: Clock,
        timeout: float,
        policy: Any = None,
        new_id: NewId = uuid.uuid4,
        across_replicas: Callable[[str], AbstractAsyncContextManager] | None = None,
    ) -> None:
        self.service = service
        #: A lock per account shared with the other replicas (``db.AccountLocks.hold``), for a
        #: service whose deciders enforce a rule over the account's history
        self.across_replicas = across_replicas
        self.policy = policy
        self.deciders = deciders
        self.read_model = read_model
        self.log = log
        self.runner = runner
        self.ledger = ledger
        self.clock = clock
        self.timeout = timeout
        self.new_id = new_id
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def lock(self, key: str) -> asyncio.Lock:
        """The in-process lock of ``key`` (a debtor account, or a tenant for registrations)."""
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def context(self, tenant: str) -> Context:
        return Context(tenant=tenant, now=self.clock.now(), new_id=self.new_id, policy=self.policy)

    async def catch_up(self, account: str) -> None:
        """The account's partition applied up to its end, and the account not parked (a parked
        account's state is not current: nothing is decided on it)."""
        if not await self.runner.wait_caught_up(account, self.timeout):
            raise Unavailable(
                f"the {self.service} read model is catching up with the log",
                title="Read model lagging",
            )
        await self.runner.raise_if_parked(account)

    async def catch_up_accounts(self, accounts: set[str]) -> None:
        """Every account's partition applied up to its end, for a command over many accounts
        (an import): the runner asks the log's ends for them all in one broker request."""
        waits = [self.runner.wait_caught_up(account, self.timeout) for account in accounts]
        if not all(await asyncio.gather(*waits)):
            raise Unavailable(
                f"the {self.service} read model is catching up with the log",
                title="Read model lagging",
            )

    async def load(self, tenant: str, subject: Subject) -> Loaded[S]:
        """The tenant's subject, or :class:`NotFound` (also for another tenant's)."""
        loaded = await self.read_model.load(tenant, subject)
        if loaded is None:
            raise NotFound(f"no {self.service} subject {subject} for this tenant")
        return loaded

    async def execute(
        self,
        tenant: str,
        subject: Subject,
        command: Any,
        *,
        correlation_id: uuid.UUID | None = None,
        idempotency: Idempotency | None = None,
    ) -> Executed:
        """Run ``command`` on ``subject``; returns the envelopes appended (none for a no-op or
        an idempotent retry, marked ``replayed``), once the read model shows them."""
        decide = self.deciders.get(type(command))
        if decide is None:
            raise TypeError(f"{self.service}: no decider for {type(command).__name__}")
        loaded = await self.load(tenant, subject)
        account = account_key(tenant, loaded.debtor_id)
        held = self.across_replicas(account) if self.across_replicas else nullcontext()
        async with self.lock(account), held:
            try:
                await self.catch_up(account)
            except Parked as parked:
                if isinstance(subject, uuid.UUID):
                    parked.extra.setdefault("claim_id", str(subject))
                raise
            first_id = scope = None
            if idempotency is not None:
                scope = Scope(tenant, str(subject), type(command).__name__)
                first_id = keyed_id(*scope, idempotency.key, self.service, "command")
                if await self.seen(scope, idempotency, first_id):
                    return Executed(replayed=True)
            loaded = await self.load(tenant, subject)
            context = self.context(tenant)
            decided = decide(loaded.state, command, context)
            if isinstance(decided, Repeated):
                return Executed(replayed=True)
            events = list(decided)
            if not events:
                return Executed()
            first_id = first_id or self.new_id()
            envelopes = self.envelopes(
                events,
                tenant=tenant,
                debtor_id=loaded.debtor_id,
                now=context.now,
                first_id=first_id,
                correlation_id=correlation_id or first_id,
            )
            await self.append(envelopes)
            if scope is not None:
                await self.ledger.put(scope, idempotency.key, idempotency.fingerprint)
            return Executed(envelopes)

    async def seen(self, scope: Scope, idempotency: Idempotency, first_id: uuid.UUID) -> bool:
        """True for a retry of a request already carried out; 422 for the key on another one."""
        fingerprint = await self.ledger.get(scope, idempotency.key)
        if fingerprint is not None and fingerprint != idempotency.fingerprint:
            raise Invalid.field("Idempotency-Key", "this key was used for another request")
        # Also a retry: its events were appended but the process died before keeping the key.
        return fingerprint is not None or await self.read_model.applied(first_id)

    def envelopes(
        self,
        events: Sequence[Event],
        *,
        tenant: str,
        debtor_id: str,
        now: datetime,
        first_id: uuid.UUID,
        correlation_id: uuid.UUID,
        actor: str | None = None,
    ) -> list[Envelope]:
        """The first event gets ``first_id``; the ones it entails are caused by it. ``actor``
        (``ce_actor``) defaults to the authenticated caller of the current request."""
        actor = actor or REQUEST_ACTOR.get()
        # The first event has ``first_id``; the ones it entails are caused by it.
        steps = [None, *caused_steps(events[1:])]
        return [
            Envelope(
                id=first_id if index == 0 else caused_id(first_id, self.service, steps[index]),
                subject=event.subject,
                time=now,
                tenant=tenant,
                debtor_id=debtor_id,
                correlation_id=correlation_id,
                causation_id=None if index == 0 else first_id,
                data=event,
                actor=actor,
            )
            for index, event in enumerate(events)
        ]

    async def append(self, envelopes: Sequence[Envelope], *, wait: bool = True) -> None:
        """Durably in the log (acks=all), then, with ``wait``, readable (bounded wait)."""
        appended = await self.log.append(envelopes)
        if wait:
            await self.wait_applied(appended)

    async def wait_applied(
        self, appended: Sequence[Appended], *, timeout: float | None = None
    ) -> None:
        """Until every appended record is in the read model, or :class:`Unavailable`."""
        last: dict[int, int] = {}
        for where in appended:
            last[where.partition] = max(last.get(where.partition, -1), where.offset)
        for partition, offset in last.items():
            if not await self.runner.wait_until_applied(partition, offset, timeout or self.timeout):
                raise Unavailable(
                    "the events are in the log but the read model lags; read again shortly",
                    title="Recorded, not yet readable",
                )
