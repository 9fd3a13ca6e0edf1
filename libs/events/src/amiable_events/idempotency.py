"""Idempotency keys a service has carried out, with the fingerprint of their first request.

Kept in the service's database, in schema ``commands``, outside the projection: a key is what a
client sent, not a fact of the log, so a rebuild neither needs nor loses it (the command path
also treats a key whose first event is already applied as seen; see ``CommandBus.seen``).

A key is scoped to the tenant, the subject (the claim) and the command type: a client that
reuses its key K on another claim, or for another command, makes another request, which is
carried out (keyed by tenant and key alone, a payment with K on claim 2 after K on claim 1 was
silently dropped). Table ``command_keys`` replaced ``idempotency_keys`` (tenant + key only); the
old table is no longer read and can be dropped once no replica of the previous version runs.
"""

from __future__ import annotations

import hashlib

import orjson
from sqlalchemy import Column, DateTime, MetaData, String, Table, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from amiable_events.commands import Scope

SCHEMA = "commands"

metadata = MetaData(schema=SCHEMA)
idempotency_keys = Table(
    "command_keys",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("subject", String, primary_key=True),
    Column("command", String, primary_key=True, comment="the command's type"),
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

    async def get(self, scope: Scope, key: str) -> str | None:
        async with self.engine.connect() as conn:
            return await conn.scalar(
                select(idempotency_keys.c.fingerprint).where(
                    idempotency_keys.c.tenant == scope.tenant,
                    idempotency_keys.c.subject == scope.subject,
                    idempotency_keys.c.command == scope.command,
                    idempotency_keys.c.key == key,
                )
            )

    async def put(self, scope: Scope, key: str, fingerprint: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(idempotency_keys)
                .values(
                    tenant=scope.tenant,
                    subject=scope.subject,
                    command=scope.command,
                    key=key,
                    fingerprint=fingerprint,
                )
                .on_conflict_do_nothing()
            )
