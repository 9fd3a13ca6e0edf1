"""The key store against the real database: an erasure in one process reaches every other
process's cache at once (replicas share the log's partitions, so the erasure event reaches
only one of them)."""

from __future__ import annotations

import uuid

import pytest

from amiable_events.db import create_engine
from amiable_events.personal import ERASED, PostgresKeyStore, Sealer
from amiable_events.service import KEYS_DATABASE
from tests.support import eventually

pytestmark = pytest.mark.integration


async def test_a_key_erased_by_one_process_leaves_every_other_cache_at_once(infra):
    engines = [create_engine(infra.database_url, KEYS_DATABASE, pool_size=2) for _ in range(2)]
    here, there = (PostgresKeyStore(engine, ttl=3600) for engine in engines)
    await here.create_schema()
    for store in (here, there):
        await store.listen()
    try:
        await eventually(lambda: here._listening and there._listening, timeout=10)
        account = f"keys-{uuid.uuid4().hex[:10]}:D1"
        token = (await Sealer(here).sealer_for(account))("Claire Martin")
        opened = await Sealer(there).opener_for(account)
        assert opened(token) == "Claire Martin"  # ``there`` caches the key for an hour

        await Sealer(here).erase(account)

        async def erased_there() -> bool:
            return (await Sealer(there).opener_for(account))(token) == ERASED

        await eventually(erased_there, timeout=3)
    finally:
        for store in (here, there):
            await store.stop()
        for engine in engines:
            await engine.dispose()


async def test_a_process_deaf_to_erasures_trusts_no_cached_key(infra):
    engine = create_engine(infra.database_url, KEYS_DATABASE, pool_size=2)
    store = PostgresKeyStore(engine, ttl=3600)
    await store.create_schema()
    await store.listen()
    try:
        await eventually(lambda: store._listening, timeout=10)
        account = f"keys-{uuid.uuid4().hex[:10]}:D1"
        key = await store.get_or_create(account)
        store._listening = False  # as while its listening connection is being re-established
        assert store._cached(account) == (False, None)
        assert await store.get(account) == key  # read from the database, not the cache
    finally:
        await store.stop()
        await engine.dispose()
