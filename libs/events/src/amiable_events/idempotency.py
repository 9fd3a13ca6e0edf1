"""Idempotency keys a service has carried out, with the fingerprint of their first request.

Kept in the service's database, in schema ``commands``, outside the projection: a key is what a
client sent, not a fact of the log, so a rebuild neither needs nor loses it (the command path
also treats a key whose first event is already applied as seen; see ``CommandBus.seen``).
"""

from __future__ import annotations

import hashlib

import orjson
from sqlalchemy import Column, DateTime, MetaData, String, Table, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

SCHEMA = "commands"

metadata = MetaData(schema=SCHEMA)
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("key", String, primary_key=True),
    Column("fingerprint", String, nullable=False),
    Column("first_seen", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


def fingerprint(*parts: object) -> str:
    """A stable digest of a request (route, path parameters, body as JSON)."""
    return hashlib.sha256(orjson.dumps(parts, default=str)).hexdigest()


class PostgresLedger:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(self) -> None:
        async with self.engine.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
            await conn.run_sync(metadata.create_all)

    async def get(self, tenant: str, key: str) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.scalar(
                select(idempotency_keys.c.fingerprint).where(
                    idempotency_keys.c.tenant == tenant, idempotency_keys.c.key == key
                )
            )

    async def put(self, tenant: str, key: str, fingerprint: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(idempotency_keys)
                .values(tenant=tenant, key=key, fingerprint=fingerprint)
                .on_conflict_do_nothing()
            )
