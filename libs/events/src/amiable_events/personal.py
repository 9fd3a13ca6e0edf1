"""Personal data in events: sealed with a per-debtor-account AES-GCM key (crypto-shredding).

The log is immutable, so erasing a debtor deletes its key: every copy of its personal data, in
the log and in projections, becomes unreadable at once. Readers then get :data:`ERASED`, never
an exception. The keys are stored wrapped by a key-encryption key (amiable_events.keywrap): a
key that is there but does not open with the configured KEK raises
:class:`~amiable_events.keywrap.KeyUnwrapError`, so that a wrong KEK never passes for erasure.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Column, DateTime, LargeBinary, MetaData, String, Table, func, text
from sqlalchemy.ext.asyncio import AsyncEngine

from amiable_events.base import SEALED_PREFIX
from amiable_events.db import raw
from amiable_events.keywrap import KeyUnwrapError, KeyWrapper, key_wrappers

if TYPE_CHECKING:
    from amiable_events.settings import ServiceSettings

ERASED = "[erased]"
_NONCE_BYTES = 12
#: NOTIFY channel on the keys database: the account whose key was just deleted.
ERASED_CHANNEL = "amiable_erased_keys"

log = logging.getLogger(__name__)


class KeyStore(Protocol):
    async def get(self, account: str) -> bytes | None: ...
    async def get_or_create(self, account: str) -> bytes: ...
    async def delete(self, account: str) -> None: ...
    def forget(self, account: str) -> None: ...


keys_metadata = MetaData()
debtor_keys = Table(
    "debtor_keys",
    keys_metadata,
    Column("account", String, primary_key=True),
    # Wrapped by the key-encryption key that ``kek`` names (amiable_events.keywrap). NULL: the
    # key in clear, as stored before keys were wrapped; wrapped on its first read, or by
    # ``amiable keys rewrap``.
    Column("key", LargeBinary, nullable=False),
    Column("kek", String, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


_KEY = "SELECT key, kek FROM debtor_keys WHERE account = $1"
_NEW_KEY = (
    "INSERT INTO debtor_keys (account, key, kek) VALUES ($1, $2, $3) "
    "ON CONFLICT DO NOTHING RETURNING account"
)
_NEW_KEYS = (
    "INSERT INTO debtor_keys (account, key, kek) "
    "SELECT account, key, $3 FROM unnest($1::text[], $2::bytea[]) AS given(account, key) "
    "ON CONFLICT DO NOTHING"
)
# Only over the row as it was read: a row erased or rewrapped meanwhile is left alone.
_REWRAP = (
    "UPDATE debtor_keys AS stored SET key = given.key, kek = $4 "
    "FROM unnest($1::text[], $2::bytea[], $3::text[]) AS given(account, key, kek) "
    "WHERE stored.account = given.account AND stored.kek IS NOT DISTINCT FROM given.kek"
)
_BATCH = "SELECT account, key, kek FROM debtor_keys WHERE account > $1 ORDER BY account LIMIT $2"
_HAS_KEK_COLUMN = (
    "SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() "
    "AND table_name = 'debtor_keys' AND column_name = 'kek'"
)
_SHRED_OLDER = (
    "DELETE FROM debtor_keys AS stored "
    "USING unnest($1::text[], $2::timestamptz[]) AS erased(account, at) "
    "WHERE stored.account = erased.account AND stored.created_at <= erased.at "
    "RETURNING stored.account"
)
_NOTIFY_ERASED = "SELECT pg_notify($1, account) FROM unnest($2::text[]) AS erased(account)"
_ADD_KEK_COLUMN = "ALTER TABLE debtor_keys ADD COLUMN IF NOT EXISTS kek text"
_ONE_KEK = "SELECT kek FROM debtor_keys WHERE kek IS NOT NULL LIMIT 1"


@dataclass(frozen=True)
class Rewrapped:
    rewrapped: int
    current: int


class PostgresKeyStore:
    """Keys in the ``amiable_keys`` database, wrapped by ``wrapper``; ``older`` wrappers open
    the keys a previous KEK wrapped (a rotation under way). Cached in-process, unwrapped, for
    ``ttl`` seconds.

    A deletion NOTIFYs every process (:meth:`listen`), which drops the key from its cache at
    once: replicas share the log's partitions, so the erasure event reaches only one of them.
    While a listening process has lost its listening connection, it caches nothing.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        wrapper: KeyWrapper,
        older: Sequence[KeyWrapper] = (),
        *,
        ttl: float = 30.0,
    ) -> None:
        self._engine = engine
        self._wrapper = wrapper
        self._wrappers = {w.key_id: w for w in (*older, wrapper)}
        self._ttl = ttl
        self._cache: dict[str, tuple[float, bytes | None]] = {}
        self._listener: asyncio.Task | None = None
        self._listening = False

    @property
    def key_id(self) -> str:
        """The KEK new keys are wrapped with."""
        return self._wrapper.key_id

    async def create_schema(self) -> None:
        """Create the table if missing, and refuse to start on a key store whose keys this
        process cannot open (a wrong KEK would otherwise fail every debtor's reads, one by
        one). One wrapped row is looked at: a whole table of keys is not read at each start."""
        async with self._engine.begin() as conn:
            await conn.run_sync(keys_metadata.create_all)
            # A key store made before keys were wrapped. Looked up first: ALTER TABLE locks the
            # table even when there is nothing to add, and would queue every key read behind a
            # backup's long read of it.
            if (await conn.execute(text(_HAS_KEK_COLUMN))).first() is None:
                await conn.execute(text(_ADD_KEK_COLUMN))
            kek = await conn.scalar(text(_ONE_KEK))
        if kek is not None and kek not in self._wrappers:
            raise KeyUnwrapError(
                f"the key store holds keys wrapped by KEK {kek}, and this process has only "
                f"{', '.join(self._wrappers)}: set AMIABLE_KEY_ENCRYPTION_KEY to the KEK that "
                "wrapped them (AMIABLE_OLD_KEY_ENCRYPTION_KEY while rotating it)"
            )

    def _cached(self, account: str) -> tuple[bool, bytes | None]:
        if self._listener is not None and not self._listening:
            return False, None  # deaf to other replicas' erasures: trust no cached key
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
        async with raw(self._engine) as conn:
            key = await self._read(conn, account)
        self._remember(account, key)
        return key

    async def get_or_create(self, account: str) -> bytes:
        found, key = self._cached(account)
        if found and key is not None:
            return key
        # On every registration of a new debtor: asyncpg straight, one round trip for a new
        # key; a key another request made first is read by a statement of its own, which sees
        # it committed.
        key = AESGCM.generate_key(bit_length=256)
        wrapped = await self._wrapper.wrap(key, account)
        async with raw(self._engine) as conn:
            if await conn.fetchval(_NEW_KEY, account, wrapped, self._wrapper.key_id) is None:
                key = await self._read(conn, account)
        self._remember(account, key)
        return key

    async def _read(self, conn, account: str) -> bytes | None:
        row = await conn.fetchrow(_KEY, account)
        if row is None:
            return None
        key = await self._unwrap(account, row["key"], row["kek"])
        if row["kek"] != self._wrapper.key_id:
            await conn.execute(_REWRAP, *await self._rewrapped([(account, key, row["kek"])]))
        return key

    async def _unwrap(self, account: str, stored: bytes, kek: str | None) -> bytes:
        if kek is None:
            return stored  # stored in clear, before keys were wrapped
        wrapper = self._wrappers.get(kek)
        if wrapper is None:
            raise KeyUnwrapError(
                f"the key of {account} is wrapped by KEK {kek}, and this process has only "
                f"{', '.join(self._wrappers)}: set AMIABLE_KEY_ENCRYPTION_KEY to the KEK that "
                "wrapped it (AMIABLE_OLD_KEY_ENCRYPTION_KEY while rotating it)"
            )
        return await wrapper.unwrap(stored, account)

    async def _rewrapped(self, rows: Sequence[tuple[str, bytes, str | None]]) -> tuple:
        """:data:`_REWRAP`'s arguments: these (account, key in clear, kek read) rows wrapped by
        the current wrapper."""
        wrapped = [await self._wrapper.wrap(key, account) for account, key, _ in rows]
        return [r[0] for r in rows], wrapped, [r[2] for r in rows], self._wrapper.key_id

    async def put(self, keys: Mapping[str, bytes]) -> None:
        """Store these accounts' keys, wrapped; an account that has a key keeps it."""
        wrapped = [await self._wrapper.wrap(key, account) for account, key in keys.items()]
        async with raw(self._engine) as conn:
            await conn.execute(_NEW_KEYS, list(keys), wrapped, self._wrapper.key_id)

    async def rewrap(self, batch: int = 500) -> Rewrapped:
        """Wrap every key with the current wrapper: keys in clear and keys of an older KEK. A
        key already current is left as it is, so an interrupted run is simply run again."""
        rewrapped = current = 0
        after = ""
        while True:
            async with raw(self._engine) as conn:
                rows = await conn.fetch(_BATCH, after, batch)
                if not rows:
                    return Rewrapped(rewrapped, current)
                stale = [r for r in rows if r["kek"] != self._wrapper.key_id]
                opened = [
                    (r["account"], await self._unwrap(r["account"], r["key"], r["kek"]), r["kek"])
                    for r in stale
                ]
                status = await conn.execute(_REWRAP, *await self._rewrapped(opened))
            rewrapped += int(status.split()[-1])
            current += len(rows) - len(stale)
            after = rows[-1]["account"]

    async def shred_again(self, erasures: Mapping[str, datetime]) -> list[str]:
        """Delete the key of each account erased at the given time if the key is older: after a
        restore from a backup, which brought back the keys of debtors erased since. A key made
        after its account's erasure (the debtor registered again) is new data's, and stays.
        Every process is told, as by :meth:`delete`. The accounts whose key went."""
        async with raw(self._engine) as conn, conn.transaction():
            shredded = [
                row["account"]
                for row in await conn.fetch(_SHRED_OLDER, list(erasures), list(erasures.values()))
            ]
            await conn.execute(_NOTIFY_ERASED, ERASED_CHANNEL, shredded)
        for account in shredded:
            self._remember(account, None)
        return shredded

    async def delete(self, account: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(debtor_keys.delete().where(debtor_keys.c.account == account))
            # Delivered at commit, to every listening process (this one included).
            await conn.execute(
                text("SELECT pg_notify(:channel, :account)"),
                {"channel": ERASED_CHANNEL, "account": account},
            )
        self._remember(account, None)

    def forget(self, account: str) -> None:
        """Drop the cached key: the next use reads the store (an erasure was applied)."""
        self._cache.pop(account, None)

    async def listen(self) -> None:
        """Start dropping the keys any process deletes, as they are deleted."""
        self._listener = asyncio.create_task(self._listen(), name="keys-erased-listener")

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener

    async def _listen(self) -> None:
        while True:
            try:
                async with self._engine.connect() as conn:
                    raw = (await conn.get_raw_connection()).driver_connection
                    lost = asyncio.Event()
                    raw.add_termination_listener(lambda _, lost=lost: lost.set())
                    await raw.add_listener(
                        ERASED_CHANNEL, lambda _conn, _pid, _channel, account: self.forget(account)
                    )
                    self._cache.clear()  # what was erased while deaf is read again
                    self._listening = True
                    await lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the keys database is away: retried below
                log.warning("keys: listening for erasures failed: %s", type(exc).__name__)
            finally:
                self._listening = False
            await asyncio.sleep(1.0)


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


def key_store(settings: ServiceSettings, engine: AsyncEngine, **options) -> PostgresKeyStore:
    """The key store on ``engine`` with the wrappers the settings name."""
    wrapper, older = key_wrappers(settings)
    return PostgresKeyStore(engine, wrapper, older, **options)


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

    async def text_opener_for(self, account: str):
        """Opens free text that may be sealed: a sealed value is opened, text recorded in clear
        before it was sealed is given as is."""
        opened = await self.opener_for(account)
        return lambda text: (
            opened(text) if text is not None and text.startswith(SEALED_PREFIX) else text
        )

    async def erase(self, account: str) -> None:
        """Shred the account's key: every value sealed with it reads as :data:`ERASED`."""
        await self._keys.delete(account)

    def forget(self, account: str) -> None:
        """Drop this process's cached key of ``account`` (every replica does, on the erasure
        event), so no replica opens an erased account's data from its cache."""
        self._keys.forget(account)
