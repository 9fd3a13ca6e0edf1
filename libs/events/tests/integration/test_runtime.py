"""The runner at run time, against the real broker and database: it survives its own failures,
retries transient database errors instead of parking, says honestly when an account is parked
(without SQL parameters), projects a changed shape into a schema of its own while the old one
stays, and logs no SQL parameters.

A tally projector counts events per debtor account (non-idempotent: an event applied twice
shows as a wrong count); ``description`` on a registration tells it what to do.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, text
from sqlalchemy.dialects.postgresql import insert

from amiable_events import personal
from amiable_events.catalog import REGISTRY
from amiable_events.db import create_engine
from amiable_events.envelope import Envelope, encode
from amiable_events.errors import Parked
from amiable_events.producer import EventLog
from amiable_events.projection import ProjectionRunner, ProjectionStore, add_runner_tables
from amiable_events.topics import dlq_topic
from tests.factories import registered
from tests.support import create_topic, delete_topics, eventually, service_key_store

pytestmark = pytest.mark.integration


def _tally_metadata(*extra: Column) -> tuple[MetaData, Table]:
    metadata = MetaData()
    table = Table(
        "tally",
        metadata,
        Column("account", String, primary_key=True),
        Column("events", Integer, nullable=False),
        *extra,
    )
    add_runner_tables(metadata)
    return metadata, table


METADATA, TALLY = _tally_metadata()


class Tally:
    def __init__(self, service: str, metadata: MetaData = METADATA, table: Table = TALLY):
        self.service = service
        self.metadata = metadata
        self.table = table
        self.deadlocks_left = 0
        self.gate: asyncio.Event | None = None

    async def apply(self, conn, envelope: Envelope) -> None:
        description = getattr(envelope.data, "description", None)
        if description == "gated" and self.gate is not None:
            await self.gate.wait()
        if description == "deadlock" and self.deadlocks_left > 0:
            self.deadlocks_left -= 1
            # A real error from the server with the deadlock SQLSTATE.
            await conn.execute(
                text("DO $$ BEGIN RAISE EXCEPTION 'deadlock' USING ERRCODE = '40P01'; END $$")
            )
        if description and description.startswith("pii:v1:"):
            # A statement failing with a sealed value among its parameters.
            await conn.execute(text("SELECT CAST(:value AS integer)"), {"value": description})
        statement = insert(self.table).values(account=envelope.key, events=1)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[self.table.c.account], set_={"events": self.table.c.events + 1}
            )
        )


class FlakyDeadLetters:
    """A DLQ producer whose first send fails (the runner's task used to die of it)."""

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self.failures = 1

    async def send_raw(self, topic, value, key, headers) -> None:
        if self.failures:
            self.failures -= 1
            raise RuntimeError("dead-letter topic unreachable")
        await self.log.send_raw(topic, value, key, headers)


@pytest.fixture
async def rig(infra, unique):
    service = f"rt{unique}"
    topic = await create_topic(infra.bootstrap, f"runtime-{unique}")
    await create_topic(infra.bootstrap, dlq_topic(service), partitions=1)
    engine = create_engine(infra.database_url, "amiable_claims")
    log = EventLog(infra.bootstrap, topic=topic, client_id="runtime-test")
    await log.start()
    runners: list[ProjectionRunner] = []
    schemas: set[str] = set()

    async def start(projector: Tally, *, dlq=None, group: str | None = None) -> ProjectionRunner:
        store = ProjectionStore(projector, engine, REGISTRY, schema=f"rt_{unique}")
        runner = ProjectionRunner(
            store,
            bootstrap=infra.bootstrap,
            topic=topic,
            dlq_producer=dlq or log,
            group_id=group or f"rt-{unique}-{len(runners)}",
        )
        runners.append(runner)
        await runner.start()
        schemas.update({f"rt_{unique}", store.schema})
        return runner

    class Rig:
        pass

    rig = Rig()
    rig.__dict__.update(topic=topic, engine=engine, log=log, start=start, service=service)
    try:
        yield rig
    finally:
        for runner in runners:
            await runner.stop()
        await log.stop()
        async with engine.begin() as conn:
            for schema in schemas:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
        await delete_topics(infra.bootstrap, [topic, dlq_topic(service)])


async def tally_of(runner: ProjectionRunner) -> dict[str, int]:
    table = runner.store.tables["tally"]
    async with runner.store.reading() as conn:
        return dict((await conn.execute(select(table.c.account, table.c.events))).all())


async def test_the_runner_restarts_after_a_failure_and_stays_alive(rig):
    """Finding: the projection task can die unnoticed (a dead-letter send fails)."""
    runner = await rig.start(Tally(rig.service), dlq=FlakyDeadLetters(rig.log))
    key, _, headers = encode(registered(1, tenant="sup"))
    await rig.log.send_raw(rig.topic, b"{broken json", key, headers)
    [where] = await rig.log.append([registered(2, tenant="sup", debtor="debtor-1")])

    assert await runner.wait_until_applied(where.partition, where.offset, timeout=30)
    assert runner.restarts >= 1
    assert runner.alive
    assert await tally_of(runner) == {"sup:debtor-1": 1}


async def test_a_transient_database_error_is_retried_not_parked(rig):
    """Finding: a deadlock or timeout parks an account where a retry would do."""
    projector = Tally(rig.service)
    projector.deadlocks_left = 2
    runner = await rig.start(projector)
    [where] = await rig.log.append([registered(1, tenant="dl", description="deadlock")])

    assert await runner.wait_until_applied(where.partition, where.offset, timeout=30)
    assert projector.deadlocks_left == 0
    assert await runner.store.parked() == []
    assert await tally_of(runner) == {"dl:debtor-1": 1}


async def test_a_parked_offset_is_not_applied_and_its_reason_holds_no_parameters(rig, caplog):
    """Findings: wait_until_applied counted parked offsets as applied; parked reasons held
    raw SQL parameters; a command on a parked account must answer with the reason."""
    sealed = "pii:v1:" + uuid.uuid4().hex
    runner = await rig.start(Tally(rig.service))
    caplog.set_level(logging.INFO)
    poison = registered(1, tenant="pk", debtor="sick", description=sealed)
    [where] = await rig.log.append([poison])

    with pytest.raises(Parked) as parked:
        await runner.wait_until_applied(where.partition, where.offset, timeout=30)
    assert parked.value.status == 503
    assert parked.value.extra["claim_id"] == poison.subject
    assert parked.value.extra["reason"] == "DataError"
    with pytest.raises(Parked):
        await runner.raise_if_parked("pk:sick")
    await runner.raise_if_parked("pk:someone-else")  # not parked: no error

    [row] = await runner.store.parked()
    assert sealed not in row["reason"]
    assert "SELECT" not in row["reason"]
    assert row["reason"] == "DataError: invalid input for query argument $1"
    assert sealed not in caplog.text


async def test_a_changed_shape_projects_into_a_new_schema_and_the_old_one_stays(rig):
    """Finding: a projection shape change DROPs the live schema at start-up, under replicas
    that still run the old version."""
    old = await rig.start(Tally(rig.service))
    await rig.log.append([registered(n, tenant="shape", debtor="d") for n in range(5)])
    await eventually(lambda: _counted(old, {"shape:d": 5}))

    metadata, table = _tally_metadata(Column("note", String))
    new = await rig.start(Tally(rig.service, metadata, table))

    assert new.store.schema != old.store.schema
    assert new.store.schema.startswith(old.store.schema + "_")
    await eventually(lambda: _counted(new, {"shape:d": 5}))
    # The old replica goes on in its own schema, untouched.
    await rig.log.append([registered(5, tenant="shape", debtor="d")])
    await eventually(lambda: _counted(old, {"shape:d": 6}))
    await eventually(lambda: _counted(new, {"shape:d": 6}))
    # What the old schema had reacted to is the new one's horizon: nothing reacts twice.
    horizon = new.store.tables["reaction_horizon"]
    async with new.store.reading() as conn:
        assert (await conn.scalar(select(func.sum(horizon.c.next_offset)))) == 5
    # A restart of the new version finds its schema again.
    again = ProjectionStore(
        Tally(rig.service, metadata, table), rig.engine, REGISTRY, schema=old.store.schema
    )
    assert await again.resolve() == new.store.schema


async def _counted(runner: ProjectionRunner, expected: dict[str, int]) -> bool:
    return await tally_of(runner) == expected


async def test_database_errors_on_the_key_store_log_no_key_bytes(infra, caplog, monkeypatch):
    """Finding: a failed INSERT INTO debtor_keys printed a debtor's raw AES key."""
    key = bytes(range(32))
    monkeypatch.setattr(personal.AESGCM, "generate_key", staticmethod(lambda bit_length: key))
    engine = create_engine(infra.database_url, "amiable_keys")
    keys = service_key_store(engine)
    caplog.set_level(logging.DEBUG)
    try:
        with pytest.raises(Exception) as failed:
            # NUL cannot be stored in text: the INSERT with the fresh key fails on the server.
            await keys.get_or_create("tenant:debtor\x00")
        logging.getLogger("test").error("key store failed", exc_info=failed.value)
    finally:
        await engine.dispose()
    assert "key store failed" in caplog.text
    assert "[parameters:" not in caplog.text
    for shown in (repr(key), key.hex(), str(list(key))):
        assert shown not in caplog.text


async def test_readiness_counts_only_this_replicas_partitions(rig):
    """Finding: /readyz reported the shared lag, so one big import took every replica out."""
    gate = asyncio.Event()
    projectors = [Tally(rig.service), Tally(rig.service)]
    for projector in projectors:
        projector.gate = gate
    group = f"rt-ready-{rig.service}"
    first = await rig.start(projectors[0], group=group)
    second = await rig.start(projectors[1], group=group)
    replicas = (first, second)
    await eventually(
        lambda: all(r.assigned and len(r._consumer.assignment()) == 6 for r in replicas),
        timeout=60,
    )
    try:
        await rig.log.append(
            [registered(n, tenant="ready", debtor="busy", description="gated") for n in range(3)]
        )

        async def one_lags() -> bool:
            lags = sorted([await first.lag(), await second.lag()])
            return lags[0] == 0 and lags[1] >= 1

        await eventually(one_lags, timeout=30)
    finally:
        gate.set()
    await eventually(lambda: _lags_are_zero(replicas), timeout=30)


async def _lags_are_zero(replicas) -> bool:
    return [await r.lag() for r in replicas] == [0, 0]
