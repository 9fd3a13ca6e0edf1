"""The sender's own record of what it did, in schema ``sender`` of the service's database,
outside the projection: it is what happened at the SMTP server or the gateway, not a fact of
the log, so a rebuild neither rebuilds nor loses it (like the idempotency keys).

One row per communication the sender took up:

- ``sending``: the channel is being (or was being, at a crash) handed the message;
- ``retrying``: a temporary failure; tried again from ``retry_at`` (the wall clock: a backoff is
  an operational delay, not business time);
- ``accepted``: the channel took it; ``outcome`` holds everything its events need, so they are
  appended from here after a crash, byte for byte, and the message is never sent again;
- ``failed``: for good; ``reason`` says why;
- ``recorded``: its events are in the log.

Each state is committed before the next step: ``accepted`` before the events are appended.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine

from amiable_events.db import json_text, raw

SCHEMA = "sender"
metadata = MetaData(schema=SCHEMA)
deliveries = Table(
    "deliveries",
    metadata,
    Column("communication_id", Uuid, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("debtor_id", String, nullable=False),
    Column("channel", String, nullable=False),
    Column("state", String, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("retry_at", DateTime(timezone=True)),
    Column("reason", Text),
    Column("outcome", JSONB, comment="accepted: the events' fields, content sealed"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
SETTLED = ("recorded",)


class Deliveries:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(self) -> None:
        async with self.engine.begin() as conn:
            await conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
            await conn.run_sync(metadata.create_all)

    async def get(self, communication_id: UUID) -> dict[str, Any] | None:
        async with raw(self.engine) as conn:
            row = await conn.fetchrow(
                f"SELECT * FROM {SCHEMA}.deliveries WHERE communication_id = $1", communication_id
            )
        return None if row is None else dict(row)

    async def sending(
        self, communication_id: UUID, tenant: str, debtor_id: str, channel: str
    ) -> int:
        """Record the attempt about to be made; the number of this attempt."""
        async with raw(self.engine) as conn:
            return await conn.fetchval(
                f"INSERT INTO {SCHEMA}.deliveries AS d (communication_id, tenant, debtor_id, "
                "channel, state, attempts) VALUES ($1, $2, $3, $4, 'sending', 1) "
                "ON CONFLICT (communication_id) DO UPDATE SET state = 'sending', "
                "channel = excluded.channel, attempts = d.attempts + 1, updated_at = now() "
                "RETURNING attempts",
                communication_id,
                tenant,
                debtor_id,
                channel,
            )

    async def accepted(self, communication_id: UUID, outcome: dict[str, Any]) -> None:
        await self._set(communication_id, "accepted", outcome=json_text(outcome))

    async def retrying(self, communication_id: UUID, reason: str, after: float) -> None:
        async with raw(self.engine) as conn:
            await conn.execute(
                f"UPDATE {SCHEMA}.deliveries SET state = 'retrying', reason = $2, "
                "retry_at = now() + make_interval(secs => $3), updated_at = now() "
                "WHERE communication_id = $1",
                communication_id,
                reason,
                after,
            )

    async def failed(
        self, communication_id: UUID, tenant: str, debtor_id: str, channel: str, reason: str
    ) -> None:
        async with raw(self.engine) as conn:
            await conn.execute(
                f"INSERT INTO {SCHEMA}.deliveries (communication_id, tenant, debtor_id, channel, "
                "state, reason) VALUES ($1, $2, $3, $4, 'failed', $5) "
                "ON CONFLICT (communication_id) DO UPDATE SET state = 'failed', "
                "reason = excluded.reason, updated_at = now()",
                communication_id,
                tenant,
                debtor_id,
                channel,
                reason,
            )

    async def recorded(self, communication_id: UUID) -> None:
        await self._set(communication_id, "recorded")

    async def _set(self, communication_id: UUID, state: str, **values: Any) -> None:
        columns = ", ".join(f"{name} = ${n}" for n, name in enumerate(values, start=3))
        async with raw(self.engine) as conn:
            await conn.execute(
                f"UPDATE {SCHEMA}.deliveries SET state = $2, updated_at = now()"
                + (f", {columns}" if columns else "")
                + " WHERE communication_id = $1",
                communication_id,
                state,
                *values.values(),
            )
