"""A process that reacts to the log: it qualifies every registered claim (ClaimRegistered ->
ClaimQualified). Run by test_reactions.py as a real process so that it can be killed with
SIGKILL between appending its reactions and committing its batch (``CRASH_AFTER_APPEND=1``).

Its state is one JSON row per claim, as a service keeps it in its projection.
"""

from __future__ import annotations

import asyncio
import os
import signal
from datetime import timedelta

from sqlalchemy import Column, MetaData, String, Table, select
from sqlalchemy.dialects.postgresql import JSONB, insert

from amiable_events.catalog import REGISTRY
from amiable_events.claims import ClaimQualified, ClaimRegistered
from amiable_events.db import create_engine
from amiable_events.envelope import Envelope
from amiable_events.producer import EventLog
from amiable_events.projection import ProjectionRunner, ProjectionStore, add_runner_tables
from amiable_events.reactions import Reactions, Reactor

metadata = MetaData()
claims = Table(
    "claims",
    metadata,
    Column("claim_id", String, primary_key=True),
    Column("state", JSONB, nullable=False),
)
add_runner_tables(metadata)


def evolve(state: dict | None, envelope: Envelope) -> dict:
    state = dict(state or {"qualified": False})
    if isinstance(envelope.data, ClaimQualified):
        state["qualified"] = True
    return state


def qualify(state: dict, envelope: Envelope) -> list[ClaimQualified]:
    if state["qualified"]:
        return []
    event: ClaimRegistered = envelope.data
    return [
        ClaimQualified(
            claim_id=event.claim_id,
            qualified_at=envelope.time,
            prescription_date=event.due_on + timedelta(days=5 * 365),
        )
    ]


async def load(conn, keys) -> dict[str, dict]:
    rows = await conn.execute(select(claims).where(claims.c.claim_id.in_(list(keys))))
    return {row.claim_id: row.state for row in rows}


class QualifierProjector:
    metadata = metadata

    def __init__(self, service: str) -> None:
        self.service = service

    async def apply(self, conn, envelope: Envelope) -> None:
        current = (await load(conn, [envelope.subject])).get(envelope.subject)
        statement = insert(claims).values(
            claim_id=envelope.subject, state=evolve(current, envelope)
        )
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[claims.c.claim_id], set_={"state": statement.excluded.state}
            )
        )


def reactions(service: str) -> Reactions:
    return Reactions(service=service, table={ClaimRegistered: qualify}, load=load, evolve=evolve)


class CrashingLog(EventLog):
    """Appends, then dies at once: the batch's transaction never commits."""

    async def append(self, envelopes, **options):
        appended = await super().append(envelopes, **options)
        os.kill(os.getpid(), signal.SIGKILL)
        return appended


async def main() -> None:
    env = os.environ
    service, topic = env["SERVICE"], env["TOPIC"]
    log_class = CrashingLog if env.get("CRASH_AFTER_APPEND") == "1" else EventLog
    log = log_class(env["BOOTSTRAP"], topic=topic, client_id=service)
    await log.start()
    engine = create_engine(env["DATABASE_URL"], "amiable_claims")
    store = ProjectionStore(
        QualifierProjector(service),
        engine,
        REGISTRY,
        schema=env["SCHEMA"],
        reactor=Reactor(reactions(service)),
        log=log,
    )
    runner = ProjectionRunner(
        store, bootstrap=env["BOOTSTRAP"], topic=topic, dlq_producer=log, group_id=service
    )
    await runner.start()
    try:
        await asyncio.Event().wait()
    finally:
        await runner.stop()
        await log.stop()
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main())
