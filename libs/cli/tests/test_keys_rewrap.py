"""``amiable keys rewrap``: a KEK rotation on a key store reached through
AMIABLE_KEYS_DATABASE_URL (its own database, as in production)."""

from __future__ import annotations

import asyncio
import base64

import pytest
from typer.testing import CliRunner

from amiable_cli.main import app
from amiable_events.db import create_engine
from amiable_events.keywrap import LocalKeyWrapper
from amiable_events.personal import PostgresKeyStore
from tests.support import TEST_JWT_SECRET, scratch_database

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
            again = await asyncio.to_thread(
                rewrap, url, NEW, AMIABLE_OLD_KEY_ENCRYPTION_KEY=old
            )

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
