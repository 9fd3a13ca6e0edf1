"""``amiable keys``: a KEK rotation (``rewrap``) and the erasures shredded again after a
restore (``replay-erasures``), on a key store reached through AMIABLE_KEYS_DATABASE_URL (a
database of its own, as in production)."""

from __future__ import annotations

import asyncio
import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from amiable_cli.main import app
from amiable_events.claims import DebtorPersonalDataErased
from amiable_events.db import create_engine
from amiable_events.envelope import Envelope
from amiable_events.keywrap import LocalKeyWrapper
from amiable_events.personal import PostgresKeyStore
from amiable_events.producer import EventLog
from tests.support import TEST_JWT_SECRET, scratch_database, service_key_store

pytestmark = pytest.mark.integration

OLD, NEW = b"o" * 32, b"n" * 32


def rewrap(url: str, kek: bytes, *options: str, **env: str):
    runner = CliRunner(
        env={
            "AMIABLE_ENV": "prod",
            "AMIABLE_JWT_SECRET": TEST_JWT_SECRET,
            "AMIABLE_KEYS_DATABASE_URL": url,
            "AMIABLE_KEY_ENCRYPTION_KEY": base64.b64encode(kek).decode(),
            "AMIABLE_OLD_KEY_ENCRYPTION_KEY": None,
            **env,
        }
    )
    return runner.invoke(app, ["keys", "rewrap", *options])


async def test_rewrap_with_the_old_kek_moves_every_key_to_the_current_one(infra):
    async with scratch_database(infra.database_url, "amiable_keys_cli") as database:
        url = f"{infra.database_url}/{database}"
        engine = create_engine(url, pool_size=1)
        try:
            before = PostgresKeyStore(engine, LocalKeyWrapper(OLD))
            await before.create_schema()
            keys = {account: await before.get_or_create(account) for account in ("a:1", "a:2")}
            old = base64.b64encode(OLD).decode()

            # The commands run their own event loops (asyncio.run): in a thread.
            refused = await asyncio.to_thread(rewrap, url, NEW)
            rotated = await asyncio.to_thread(rewrap, url, NEW, "--old-kek", old)
            again = await asyncio.to_thread(rewrap, url, NEW, AMIABLE_OLD_KEY_ENCRYPTION_KEY=old)

            new_id = LocalKeyWrapper(NEW).key_id
            assert refused.exit_code == 1
            assert f"wrapped by KEK {LocalKeyWrapper(OLD).key_id}" in refused.output
            assert rotated.exit_code == 0, rotated.output
            assert f"rewrapped 2 keys with KEK {new_id}; 0 already" in rotated.output
            assert f"rewrapped 0 keys with KEK {new_id}; 2 already" in again.output
            after = PostgresKeyStore(engine, LocalKeyWrapper(NEW))
            assert {account: await after.get(account) for account in keys} == keys
        finally:
            await engine.dispose()


def replay_erasures(infra, url: str, topic: str, *options: str):
    runner = CliRunner(
        env={
            "AMIABLE_ENV": "test",
            "AMIABLE_JWT_SECRET": TEST_JWT_SECRET,
            "AMIABLE_KAFKA_BOOTSTRAP": infra.bootstrap,
            "AMIABLE_TOPIC": topic,
            "AMIABLE_KEYS_DATABASE_URL": url,
        }
    )
    return runner.invoke(app, ["keys", "replay-erasures", *options])


def erasure(tenant: str, debtor: str) -> Envelope:
    now = datetime.now(UTC)
    event = DebtorPersonalDataErased(debtor_id=debtor, erased_at=now)
    return Envelope(
        id=uuid.uuid4(),
        subject=event.subject,
        time=now,
        tenant=tenant,
        debtor_id=debtor,
        correlation_id=uuid.uuid4(),
        data=event,
    )


async def test_replay_erasures_shreds_the_keys_a_restore_brought_back(infra, fresh_topic):
    topic = await fresh_topic("keys-erasures")
    async with scratch_database(infra.database_url, "amiable_keys_cli") as database:
        url = f"{infra.database_url}/{database}"
        engine = create_engine(url, pool_size=1)
        try:
            keys = service_key_store(engine)
            await keys.create_schema()
            # As restored from a backup taken before acme:erased was erased.
            await keys.get_or_create("acme:erased")
            await keys.get_or_create("acme:kept")
            log = EventLog(infra.bootstrap, topic=topic, client_id="test-erasures")
            await log.start()
            try:
                await log.append([erasure("acme", "erased"), erasure("acme", "again")])
            finally:
                await log.stop()
            # Registered again after its erasure: a new key, for new data.
            again = await keys.get_or_create("acme:again")

            later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
            nothing_since = await asyncio.to_thread(
                replay_erasures, infra, url, topic, "--since", later
            )
            replayed = await asyncio.to_thread(replay_erasures, infra, url, topic)

            assert nothing_since.exit_code == 0, nothing_since.output
            assert "0 debtor accounts erased on the log; 0 keys shredded" in nothing_since.output
            assert replayed.exit_code == 0, replayed.output
            assert "2 debtor accounts erased on the log; 1 keys shredded" in replayed.output
            assert "  acme:erased" in replayed.output
            fresh = service_key_store(engine)
            assert await fresh.get("acme:erased") is None
            assert await fresh.get("acme:again") == again
            assert await fresh.get("acme:kept") is not None
        finally:
            await engine.dispose()
