"""The bench's side of the log and of a service's projection: appending test events, the raw
read rate, the log's end, and the positions a projection has stored."""

from __future__ import annotations

import asyncio
import time

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from sqlalchemy.engine import make_url

from amiable_events.catalog import REGISTRY
from amiable_events.db import create_engine
from amiable_events.producer import EventLog
from amiable_events.projection import Projector, rebuild, topic_partitions
from tests.factories import registered

#: Events per append when seeding: one call, many record batches, like an import's parts.
SEED_BATCH = 5000


async def append_registered(
    bootstrap: str, topic: str, count: int, *, tenant: str, start: int = 0
) -> float:
    """Append ``count`` ``ClaimRegistered`` of ``tenant`` (claims ``start`` on, 50 debtors);
    the seconds it took."""
    log = EventLog(bootstrap, topic=topic, client_id="bench")
    await log.start()
    started = time.perf_counter()
    try:
        for first in range(start, start + count, SEED_BATCH):
            last = min(start + count, first + SEED_BATCH)
            await log.append([registered(n, tenant=tenant) for n in range(first, last)])
    finally:
        await log.stop()
    return time.perf_counter() - started


def _consumer(bootstrap: str) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_poll_records=5000,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )


async def raw_read(bootstrap: str, topic: str, count: int) -> float:
    """Seconds for a bare aiokafka ``getmany`` loop to read ``count`` records from offset 0:
    the ceiling a rebuild is compared with (same client, same fetch sizes as ``rebuild``)."""
    consumer = _consumer(bootstrap)
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        started = time.perf_counter()
        seen = 0
        while seen < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            seen += sum(len(records) for records in batch.values())
        return time.perf_counter() - started
    finally:
        await consumer.stop()


class LogEnd:
    """The log's end offsets per partition (a consumer kept open for the whole bench)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = _consumer(bootstrap)
        self.topic = topic
        self._partitions: list[TopicPartition] = []

    async def start(self) -> LogEnd:
        await self._consumer.start()
        self._partitions = await topic_partitions(self._consumer, self.topic)
        return self

    async def stop(self) -> None:
        await self._consumer.stop()

    async def ends(self) -> dict[int, int]:
        ends = await self._consumer.end_offsets(self._partitions)
        return {tp.partition: end for tp, end in ends.items()}

    async def size(self) -> int:
        """Records on the log (the topic never deletes any)."""
        return sum((await self.ends()).values())


class Positions:
    """A service's stored positions (``stored_offsets``, committed with the rows they cover:
    a record below them is readable), read straight from its projection schema."""

    def __init__(self, database_url: str, database: str, schema: str) -> None:
        url = make_url(database_url).set(drivername="postgresql", database=database)
        self.dsn = url.render_as_string(hide_password=False)
        self.query = f'SELECT partition, next_offset FROM "{schema}".stored_offsets'
        self._conn: asyncpg.Connection | None = None

    async def start(self) -> Positions:
        self._conn = await asyncpg.connect(self.dsn)
        return self

    async def stop(self) -> None:
        if self._conn is not None:
            await self._conn.close()

    async def read(self) -> dict[int, int]:
        assert self._conn is not None
        try:
            rows = await self._conn.fetch(self.query)
        except asyncpg.UndefinedTableError:
            return {}  # the service has not created its schema yet
        return {row["partition"]: row["next_offset"] for row in rows}

    async def wait_applied(self, ends: dict[int, int], timeout: float = 1800) -> float:
        """Poll (every 10 ms) until every record below ``ends`` is readable; the seconds it
        took. Fails at the deadline."""
        started = time.monotonic()
        while True:
            stored = await self.read()
            if all(stored.get(p, 0) >= end for p, end in ends.items() if end):
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                behind = sum(max(0, end - stored.get(p, 0)) for p, end in ends.items())
                raise TimeoutError(f"projection still {behind} records behind after {timeout}s")
            await asyncio.sleep(0.01)


async def rebuild_rate(
    projector: Projector, database_url: str, database: str, bootstrap: str, topic: str, schema: str
) -> float:
    """Events per second of a rebuild of ``projector`` from ``topic`` into ``schema``."""
    engine = create_engine(database_url, database)
    try:
        result = await rebuild(
            projector, engine, REGISTRY, bootstrap=bootstrap, topic=topic, live_schema=schema
        )
    finally:
        await engine.dispose()
    return result.events / result.seconds
