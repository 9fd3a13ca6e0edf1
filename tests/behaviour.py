"""Behaviour tests of a service's commands and reactions, on two backends.

A behaviour test says: given these events, when this command, then these events (or this
error). :class:`MemoryBackend` runs it on the in-memory log, runner, read model and ledger, in
milliseconds; :class:`RealBackend` runs the very same test on Kafka and PostgreSQL (a topic and a
schema of its own), through the same command bus. The ``backend`` fixtures are parametrised over
both; the real one carries the ``integration`` marker, so ``make unit`` runs the memory half.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text

from amiable_events.catalog import REGISTRY
from amiable_events.clock import Clock
from amiable_events.commands import CommandBus, Decider, Idempotency
from amiable_events.db import create_engine
from amiable_events.envelope import Envelope, decode
from amiable_events.idempotency import PostgresLedger
from amiable_events.memory import InMemoryLedger, InMemoryLog, InMemoryRunner, InMemoryStates
from amiable_events.producer import EventLog
from amiable_events.projection import ProjectionRunner, ProjectionStore
from amiable_events.reactions import Reactions, Reactor
from amiable_events.topics import delete_topics
from tests.support import create_topic, eventually, read_topic


@dataclass(frozen=True)
class ServiceUnderTest:
    """What a behaviour suite needs of a service, for either backend."""

    name: str
    deciders: Mapping[type, Decider]
    clock: Clock
    #: in memory: the service's pure fold, and which events it follows
    evolve: Callable[[Any, Envelope], Any]
    follows: Callable[[Envelope], bool]
    #: for real: its projector and the read model the bus loads states from
    projector: Any = None
    read_model: Callable[[ProjectionStore], Any] | None = None
    reactions: Reactions | None = None
    policy: Any = None
    database: str | None = None  # default: amiable_<name>
    #: one state per debtor account, commands addressed by debtor id (risk); else per subject
    by_account: bool = False
    #: one state per debtor account, commands addressed by a subject the state holds (dunning)
    holds: Callable[[Any, str], bool] | None = None


class Backend:
    """``given`` appends events and waits until they (and their reactions) are applied;
    ``when`` runs a command through the bus; ``log`` is every record, duplicates included."""

    bus: CommandBus

    async def when(
        self,
        tenant: str,
        subject: uuid.UUID | str,
        command: Any,
        *,
        idempotency: Idempotency | None = None,
    ) -> list[Envelope]:
        return await self.bus.execute(tenant, subject, command, idempotency=idempotency)


class MemoryBackend(Backend):
    def __init__(self, service: ServiceUnderTest) -> None:
        self.memory_log = InMemoryLog()
        self.states = InMemoryStates(
            service.evolve,
            follows=service.follows,
            by_account=service.by_account,
            holds=service.holds,
        )
        self.runner = InMemoryRunner(self.memory_log, self.states, reactions=service.reactions)
        self.bus = CommandBus(
            service=service.name,
            deciders=service.deciders,
            read_model=self.states,
            log=self.memory_log,
            runner=self.runner,
            ledger=InMemoryLedger(),
            clock=service.clock,
            timeout=1.0,
            policy=service.policy,
        )

    async def given(self, *envelopes: Envelope) -> None:
        await self.memory_log.append(envelopes)

    async def log(self) -> list[Envelope]:
        return self.memory_log.envelopes


class RealBackend(Backend):
    """One topic, one projection schema and one runner, shared by a module's tests (each test
    keeps to tenants of its own); removed by :meth:`close`."""

    def __init__(self, service: ServiceUnderTest, infra, unique: str) -> None:
        self.service = service
        self.infra = infra
        self.unique = unique

    async def start(self) -> RealBackend:
        infra, service = self.infra, self.service
        self.topic = await create_topic(infra.bootstrap, f"behaviour-{self.unique}")
        self.engine = create_engine(
            infra.database_url, service.database or f"amiable_{service.name}"
        )
        self.event_log = EventLog(infra.bootstrap, topic=self.topic, client_id="behaviour")
        await self.event_log.start()
        reactor = Reactor(service.reactions) if service.reactions else None
        self.store = ProjectionStore(
            service.projector,
            self.engine,
            REGISTRY,
            schema=f"behaviour_{self.unique}",
            reactor=reactor,
            log=self.event_log if reactor else None,
        )
        self.runner = ProjectionRunner(
            self.store,
            bootstrap=infra.bootstrap,
            topic=self.topic,
            dlq_producer=self.event_log,
            group_id=f"behaviour-{self.unique}",
        )
        await self.runner.start()
        ledger = PostgresLedger(self.engine)
        await ledger.create()
        self.bus = CommandBus(
            service=service.name,
            deciders=service.deciders,
            read_model=service.read_model(self.store) if service.read_model else None,
            log=self.event_log,
            runner=self.runner,
            ledger=ledger,
            clock=service.clock,
            timeout=30.0,
            policy=service.policy,
        )
        return self

    async def given(self, *envelopes: Envelope) -> None:
        before = len(await self.log())
        await self.bus.append(envelopes)
        if self.service.reactions is not None:
            # Their reactions too: the log stops growing once every record is applied.
            async def settled() -> bool:
                records = await self.log()
                stored = await self.store.positions()
                return len(records) >= before + len(envelopes) and sum(stored.values()) == len(
                    records
                )

            await eventually(settled, timeout=30)

    async def log(self) -> list[Envelope]:
        return [
            decode(REGISTRY, r.key, r.value, r.headers, r.partition, r.offset)
            for r in await read_topic(self.infra.bootstrap, self.topic)
        ]

    async def close(self) -> None:
        await self.runner.stop()
        await self.event_log.stop()
        async with self.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.store.schema}" CASCADE'))
        await self.engine.dispose()
        await delete_topics(self.infra.bootstrap, [self.topic])


def backends(service: ServiceUnderTest):
    """The ``real_backend`` (module-scoped) and ``backend`` (memory, then real) fixtures of a
    behaviour module: ``real_backend, backend = backends(SERVICE)``."""

    @pytest.fixture(scope="module")
    async def real_backend(infra):
        backend = await RealBackend(service, infra, uuid.uuid4().hex[:10]).start()
        try:
            yield backend
        finally:
            await backend.close()

    @pytest.fixture(params=["memory", pytest.param("real", marks=pytest.mark.integration)])
    def backend(request):
        if request.param == "memory":
            return MemoryBackend(service)
        return request.getfixturevalue("real_backend")

    return real_backend, backend


def types(envelopes: Sequence[Envelope]) -> list[str]:
    return [envelope.type for envelope in envelopes]
