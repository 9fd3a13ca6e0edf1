"""The claims projection plus one table where applying an event twice shows, run as a real
process so that test_crash_and_rebuild.py can kill it with SIGKILL in the middle of its batches.

The claims projection itself absorbs a repeated event (a payment already in a claim's state is
skipped, the timeline ignores a row it holds): it cannot show a double apply. ``paid_totals``
sums each claim's payments with ``paid = paid + amount`` and no check at all, in the same
transaction as the claims tables and the stored offsets, so an event applied twice (or an
offset stored without its rows) shows as a wrong sum.

Settings from the environment: BOOTSTRAP, DATABASE_URL, TOPIC, SCHEMA, GROUP.
"""

from __future__ import annotations

import asyncio
import os
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Column, Integer, MetaData, Numeric, Table, Uuid
from sqlalchemy.dialects.postgresql import insert

from amiable_claims.adapters.projector import ClaimsProjector
from amiable_claims.adapters.tables import metadata as claims_metadata
from amiable_claims.main import policy
from amiable_claims.settings import ClaimsSettings
from amiable_events.catalog import REGISTRY
from amiable_events.claims import PaymentReceived
from amiable_events.db import create_engine
from amiable_events.producer import EventLog
from amiable_events.projection import ProjectionRunner, ProjectionStore

metadata = MetaData()
for table in claims_metadata.sorted_tables:
    table.to_metadata(metadata)
paid_totals = Table(
    "paid_totals",
    metadata,
    Column("claim_id", Uuid, primary_key=True),
    Column("paid", Numeric(20, 4), nullable=False),
    Column("payments", Integer, nullable=False),
)


class SummingClaimsProjector(ClaimsProjector):
    """The claims projector, and each batch's payments added to ``paid_totals``."""

    metadata = metadata

    async def apply_many(self, conn, envelopes) -> None:
        await super().apply_many(conn, envelopes)
        paid: dict = defaultdict(Decimal)
        payments: dict = defaultdict(int)
        for envelope in envelopes:
            if isinstance(envelope.data, PaymentReceived):
                paid[envelope.data.claim_id] += envelope.data.amount
                payments[envelope.data.claim_id] += 1
        if paid:
            statement = insert(paid_totals)
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[paid_totals.c.claim_id],
                    set_={
                        "paid": paid_totals.c.paid + statement.excluded.paid,
                        "payments": paid_totals.c.payments + statement.excluded.payments,
                    },
                ),
                [
                    {"claim_id": claim_id, "paid": amount, "payments": payments[claim_id]}
                    for claim_id, amount in paid.items()
                ],
            )


def projector() -> SummingClaimsProjector:
    return SummingClaimsProjector(policy(ClaimsSettings(env="dev")))


def store(engine, schema: str) -> ProjectionStore:
    return ProjectionStore(projector(), engine, REGISTRY, schema=schema)


async def main() -> None:
    env = os.environ
    log = EventLog(env["BOOTSTRAP"], topic=env["TOPIC"], client_id="paying-process")
    await log.start()
    engine = create_engine(env["DATABASE_URL"], "amiable_claims")
    runner = ProjectionRunner(
        store(engine, env["SCHEMA"]),
        bootstrap=env["BOOTSTRAP"],
        topic=env["TOPIC"],
        dlq_producer=log,
        group_id=env["GROUP"],
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
