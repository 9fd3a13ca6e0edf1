"""Reactions against the real broker and database: exactly-once effects across a kill -9 between
the append and the commit, causation and trace carried over, nothing re-appended by a rebuild.

The reacting service (reacting_process.py) qualifies every registered claim; an observer
projection counts events per type with a non-idempotent increment, so any reaction applied twice
shows as a wrong count.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text
from sqlalchemy.dialects.postgresql import insert

from amiable_events.catalog import REGISTRY
from amiable_events.db import create_engine
from amiable_events.envelope import Envelope, decode
from amiable_events.ids import caused_id
from amiable_events.producer import EventLog
from amiable_events.projection import (
    ProjectionRunner,
    ProjectionStore,
    add_runner_tables,
    rebuild,
)
from amiable_events.topics import delete_topics
from tests.factories import registered
from tests.support import create_topic, eventually, read_topic

pytestmark = pytest.mark.integration

PROCESS = Path(__file__).with_name("reacting_process.py")
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
QUALIFIED = "amiable.claims.claim-qualified.v1"

metadata = MetaData()
counts = Table(
    "counts",
    metadata,
    Column("event_type", String, primary_key=True),
    Column("events", Integer, nullable=False),
)
add_runner_tables(metadata)


class CountingProjector:
    service = "observer"
    metadata = metadata

    async def apply(self, conn, envelope: Envelope) -> None:
        statement = insert(counts).values(event_type=envelope.type, events=1)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[counts.c.event_type], set_={"events": counts.c.events + 1}
            )
        )


async def records(bootstrap: str, topic: str) -> list[Envelope]:
    return [
        decode(REGISTRY, r.key, r.value, r.headers, r.partition, r.offset)
        for r in await read_topic(bootstrap, topic)
    ]


async def stored_total(engine, schema: str) -> int:
    async with engine.connect() as conn:
        exists = await conn.scalar(
            text("SELECT to_regclass(:t) IS NOT NULL"), {"t": f'"{schema}".stored_offsets'}
        )
        if not exists:
            return 0
        return await conn.scalar(
            text(f'SELECT coalesce(sum(next_offset), 0) FROM "{schema}".stored_offsets')
        )


async def test_a_reaction_killed_between_append_and_commit_takes_effect_once(
    infra, unique, tmp_path
):
    topic = await create_topic(infra.bootstrap, f"react-{unique}")
    schema, service = f"react_{unique}", f"qualifier-{unique}"
    engine = create_engine(infra.database_url, "amiable_claims")
    env = {
        **os.environ,
        "BOOTSTRAP": infra.bootstrap,
        "DATABASE_URL": infra.database_url,
        "TOPIC": topic,
        "SCHEMA": schema,
        "SERVICE": service,
        "OTEL_SDK_DISABLED": "true",
    }
    triggers = [replace(registered(n, tenant=unique), traceparent=TRACEPARENT) for n in range(40)]
    log = EventLog(infra.bootstrap, topic=topic, client_id="reactions-test")
    await log.start()
    process = None
    observer = None
    try:
        await log.append(triggers)
        with (tmp_path / "crash.log").open("wb") as out:
            crashed = await asyncio.create_subprocess_exec(
                sys.executable,
                str(PROCESS),
                env={**env, "CRASH_AFTER_APPEND": "1"},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            await asyncio.wait_for(crashed.wait(), 120)
        assert crashed.returncode == -9, (tmp_path / "crash.log").read_text()
        assert await stored_total(engine, schema) == 0  # killed before its batch committed
        appended_before_restart = await records(infra.bootstrap, topic)
        assert Counter(e.type for e in appended_before_restart)[QUALIFIED] > 0

        with (tmp_path / "restart.log").open("wb") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable, str(PROCESS), env=env, stdout=out, stderr=subprocess.STDOUT
            )

            async def settled() -> bool:
                found = await records(infra.bootstrap, topic)
                return await stored_total(engine, schema) == len(found) and found

            await eventually(settled, timeout=60)
        in_log = await records(infra.bootstrap, topic)
        qualified = [e for e in in_log if e.type == QUALIFIED]
        assert len(qualified) > len(triggers)  # re-appended after the crash...
        assert len({e.id for e in qualified}) == len(triggers)  # ...with the same ids
        by_trigger = {t.id: t for t in triggers}
        for event in qualified:
            assert event.causation_id in by_trigger
            assert event.id == caused_id(event.causation_id, service, QUALIFIED)
            assert event.traceparent == TRACEPARENT
            assert event.correlation_id == by_trigger[event.causation_id].correlation_id

        observer_store = ProjectionStore(
            CountingProjector(), engine, REGISTRY, schema=f"observe_{unique}"
        )
        observer = ProjectionRunner(
            observer_store,
            bootstrap=infra.bootstrap,
            topic=topic,
            dlq_producer=log,
            group_id=f"observer-{unique}",
        )
        await observer.start()
        await eventually(lambda: stored_total(engine, observer_store.schema), timeout=30)

        async def observed() -> dict[str, int]:
            async with observer_store.reading() as conn:
                return dict((await conn.execute(select(counts))).all())

        await eventually(
            lambda: _equals(observed(), {QUALIFIED: 40, triggers[0].type: 40}), timeout=30
        )

        # A rebuild replays the reacting service's log into fresh tables without reacting, and
        # the live process, continuing over the swapped tables, does not react again.
        before = len(in_log)
        result = await rebuild(
            _qualifier(service),
            engine,
            REGISTRY,
            bootstrap=infra.bootstrap,
            topic=topic,
            live_schema=schema,
        )
        assert result.events == before
        await log.append([registered(1000, tenant=unique)])
        await eventually(
            lambda: _equals(observed(), {QUALIFIED: 41, triggers[0].type: 41}), timeout=60
        )
        assert len(await records(infra.bootstrap, topic)) == before + 2
    finally:
        if process is not None:
            process.terminate()
            await asyncio.wait_for(process.wait(), 20)
        if observer is not None:
            await observer.stop()
        await log.stop()
        async with engine.begin() as conn:
            for name in (schema, f"observe_{unique}"):
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        await engine.dispose()
        await delete_topics(infra.bootstrap, [topic])


def _qualifier(service: str):
    sys.path.insert(0, str(PROCESS.parent))
    try:
        from reacting_process import QualifierProjector
    finally:
        sys.path.remove(str(PROCESS.parent))
    return QualifierProjector(service)


async def _equals(awaitable, expected) -> bool:
    return (await awaitable) == expected
