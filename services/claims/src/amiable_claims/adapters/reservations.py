"""Invoice numbers reserved in PostgreSQL: a tenant's invoice number names one claim, across
every replica.

The in-process lock of a registration covers one process only; two replicas (or a POST and an
import on one) could both find a number free in the read model and both append. So a
registration reserves ``(tenant, invoice_number) -> claim_id`` here, under a primary key, before
it appends: of two concurrent registrations exactly one gets the number, the other is a 409
naming the holder. The table lives in schema ``registrations`` of the service's database,
outside the projection (like the idempotency ledger in ``commands``): a reservation is not a
fact of the log, so a rebuild neither needs nor loses it.

A reservation is never released: a claim id is forever, and so is its invoice number. The one
way it goes wrong is a reservation whose registration never reached the log (the process died
between the reservation and the append, or the append failed). The choice, kept simple:

- the retry names the same claim, so it reuses the reservation: a registration with an
  Idempotency-Key derives its claim id from the key, an imported row from its invoice number;
- otherwise the reservation is taken over once it is older than ``grace`` (5 minutes, by the
  database's clock, far longer than an append) and the claim it names is, after catching up
  with the holder's debtor account, not in the read model with this invoice number. Until then
  a registration without a key gets a 409 naming a claim it cannot read: the price of never
  giving one number to two claims.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from sqlalchemy import (
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Uuid,
    func,
    text,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from amiable_events.db import raw

SCHEMA = "registrations"
GRACE = timedelta(minutes=5)

metadata = MetaData(schema=SCHEMA)
invoice_numbers = Table(
    "invoice_numbers",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("invoice_number", String, primary_key=True),
    Column("claim_id", Uuid, nullable=False),
    Column("debtor_id", String, nullable=False, comment="the holder's debtor account"),
    Column("reserved_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)


# Every number in one statement, as arrays: 50,000 numbers are four parameters, not 150,000.
# A number already reserved is updated to itself, so that the statement returns its holder as
# committed, also by a transaction the insert waited on (DO NOTHING would return nothing, and a
# second statement would cost a round trip on every registration).
_RESERVE = f"""INSERT INTO "{SCHEMA}".invoice_numbers AS held
        (tenant, invoice_number, claim_id, debtor_id)
    SELECT $1, number, claim_id, debtor_id
    FROM unnest($2::text[], $3::uuid[], $4::text[]) AS wanted(number, claim_id, debtor_id)
    ON CONFLICT (tenant, invoice_number) DO UPDATE SET claim_id = held.claim_id
    RETURNING held.invoice_number, held.claim_id, held.debtor_id,
        held.reserved_at < now() - $5::interval AS stale"""


@dataclass(frozen=True)
class Holder:
    """The claim an invoice number is reserved for."""

    claim_id: UUID
    debtor_id: str
    stale: bool  # reserved longer ago than the grace period


class InvoiceReservations:
    def __init__(self, engine: AsyncEngine, *, grace: timedelta = GRACE) -> None:
        self.engine = engine
        self.grace = grace
        self._created = False

    async def _create(self) -> None:
        """Created on first use (replicas start together: an advisory lock serialises it)."""
        if self._created:
            return
        async with self.engine.begin() as conn:
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('registrations'))"))
            await conn.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"')
            await conn.run_sync(metadata.create_all)
        self._created = True

    async def reserve(self, tenant: str, wanted: dict[str, tuple[UUID, str]]) -> dict[str, Holder]:
        """Reserve each invoice number of ``wanted`` (number -> claim id, debtor id) unless it
        is already reserved; answers the numbers another claim holds, with that holder (a
        number reserved earlier for the same claim is the caller's)."""
        if not wanted:
            return {}
        await self._create()
        numbers = list(wanted)
        arrays = (
            tenant,
            numbers,
            [wanted[number][0] for number in numbers],
            [wanted[number][1] for number in numbers],
        )
        # On asyncpg straight: this runs on every registration.
        async with raw(self.engine) as conn:
            rows = await conn.fetch(_RESERVE, *arrays, self.grace)
        return {
            row["invoice_number"]: Holder(row["claim_id"], row["debtor_id"], row["stale"])
            for row in rows
            if row["claim_id"] != wanted[row["invoice_number"]][0]
        }

    async def take_over(
        self, tenant: str, invoice_number: str, holder: UUID, claim_id: UUID, debtor_id: str
    ) -> bool:
        """Move a stale reservation of ``holder`` to ``claim_id``; False if it changed or is
        not stale (another registration took it over first, or it is recent)."""
        async with self.engine.begin() as conn:
            moved = await conn.execute(
                invoice_numbers.update()
                .where(
                    invoice_numbers.c.tenant == tenant,
                    invoice_numbers.c.invoice_number == invoice_number,
                    invoice_numbers.c.claim_id == holder,
                    invoice_numbers.c.reserved_at < func.now() - self.grace,
                )
                .values(claim_id=claim_id, debtor_id=debtor_id, reserved_at=func.now())
            )
            return moved.rowcount == 1
