"""The claims read model: one row per claim and one per debtor account, folded from the log."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Uuid,
    select,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from amiable_claims.domain import Claim, evolve
from amiable_events.claims import ClaimRegistered
from amiable_events.envelope import Envelope
from amiable_events.projection import add_runner_tables

metadata = MetaData()

claims = Table(
    "claims",
    metadata,
    Column("claim_id", Uuid, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("debtor_id", String, nullable=False),
    Column("invoice_number", String, nullable=False),
    Column("amount", Numeric(20, 4), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("contract_reference", String),
    Column("purchase_order", String),
    Column("description", Text),
    Column("debtor", JSONB, nullable=False, comment="as registered; personal data stays sealed"),
    Column("status", String, nullable=False),
    Column("outstanding", Numeric(20, 4), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("idempotency_key", String),
    Column("event_id", Uuid, nullable=False),
    Index("claims_tenant_invoice", "tenant", "invoice_number"),
    Index("claims_tenant_idempotency", "tenant", "idempotency_key"),
    Index("claims_tenant_listing", "tenant", "registered_at", "claim_id"),
    Index("claims_tenant_debtor", "tenant", "debtor_id"),
)

debtor_accounts = Table(
    "debtor_accounts",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("debtor_id", String, primary_key=True),
    Column("legal_name", String, nullable=False),
    Column("country", String(2), nullable=False),
    Column("claims_registered", Integer, nullable=False),
)

add_runner_tables(metadata)


def _row(claim: Claim, event: ClaimRegistered, envelope: Envelope) -> dict:
    return {
        "claim_id": claim.claim_id,
        "tenant": claim.tenant,
        "debtor_id": claim.debtor_id,
        "invoice_number": claim.invoice_number,
        "amount": claim.amount,
        "currency": claim.currency,
        "issued_on": claim.issued_on,
        "due_on": claim.due_on,
        "contract_reference": event.contract_reference,
        "purchase_order": event.purchase_order,
        "description": event.description,
        "debtor": event.debtor.model_dump(mode="json"),
        "status": claim.status,
        "outstanding": claim.outstanding,
        "registered_at": claim.registered_at,
        "idempotency_key": event.idempotency_key,
        "event_id": envelope.id,
    }


class ClaimsProjector:
    service = "claims"
    metadata = metadata

    async def apply(self, conn: AsyncConnection, envelope: Envelope) -> None:
        await self.apply_many(conn, [envelope])

    async def apply_many(self, conn: AsyncConnection, envelopes: list[Envelope]) -> None:
        """Registrations in two statements a batch: claims, then the debtor-account counts."""
        rows, debtors = [], {}
        for envelope in envelopes:
            event = envelope.data
            if isinstance(event, ClaimRegistered):
                rows.append(_row(evolve(None, envelope), event, envelope))
                debtors[event.claim_id] = (envelope.tenant, envelope.debtor_id, event.debtor)
        if not rows:
            return
        inserted = await conn.execute(
            insert(claims).on_conflict_do_nothing().returning(claims.c.claim_id),
            rows,
        )
        counts: dict[tuple[str, str], dict] = {}
        for claim_id in inserted.scalars():
            tenant, debtor_id, debtor = debtors[claim_id]
            account = counts.setdefault(
                (tenant, debtor_id),
                {"tenant": tenant, "debtor_id": debtor_id, "claims_registered": 0},
            )
            # the last registration in log order names the debtor
            account.update(legal_name=debtor.legal_name, country=debtor.country)
            account["claims_registered"] += 1
        if not counts:
            return  # every claim id was registered before: the first registration stands
        statement = insert(debtor_accounts).values(list(counts.values()))
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[debtor_accounts.c.tenant, debtor_accounts.c.debtor_id],
                set_={
                    "legal_name": statement.excluded.legal_name,
                    "country": statement.excluded.country,
                    "claims_registered": debtor_accounts.c.claims_registered
                    + statement.excluded.claims_registered,
                },
            )
        )


class ClaimsReadModel:
    """Queries the API answers from. Every query is scoped to one tenant."""

    def __init__(self, store) -> None:
        self._store = store

    async def claim(self, tenant: str, claim_id) -> dict | None:
        async with self._store.transaction() as conn:
            row = await conn.execute(
                select(claims).where(claims.c.tenant == tenant, claims.c.claim_id == claim_id)
            )
            found = row.mappings().first()
            return dict(found) if found else None

    async def first_with_invoice(self, tenant: str, invoice_number: str) -> dict | None:
        """The earliest registered claim of ``tenant`` for ``invoice_number``."""
        async with self._store.transaction() as conn:
            row = await conn.execute(
                select(claims)
                .where(claims.c.tenant == tenant, claims.c.invoice_number == invoice_number)
                .order_by(claims.c.registered_at, claims.c.claim_id)
                .limit(1)
            )
            found = row.mappings().first()
            return dict(found) if found else None

    async def with_idempotency_key(self, tenant: str, key: str) -> dict | None:
        async with self._store.transaction() as conn:
            row = await conn.execute(
                select(claims)
                .where(claims.c.tenant == tenant, claims.c.idempotency_key == key)
                .order_by(claims.c.registered_at, claims.c.claim_id)
                .limit(1)
            )
            found = row.mappings().first()
            return dict(found) if found else None

    async def page(
        self,
        tenant: str,
        *,
        debtor_id: str | None,
        status: str | None,
        after: tuple | None,
        limit: int,
    ) -> list[dict]:
        """Claims in registration order, after the ``(registered_at, claim_id)`` cursor."""
        query = select(claims).where(claims.c.tenant == tenant)
        if debtor_id is not None:
            query = query.where(claims.c.debtor_id == debtor_id)
        if status is not None:
            query = query.where(claims.c.status == status)
        if after is not None:
            query = query.where(tuple_(claims.c.registered_at, claims.c.claim_id) > tuple_(*after))
        query = query.order_by(claims.c.registered_at, claims.c.claim_id).limit(limit)
        async with self._store.transaction() as conn:
            return [dict(row) for row in (await conn.execute(query)).mappings()]
