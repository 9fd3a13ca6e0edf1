"""The projection runner against the real broker and database.

A tally projector counts events per debtor account with a non-idempotent increment, so any
event applied twice shows as a wrong count.
"""

from __future__ import annotations

import uuid

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import ConsumerRecord
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, text
from sqlalchemy.dialects.postgresql import insert

from amiable_events.catalog import CONTEXTS
from amiable_events.db import create_engine
from amiable_events.envelope import Envelope, encode
from amiable_events.producer import EventLog
from amiable_events.projection import (
    ProjectionRunner,
    ProjectionStore,
    add_runner_tables,
    rebuild,
    topic_partitions,
)
from amiable_events.registry import Registry
from amiable_events.topics import dlq_topic
from tests.factories import (
    PARCEL_UPCASTER,
    T0,
    ParcelWeighedV1,
    ParcelWeighedV2,
    registered,
)
from tests.support import create_topic, delete_topics, eventually

pytestmark = pytest.mark.integration


REGISTRY = Registry(
    models=[*CONTEXTS["claims"], ParcelWeighedV1, ParcelWeighedV2],
    upcasters=[PARCEL_UPCASTER],
)

metadata = MetaData()
tally = Table(
    "tally",
    metadata,
    Column("account", String, primary_key=True),
    Column("events", Integer, nullable=False),
)
parcels = Table(
    "parcels",
    metadata,
    Column("event_id", String, primary_key=True),
    Column("weight_kg", String, nullable=False),
)
add_runner_tables(metadata)


class TallyProjector:
    metadata = metadata

    def __init__(self, service: str) -> None:
        self.service = service
        self.broken = True

    async def apply(self, conn, envelope: Envelope) -> None:
        event = envelope.data
        if isinstance(event, ParcelWeighedV2):
            await conn.execute(
                insert(parcels).values(event_id=str(envelope.id), weight_kg=event.weight_kg)
            )
            return
        if self.broken and getattr(event, "description", None) == "boom":
            raise RuntimeError("a bug in the projector")
        statement = insert(tally).values(account=envelope.key, events=1)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[tally.c.account], set_={"events": tally.c.events + 1}
            )
        )


@pytest.fixture
async def rig(infra, unique):
    """A topic, a schema, a DLQ and a running runner of the test's own."""
    service = f"t{unique}"
    topic = await create_topic(infra.bootstrap, f"runner-{unique}")
    await create_topic(infra.bootstrap, dlq_topic(service), partitions=1)
    engine = create_engine(infra.database_url, "amiable_claims")
    projector = TallyProjector(service)
    store = ProjectionStore(projector, engine, REGISTRY, schema=f"test_{unique}")
    log = EventLog(infra.bootstrap, topic=topic, client_id="runner-test")
    await log.start()
    runner = ProjectionRunner(store, bootstrap=infra.bootstrap, topic=topic, dlq_producer=log)
    await runner.start()

    class Rig:
        pass

    rig = Rig()
    rig.__dict__.update(
        topic=topic,
        engine=engine,
        store=store,
        log=log,
        runner=runner,
        projector=projector,
        service=service,
        bootstrap=infra.bootstrap,
    )
    try:
        yield rig
    finally:
        await runner.stop()
        await log.stop()
        async with engine.begin() as conn:
            for schema in (store.schema, f"{store.schema}_rebuild"):
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
        await delete_topics(infra.bootstrap, [topic, dlq_topic(service)])


async def scalar(rig, query):
    async with rig.store.transaction() as conn:
        return await conn.scalar(query)


async def first_dead_letter(rig):
    consumer = AIOKafkaConsumer(
        dlq_topic(rig.service), bootstrap_servers=rig.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        return await consumer.getone()
    finally:
        await consumer.stop()


async def caught_up(rig) -> bool:
    ends = await end_offsets(rig.bootstrap, rig.topic)
    positions = await rig.store.positions()
    return all(positions.get(p, 0) >= end for p, end in ends.items() if end)


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, topic)
        return {tp.partition: end for tp, end in (await consumer.end_offsets(partitions)).items()}
    finally:
        await consumer.stop()


async def test_every_event_is_applied_once_even_when_appended_twice(rig):
    events = [registered(n, tenant="acme") for n in range(400)]
    await rig.log.append(events)
    await rig.log.append(events[:25])  # a producer retrying at the application level

    await eventually(lambda: caught_up(rig))
    assert await scalar(rig, select(func.sum(tally.c.events))) == 400
    assert (
        await scalar(rig, select(func.count()).select_from(rig.store.tables["applied_events"]))
        == 400
    )


async def indexes(rig) -> list[str]:
    """The live schema's index definitions (named without their schema)."""
    async with rig.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT indexdef FROM pg_indexes WHERE schemaname = :s ORDER BY indexname"),
            {"s": rig.store.schema},
        )
        return [row[0].replace(f"{rig.store.schema}.", "") for row in rows]


async def test_rebuild_gives_the_live_digest(rig):
    await rig.log.append([registered(n, tenant="rebuild") for n in range(300)])
    await eventually(lambda: caught_up(rig))
    live = await rig.store.digest()
    live_indexes = await indexes(rig)
    # hashed two tables at a time on two connections: what one connection reads in one go
    async with rig.store.transaction() as conn:
        for name, figures in live["tables"].items():
            order = ", ".join(f'"{c.name}"' for c in rig.store.tables[name].primary_key.columns)
            row = await conn.execute(
                text(
                    f"SELECT count(*), md5(coalesce(string_agg(md5(t::text), '' ORDER BY {order}),"
                    f' \'\')) FROM "{rig.store.schema}"."{name}" t'
                )
            )
            assert tuple(row.one()) == (figures["rows"], figures["md5"]), name
    assert "reaction_horizon" not in live["tables"] and "tally" in live["tables"]

    result = await rebuild(
        rig.projector,
        rig.engine,
        REGISTRY,
        bootstrap=rig.bootstrap,
        topic=rig.topic,
        live_schema=rig.store.schema,
    )

    assert result.events == 300
    assert result.digest["digest"] == live["digest"]
    assert (await rig.store.digest())["digest"] == live["digest"]
    # built after the rows went in, the same indexes as the schema the runner created
    assert await indexes(rig) == live_indexes
    assert any("parked_events" in index for index in live_indexes)
    # the live runner goes on over the swapped-in tables
    await rig.log.append([registered(1000 + n, tenant="rebuild") for n in range(10)])
    await eventually(lambda: caught_up(rig))
    assert await scalar(rig, select(func.sum(tally.c.events))) == 310


async def test_an_undecodable_record_goes_to_the_dlq_and_the_runner_goes_on(rig):
    key, _, headers = encode(registered(1, tenant="dlq"))
    await rig.log.send_raw(rig.topic, b"{broken json", key, headers)
    await rig.log.append([registered(2, tenant="dlq")])

    await eventually(lambda: caught_up(rig))
    assert await scalar(rig, select(func.sum(tally.c.events))) == 1

    record = await first_dead_letter(rig)
    dead = dict(record.headers)
    assert record.value == b"{broken json"
    assert record.key == key
    assert b"payload does not match" in dead["amiable_dlq_reason"]
    assert dead["amiable_dlq_topic"] == rig.topic.encode()
    assert dead["ce_type"] == b"amiable.claims.claim-registered.v1"


async def test_concurrent_catch_ups_each_see_their_own_append(rig):
    """Commands ask the log's end together (one broker request answers all who asked before
    it was sent); each must still see what it appended just before: read your writes."""
    import asyncio

    async def command(n: int) -> int:
        await rig.log.append([registered(n, tenant="ryw", debtor=f"d{n}")])
        assert await rig.runner.wait_caught_up(f"ryw:d{n}", timeout=10)
        return await scalar(rig, select(tally.c.events).where(tally.c.account == f"ryw:d{n}"))

    assert await asyncio.gather(*(command(n) for n in range(40))) == [1] * 40


async def test_an_apply_failure_parks_only_its_debtor_account_until_unparked(rig):
    sick, healthy = "debtor-sick", "debtor-well"
    await rig.log.append(
        [
            registered(1, tenant="park", debtor=sick),
            registered(2, tenant="park", debtor=sick, description="boom"),
            registered(3, tenant="park", debtor=sick),
            registered(4, tenant="park", debtor=healthy),
            registered(5, tenant="park", debtor=healthy),
        ]
    )
    await eventually(lambda: caught_up(rig))
    await rig.log.append([registered(6, tenant="park", debtor=sick)])
    await eventually(lambda: caught_up(rig))

    counts = dict(await (await _conn_rows(rig, select(tally.c.account, tally.c.events))))
    assert counts == {f"park:{sick}": 1, f"park:{healthy}": 2}
    [parked] = await rig.store.parked()
    assert parked["account"] == f"park:{sick}"
    assert parked["reason"] == "RuntimeError: a bug in the projector"
    assert parked["waiting"] == 3  # the failing event and the two after it, in order

    still_broken = await rig.store.unpark()
    assert still_broken == {f"park:{sick}": "RuntimeError: a bug in the projector"}

    rig.projector.broken = False  # the fix is deployed
    assert await rig.store.unpark() == {f"park:{sick}": "released"}
    counts = dict(await (await _conn_rows(rig, select(tally.c.account, tally.c.events))))
    assert counts == {f"park:{sick}": 4, f"park:{healthy}": 2}
    assert await rig.store.parked() == []


class CountingTally(TallyProjector):
    """The tally with a batch apply that counts its calls and the events it was given."""

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self.calls = 0
        self.given = 0

    async def apply_many(self, conn, envelopes: list[Envelope]) -> None:
        self.calls += 1
        self.given += len(envelopes)
        for envelope in envelopes:
            await self.apply(conn, envelope)


def _as_records(topic: str, envelopes: list[Envelope]) -> dict[int, list[ConsumerRecord]]:
    """``envelopes`` as one partition's records, offsets from 0, as the runner reads them."""
    records = []
    for offset, envelope in enumerate(envelopes):
        key, value, headers = encode(envelope)
        records.append(
            ConsumerRecord(topic, 0, offset, 0, 0, key, value, None, len(key), len(value), headers)
        )
    return {0: records}


async def test_a_failing_batch_is_searched_for_its_event_not_replayed_event_by_event(rig):
    """Issue 8: a rebuild over a few poison events fell to ~500 events/s, each failing batch
    being re-applied one event per savepoint. The search costs little more than the failed
    attempt: what comes before the bad event applies, its account parks with its later
    events, the rest applies."""
    projector = CountingTally(rig.service)
    store = ProjectionStore(projector, rig.engine, REGISTRY, schema=f"{rig.store.schema}_bisect")
    await store.create(fresh=True)
    try:
        events = [
            registered(n, tenant="bisect", debtor=f"d{n % 8}", description="boom" * (n == 37))
            for n in range(64)
        ]

        async def no_dead_letters(record, reason):
            raise AssertionError(reason)

        result = await store.apply_batch(
            _as_records(rig.topic, events),
            {},
            dead_letter=no_dead_letters,
            group="bisect",
            topic=rig.topic,
        )

        parked = [n for n in range(37, 64) if n % 8 == 37 % 8]  # the bad event and its sequels
        assert (result.applied, result.parked) == (64 - len(parked), len(parked))
        # the failed batch, its parts up to the failing eighth, that eighth's events up to the
        # bad one, then the rest: the work wasted is the failed attempt and about an eighth more
        assert projector.calls <= 1 + 8 + 8 + 1, projector.calls
        assert projector.given - (64 - 1) <= 64 + 8 + 8, projector.given
        async with store.transaction() as conn:
            counts = dict((await conn.execute(select(tally.c.account, tally.c.events))).all())
        assert counts == {f"bisect:d{d}": 8 for d in range(8) if d != 5} | {"bisect:d5": 4}
        [account] = await store.parked()
        assert (account["account"], account["offset"], account["waiting"]) == (
            "bisect:d5",
            37,
            len(parked),
        )
        assert await store.positions() == {0: 64}
    finally:
        async with rig.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{store.schema}" CASCADE'))


async def test_a_searched_batch_reacts_once_to_each_applied_event_from_the_right_state(rig):
    """A reaction's state moves on event by event; a part of the batch rolled back while
    searching for the bad event must take back its states and caused events with its rows."""
    from datetime import date, timedelta

    from amiable_events.claims import ClaimQualified, ClaimRegistered
    from amiable_events.reactions import Reactions, Reactor, by_account
    from tests.support import read_topic

    def seen(count: int | None, envelope: Envelope) -> int:
        return (count or 0) + 1  # events of the account so far, this one included

    def qualify(count: int, envelope: Envelope) -> list[ClaimQualified]:
        if envelope.data.description == "boom":
            raise RuntimeError("a bug in the reaction")
        return [
            ClaimQualified(
                claim_id=envelope.data.claim_id,
                qualified_at=envelope.time,
                prescription_date=date(2030, 1, 1) + timedelta(days=count),
            )
        ]

    async def nothing_stored(conn, keys):
        return {}

    reactor = Reactor(
        Reactions(
            service=rig.service,
            table={ClaimRegistered: qualify},
            load=nothing_stored,
            evolve=seen,
            state_key=by_account,
        )
    )
    topic = await create_topic(rig.bootstrap, f"{rig.topic}-caused")
    log = EventLog(rig.bootstrap, topic=topic, client_id="search-reactions")
    await log.start()
    projector = CountingTally(rig.service)
    projector.broken = False  # only the reaction fails
    store = ProjectionStore(
        projector,
        rig.engine,
        REGISTRY,
        schema=f"{rig.store.schema}_reacting",
        reactor=reactor,
        log=log,
    )
    await store.create(fresh=True)
    try:
        events = [
            registered(1, tenant="react", debtor="a"),
            registered(2, tenant="react", debtor="a", description="boom"),
            registered(3, tenant="react", debtor="a"),
            registered(4, tenant="react", debtor="b"),
            registered(5, tenant="react", debtor="b"),
        ]

        async def no_dead_letters(record, reason):
            raise AssertionError(reason)

        result = await store.apply_batch(
            _as_records(topic, events), {}, dead_letter=no_dead_letters, group="r", topic=topic
        )

        assert (result.applied, result.parked, result.caused) == (3, 2, 3)
        caused = sorted(
            (record.key.decode(), orjson.loads(record.value)["prescription_date"])
            for record in await read_topic(rig.bootstrap, topic)
        )
        assert caused == [
            ("react:a", "2030-01-02"),  # from the state after event 1, not after 1, 2, 3
            ("react:b", "2030-01-02"),
            ("react:b", "2030-01-03"),
        ]
        [parked] = await store.parked()
        assert (parked["account"], parked["waiting"]) == ("react:a", 2)
    finally:
        await log.stop()
        await delete_topics(rig.bootstrap, [topic])
        async with rig.engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{store.schema}" CASCADE'))


async def test_unpark_dead_letters_a_parked_record_that_no_longer_decodes(rig):
    """A parked record the code now deployed cannot decode (here its payload, as if its type
    had been retired; a NUL in its key is another case) goes to the dead-letter topic, and the
    account's other records replay: the account is released, not parked for good."""
    sick = "debtor-sick"
    await rig.log.append(
        [
            registered(1, tenant="dead", debtor=sick, description="boom"),
            registered(2, tenant="dead", debtor=sick),
            registered(3, tenant="dead", debtor=sick),
        ]
    )
    await eventually(lambda: caught_up(rig))
    [parked] = await rig.store.parked()
    assert parked["waiting"] == 3
    events = rig.store.tables["parked_events"]
    async with rig.store.transaction() as conn:
        second = (
            await conn.execute(select(events).order_by(events.c.offset).offset(1).limit(1))
        ).one()
        await conn.execute(
            events.update()
            .where(events.c.partition == second.partition, events.c.offset == second.offset)
            .values(value=b"{no longer decodes")
        )

    rig.projector.broken = False  # the fix is deployed
    # without a dead-letter topic to send it to, the account stays parked, saying why
    [reason] = (await rig.store.unpark()).values()
    assert reason.startswith("DecodeError: payload does not match"), reason
    assert [row["account"] for row in await rig.store.parked()] == [f"dead:{sick}"]
    assert await rig.runner.unpark() == {
        f"dead:{sick}": "released (1 undecodable record(s) dead-lettered)"
    }
    counts = dict(await (await _conn_rows(rig, select(tally.c.account, tally.c.events))))
    assert counts == {f"dead:{sick}": 2}
    assert await rig.store.parked() == []

    record = await first_dead_letter(rig)
    dead = dict(record.headers)
    assert record.value == b"{no longer decodes"
    assert record.key == f"dead:{sick}".encode()
    assert dead["amiable_dlq_topic"] == rig.topic.encode()
    assert dead["amiable_dlq_offset"] == str(second.offset).encode()
    assert b"payload does not match" in dead["amiable_dlq_reason"]


async def _conn_rows(rig, query):
    async def rows():
        async with rig.store.transaction() as conn:
            return (await conn.execute(query)).all()

    return rows()


async def test_an_old_event_version_is_upcast_on_read(rig):
    envelope = Envelope(
        id=uuid.uuid4(),
        subject="parcel-1",
        time=T0,
        tenant="up",
        debtor_id="d1",
        correlation_id=uuid.uuid4(),
        data=ParcelWeighedV1(grams=2500),
    )
    await rig.log.append([envelope])
    await eventually(lambda: caught_up(rig))
    assert await scalar(rig, select(parcels.c.weight_kg)) == "2.500"


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_the_consumer_span_continues_the_producer_trace(rig, spans):
    spans.clear()
    event = registered(1, tenant="trace")
    [appended] = await rig.log.append([event])
    await eventually(lambda: caught_up(rig))

    [send] = [s for s in spans.get_finished_spans() if s.kind == SpanKind.PRODUCER]
    process = [s for s in spans.get_finished_spans() if s.kind == SpanKind.CONSUMER]
    assert len(process) == 1
    [span] = process
    assert span.name == f"process {rig.topic}"
    assert span.context.trace_id == send.context.trace_id
    assert span.parent.span_id == send.context.span_id
    assert [link.context.span_id for link in span.links] == [send.context.span_id]
    assert span.attributes["messaging.system"] == "kafka"
    assert span.attributes["messaging.operation.type"] == "process"
    assert span.attributes["messaging.destination.name"] == rig.topic
    assert span.attributes["messaging.destination.partition.id"] == str(appended.partition)
    assert span.attributes["messaging.kafka.offset"] == appended.offset
    assert span.attributes["messaging.message.id"] == str(event.id)
    assert span.attributes["messaging.consumer.group.name"] == rig.runner.group_id


async def test_a_batch_refused_for_a_moved_partition_applies_nothing_and_claims_nothing(rig):
    """When one partition of a batch moved (a rebuild swapped in, another replica went on), no
    record of the batch is applied and no partition's position runs ahead of the stored one:
    a command waiting for its event must not be told it is readable."""
    await rig.log.append([registered(n, tenant="moved") for n in range(40)])
    await eventually(lambda: caught_up(rig))
    await rig.runner.stop()  # from here the test drives a runner by hand
    stored = await rig.store.positions()
    moved, other = sorted(stored)[:2]
    records = await _read(rig, {moved: stored[moved] - 1, other: stored[other]}, extra=other)
    probe = ProjectionRunner(
        rig.store, bootstrap=rig.bootstrap, topic=rig.topic, dlq_producer=rig.log
    )
    await probe._consumer.start()
    try:
        probe._consumer.assign([TopicPartition(rig.topic, p) for p in (moved, other)])
        probe.positions = {moved: stored[moved] - 1, other: stored[other]}  # one is behind
        before = await rig.store.digest()

        result = await probe.apply(records)

        assert result.seeks == {moved: stored[moved]}
        assert result.applied == 0
        assert probe.positions == {moved: stored[moved], other: stored[other]}
        assert not await probe.wait_until_applied(other, records[other][-1].offset, 0.2)
        assert (await rig.store.digest())["digest"] == before["digest"]
    finally:
        await probe._consumer.stop()


async def _read(rig, starts: dict[int, int], *, extra: int) -> dict[int, list]:
    """The records from ``starts`` on, after appending one more event to partition ``extra``."""
    debtor = next(
        f"debtor-{n}" for n in range(500) if rig.runner.partition_for(f"moved:debtor-{n}") == extra
    )
    await rig.log.append([registered(1000, tenant="moved", debtor=debtor)])
    consumer = AIOKafkaConsumer(bootstrap_servers=rig.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(rig.topic, p) for p in starts])
        for partition, offset in starts.items():
            consumer.seek(TopicPartition(rig.topic, partition), offset)
        records: dict[int, list] = {}

        async def read_all():
            batch = await consumer.getmany(timeout_ms=500)
            for tp, rows in batch.items():
                records.setdefault(tp.partition, []).extend(rows)
            return extra in records and moved_has(records, starts)

        await eventually(read_all, timeout=10)
        return records
    finally:
        await consumer.stop()


def moved_has(records: dict[int, list], starts: dict[int, int]) -> bool:
    return all(partition in records for partition in starts)


async def test_a_tenant_admin_sees_and_unparks_only_its_own_accounts(rig):
    """Issue 7: any tenant's admin could list and unpark every tenant's parked accounts, and
    read the digest of the whole projection. Cross-tenant operations need an operator token."""
    import httpx
    from fastapi import FastAPI

    from amiable_events.admin import admin_router
    from amiable_events.auth import TokenVerifier, issue_token
    from amiable_events.http import install_problem_handlers

    secret, operators = "s" * 32, "amiable-operator"
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(admin_router(lambda request: rig.runner))
    app.state.token_verifier = TokenVerifier(secret=secret, operator_audience=operators)

    def bearer(tenant: str, audience: str | None = None) -> dict[str, str]:
        signed = issue_token(secret, tenant=tenant, scopes=["admin"], audience=audience)
        return {"Authorization": f"Bearer {signed}"}

    await rig.log.append(
        [
            registered(1, tenant="tenant-a", debtor="d", description="boom"),
            registered(2, tenant="tenant-b", debtor="d", description="boom"),
        ]
    )
    await eventually(lambda: caught_up(rig))
    a, b, operator = bearer("tenant-a"), bearer("tenant-b"), bearer("ops", operators)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://admin"
    ) as api:
        listed = (await api.get("/admin/parked", headers=a)).json()["accounts"]
        assert [row["account"] for row in listed] == ["tenant-a:d"]
        listed = (await api.get("/admin/parked", headers=b)).json()["accounts"]
        assert [row["account"] for row in listed] == ["tenant-b:d"]
        everyone = (await api.get("/admin/parked", headers=operator)).json()["accounts"]
        assert [row["account"] for row in everyone] == ["tenant-a:d", "tenant-b:d"]

        assert (await api.get("/admin/state-digest", headers=a)).status_code == 403
        assert (
            await api.get("/admin/state-digest", headers=bearer("x", "other"))
        ).status_code == 403
        assert (await api.get("/admin/state-digest", headers=operator)).status_code == 200

        rig.projector.broken = False  # the fix is deployed
        # tenant-a names tenant-b's account: ignored, as if it were not parked
        answer = await api.post("/admin/unpark", json={"accounts": ["tenant-b:d"]}, headers=a)
        assert answer.json() == {"accounts": {}}
        assert (await api.post("/admin/unpark", headers=a)).json() == {
            "accounts": {"tenant-a:d": "released"}
        }
        assert [row["account"] for row in await rig.store.parked()] == ["tenant-b:d"]
        answer = await api.post(
            "/admin/unpark", json={"accounts": ["tenant-b:d"]}, headers=operator
        )
        assert answer.json() == {"accounts": {"tenant-b:d": "released"}}
    assert await rig.store.parked() == []
