"""Personal data in events: sealed with a per-debtor-account AES-GCM key (crypto-shredding).

The log is immutable, so erasing a debtor deletes its key: every copy of its personal data, in
the log and in projections, becomes unreadable at once. Readers then get :data:`ERASED`, never
an exception.
"""

from __future__ import annotations

import base64
import os
import time
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, DateTime, LargeBinary, MetaData, String, Table, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from amiable_events.base import SEALED_PREFIX

ERASED = "[erased]"
_NONCE_BYTES = 12


class KeyStore(Protocol):
    async def get(self, account: str) -> bytes | None: ...
    async def get_or_create(self, account: str) -> bytes: ...
    async def delete(self, account: str) -> None: ...


keys_metadata = MetaData()
debtor_keys = Table(
    "debtor_keys",
    keys_metadata,
    Column("account", String, primary_key=True),
    Column("key", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


class PostgresKeyStore:
    """Keys in the ``amiable_keys`` database, cached in-process for ``ttl`` seconds."""

    def __init__(self, engine: AsyncEngine, ttl: float = 30.0) -> None:
        self._engine = engine
        self._ttl = ttl
        self._cache: dict[str, tuple[float, bytes | None]] = {}

    async def create_schema(self) -> None:
        async with self._engine.begin() as conn:
            await conn.run_sync(keys_metadata.create_all)

    def _cached(self, account: str) -> tuple[bool, bytes | None]:
        hit = self._cache.get(account)
        if hit and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def _remember(self, account: str, key: bytes | None) -> None:
        if len(self._cache) > 100_000:
            self._cache.clear()
        self._cache[account] = (time.monotonic() + self._ttl, key)

    async def get(self, account: str) -> bytes | None:
        found, key = self._cached(account)
        if found:
            return key
        async with self._engine.connect() as conn:
            key = await conn.scalar(
                select(debtor_keys.c.key).where(debtor_keys.c.account == account)
            )
        self._remember(account, key)
        return key

    async def get_or_create(self, account: str) -> bytes:
        found, key = self._cached(account)
        if found and key is not None:
            return key
        async with self._engine.begin() as conn:
            await conn.execute(
                insert(debtor_keys)
                .values(account=account, key=AESGCM.generate_key(bit_length=256))
                .on_conflict_do_nothing()
            )
            key = await conn.scalar(
                select(debtor_keys.c.key).where(debtor_keys.c.account == account)
            )
        self._remember(account, key)
        return key

    async def delete(self, account: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(debtor_keys.delete().where(debtor_keys.c.account == account))
        self._remember(account, None)


def seal_with(key: bytes, account: str, plaintext: str) -> str:
    nonce = os.urandom(_NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), account.encode())
    return SEALED_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def open_with(key: bytes | None, account: str, token: str) -> str:
    """The plaintext of ``token``, or :data:`ERASED` when the key is gone or does not fit."""
    if key is None or not token.startswith(SEALED_PREFIX):
        return ERASED
    try:
        raw = base64.urlsafe_b64decode(token[len(SEALED_PREFIX) :])
        return (
            AESGCM(key).decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], account.encode()).decode()
        )
    except (InvalidTag, ValueError):
        return ERASED


class Sealer:
    """Seals and opens one debtor account's personal data through a key store."""

    def __init__(self, keys: KeyStore) -> None:
        self._keys = keys

    async def sealer_for(self, account: str):
        key = await self._keys.get_or_create(account)
        return lambda plaintext: seal_with(key, account, plaintext)

    async def opener_for(self, account: str):
        key = await self._keys.get(account)
        return lambda token: None if token is None else open_with(key, account, token)

    async def erase(self, account: str) -> None:
        await self._keys.delete(account)
