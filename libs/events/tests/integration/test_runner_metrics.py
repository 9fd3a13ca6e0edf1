"""The projection runner's metrics against the real broker and database: the lag of each
partition as the runner consumes, and events counted once, not again by a rebuild."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Column, Integer, MetaData, String, Table, text
from sqlalchemy.dialects.postgresql import insert

from amiable_events.catalog import CONTEXTS
from amiable_events.claims import ClaimRegistered
from amiable_events.db import create_engine
from amiable_events.envelope import Envelope
from amiable_events.producer import EventLog
from amiable_events.projection import (
    ProjectionRunner,
    ProjectionStore,
    add_runner_tables,
    rebuild,
)
from amiable_events.registry import Registry
from amiable_events.topics import dlq_topic
from tests.factories import registered
from tests.support import create_topic, delete_topics, eventually

pytestmark = pytest.mark.integration

REGISTRY_OF_EVENTS = Registry(models=[*CONTEXTS["claims"]])

metadata = MetaData()
seen = Table(
    "seen",
    metadata,
    Column("account", String, primary_key=True),
    Column("events", Integer, nullable=False),
)
add_runner_tables(metadata)


class GatedProjector:
    """Applies the first ``open_for`` events, then waits at its gate until the test opens it."""

    metadata = metadata

    def __init__(self, service: str, open_for: int) -> None:
        self.service = service
        self.open_for = open_for
        self.applied = 0
        self.gate = asyncio.Event()

    async def apply(self, conn, envelope: Envelope) -> None:
        if self.applied >= self.open_for:
            await self.gate.wait()
        self.applied += 1
        statement = insert(seen).values(account=envelope.key, events=1)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[seen.c.account], set_={"events": seen.c.events + 1}
            )
        )


@pytest.fixture
async def rig(infra, unique):
    service = f"m{unique}"
    topic = await create_topic(infra.bootstrap, f"metrics-{unique}", partitions=2)
    await create_topic(infra.bootstrap, dlq_topic(service), partitions=1)
    engine = create_engine(infra.database_url, "amiable_claims")
    log = EventLog(infra.bootstrap, topic=topic, client_id="metrics-test")
    await log.start()
    made = []

    async def start(projector, **options) -> ProjectionRunner:
        store = ProjectionStore(projector, engine, REGISTRY_OF_EVENTS, schema=f"metrics_{unique}")
        runner = ProjectionRunner(
            store, bootstrap=infra.bootstrap, topic=topic, dlq_producer=log, **options
        )
        await runner.start()
        made.append(runner)
        return runner

    class Rig:
        pass

    rig = Rig()
    rig.__dict__.update(
        service=service, topic=topic, log=log, start=start, engine=engine, infra=infra
    )
    try:
        yield rig
    finally:
        for runner in made:
            runner.store.projector.gate.set()
            await runner.stop()
        await log.stop()
        async with engine.begin() as conn:
            for schema in (f"metrics_{unique}", f"metrics_{unique}_rebuild"):
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
        await delete_topics(infra.bootstrap, [topic, dlq_topic(service)])


def lag(service: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value(
        "amiable_consumer_lag", {"service": service, "partition": str(partition)}
    )


def applied(service: str) -> float | None:
    return REGISTRY.get_sample_value(
        "amiable_events_applied_total", {"service": service, "type": ClaimRegistered.type}
    )


async def test_the_lag_is_what_the_runner_has_not_applied_yet(rig):
    # one debtor account: every event in one partition
    events = [registered(n, tenant="lag", debtor="d-1") for n in range(60)]
    [where, *_] = await rig.log.append(events)
    projector = GatedProjector(rig.service, open_for=10)
    runner = await rig.start(projector, max_records=10)

    # held at the gate after the first batch: what is left of the partition is its lag
    stuck = await eventually(lambda: lag(rig.service, where.partition))
    assert stuck == 60 - runner.positions[where.partition]
    assert stuck >= 50
    other = 1 - where.partition
    assert lag(rig.service, other) in (None, 0)

    projector.gate.set()
    await eventually(lambda: lag(rig.service, where.partition) == 0)
    assert runner.positions[where.partition] == 60


async def test_events_are_counted_once_and_not_again_by_a_rebuild(rig):
    events = [registered(n, tenant="once") for n in range(40)]
    await rig.log.append(events)
    await rig.log.append(events[:10])  # a producer retrying: duplicates are not applied
    projector = GatedProjector(rig.service, open_for=10_000)
    runner = await rig.start(projector)
    await eventually(lambda: applied(rig.service) == 40)

    await rebuild(
        projector,
        rig.engine,
        REGISTRY_OF_EVENTS,
        bootstrap=rig.infra.bootstrap,
        topic=rig.topic,
        live_schema=runner.store.schema,
    )
    await rig.log.append([registered(100 + n, tenant="once") for n in range(5)])

    await eventually(lambda: applied(rig.service) == 45)
    await eventually(lambda: sum(runner.positions.values()) == 55)
    assert applied(rig.service) == 45
