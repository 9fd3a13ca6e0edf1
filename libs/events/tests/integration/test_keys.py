"""The key store against the real database: keys stored wrapped by the KEK (a clear row from
before wrapping still opens, a wrong KEK is an error and never an erasure, a rotation rewraps
every row), and an erasure in one process reaches every other process's cache at once
(replicas share the log's partitions, so the erasure event reaches only one of them)."""

from __future__ import annotations

import uuid

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from amiable_events.db import create_engine, raw
from amiable_events.keywrap import KeyUnwrapError, LocalKeyWrapper
from amiable_events.personal import ERASED, PostgresKeyStore, Rewrapped, Sealer, seal_with
from amiable_events.service import KEYS_DATABASE
from tests.support import eventually, scratch_database, service_key_store

pytestmark = pytest.mark.integration

OLD_KEK = LocalKeyWrapper(b"o" * 32)
NEW_KEK = LocalKeyWrapper(b"n" * 32)


@pytest.fixture
async def keys_engine(infra):
    """A key store database of the test's own: a rewrap works on the whole table."""
    async with scratch_database(infra.database_url, "amiable_keys_test") as database:
        engine = create_engine(infra.database_url, database, pool_size=2)
        await PostgresKeyStore(engine, NEW_KEK).create_schema()
        try:
            yield engine
        finally:
            await engine.dispose()


async def stored(engine, account: str):
    async with raw(engine) as conn:
        return await conn.fetchrow("SELECT key, kek FROM debtor_keys WHERE account = $1", account)


async def store_in_clear(engine, account: str, key: bytes) -> None:
    """A row as the key store wrote them before keys were wrapped."""
    async with raw(engine) as conn:
        await conn.execute("INSERT INTO debtor_keys (account, key) VALUES ($1, $2)", account, key)


async def test_a_stored_key_is_wrapped_by_the_kek_and_is_not_the_key(keys_engine):
    key = await PostgresKeyStore(keys_engine, NEW_KEK).get_or_create("acme:D1")
    row = await stored(keys_engine, "acme:D1")
    assert row["kek"] == NEW_KEK.key_id
    assert key not in row["key"]
    assert await NEW_KEK.unwrap(row["key"], "acme:D1") == key


async def test_a_wrong_kek_is_a_clear_error_never_an_erasure(keys_engine):
    token = (await Sealer(PostgresKeyStore(keys_engine, OLD_KEK)).sealer_for("acme:D1"))("Claire")
    misconfigured = PostgresKeyStore(keys_engine, NEW_KEK)
    with pytest.raises(KeyUnwrapError, match=f"wrapped by KEK {OLD_KEK.key_id}.*{NEW_KEK.key_id}"):
        await misconfigured.create_schema()  # at start
    with pytest.raises(KeyUnwrapError, match=f"wrapped by KEK {OLD_KEK.key_id}.*{NEW_KEK.key_id}"):
        await Sealer(misconfigured).opener_for("acme:D1")  # and should it have started anyway
    rotating = Sealer(PostgresKeyStore(keys_engine, NEW_KEK, older=[OLD_KEK]))
    assert (await rotating.opener_for("acme:D1"))(token) == "Claire"


async def test_a_wrapped_key_moved_onto_another_account_does_not_open(keys_engine):
    store = PostgresKeyStore(keys_engine, NEW_KEK)
    await store.get_or_create("acme:D1")
    async with raw(keys_engine) as conn:
        await conn.execute(
            "INSERT INTO debtor_keys (account, key, kek) "
            "SELECT 'acme:D2', key, kek FROM debtor_keys WHERE account = 'acme:D1'"
        )
    with pytest.raises(KeyUnwrapError, match="altered or moved"):
        await store.get("acme:D2")


async def test_a_key_stored_in_clear_before_wrapping_opens_and_is_wrapped_on_first_read(
    keys_engine,
):
    key = AESGCM.generate_key(bit_length=256)
    await store_in_clear(keys_engine, "acme:D1", key)
    token = seal_with(key, "acme:D1", "Claire Martin")

    opened = await Sealer(PostgresKeyStore(keys_engine, NEW_KEK)).opener_for("acme:D1")

    assert opened(token) == "Claire Martin"
    row = await stored(keys_engine, "acme:D1")
    assert row["kek"] == NEW_KEK.key_id and key not in row["key"]


async def test_rewrap_moves_every_key_to_the_new_kek_and_the_old_one_opens_none(keys_engine):
    before = PostgresKeyStore(keys_engine, OLD_KEK)
    keys = {f"acme:D{n}": await before.get_or_create(f"acme:D{n}") for n in range(1, 4)}
    keys["acme:D4"] = AESGCM.generate_key(bit_length=256)
    await store_in_clear(keys_engine, "acme:D4", keys["acme:D4"])
    rotating = PostgresKeyStore(keys_engine, NEW_KEK, older=[OLD_KEK])

    assert await rotating.rewrap(batch=3) == Rewrapped(rewrapped=4, current=0)

    after = PostgresKeyStore(keys_engine, NEW_KEK)
    assert {account: await after.get(account) for account in keys} == keys
    assert await rotating.rewrap() == Rewrapped(rewrapped=0, current=4)
    with pytest.raises(KeyUnwrapError):
        await PostgresKeyStore(keys_engine, OLD_KEK).get("acme:D1")


async def test_erasing_a_wrapped_key_reads_as_erased(keys_engine):
    sealer = Sealer(PostgresKeyStore(keys_engine, NEW_KEK))
    token = (await sealer.sealer_for("acme:D1"))("Claire Martin")
    await sealer.erase("acme:D1")
    assert (await sealer.opener_for("acme:D1"))(token) == ERASED
    assert await stored(keys_engine, "acme:D1") is None


async def test_a_key_erased_by_one_process_leaves_every_other_cache_at_once(infra):
    engines = [create_engine(infra.database_url, KEYS_DATABASE, pool_size=2) for _ in range(2)]
    here, there = (service_key_store(engine, ttl=3600) for engine in engines)
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
    store = service_key_store(engine, ttl=3600)
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
