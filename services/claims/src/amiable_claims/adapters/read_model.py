"""The queries the API and the command bus answer from. Every query is scoped to one tenant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import (
    Text,
    cast,
    or_,
    select,
    tuple_,
)

from amiable_claims.adapters.tables import claim_events, claims, debtor_accounts
from amiable_claims.domain.state import Claim
from amiable_events.commands import Loaded
from amiable_events.dunning import ClaimEscalated
from amiable_events.envelope import Envelope, account_key
from amiable_events.registry import Registry


@dataclass(frozen=True)
class ClaimRecord:
    """A claim as the read model holds it: its domain state (validated once, here) and what the
    API shows beside it (the debtor as registered and amended, personal data sealed, and the
    reference fields)."""

    claim: Claim
    debtor: dict[str, Any]
    contract_reference: str | None
    purchase_order: str | None
    description: str | None

    @property
    def claim_id(self) -> UUID:
        return self.claim.claim_id

    @property
    def tenant(self) -> str:
        return self.claim.tenant

    @property
    def debtor_id(self) -> str:
        return self.claim.debtor_id

    @property
    def account(self) -> str:
        return account_key(self.claim.tenant, self.claim.debtor_id)


def _record(row) -> ClaimRecord:
    """A row of ``_RECORD`` (or ``_RECORD_SQL``): its state comes as JSON text, which pydantic
    validates in one pass, faster than decoding it to Python first."""
    return ClaimRecord(
        claim=Claim.model_validate_json(row["state"]),
        debtor=row["debtor"],
        contract_reference=row["contract_reference"],
        purchase_order=row["purchase_order"],
        description=row["description"],
    )


_RECORD = (
    cast(claims.c.state, Text).label("state"),
    claims.c.debtor,
    claims.c.contract_reference,
    claims.c.purchase_order,
    claims.c.description,
)


# The command path's reads, written for asyncpg (ProjectionStore.fetch): each runs on every
# registration, where SQLAlchemy's statement building cost more than the query.
_RECORD_SQL = (
    "SELECT state::text AS state, debtor, contract_reference, purchase_order, description"
    " FROM {schema}.claims"
)
_CLAIM = _RECORD_SQL + " WHERE tenant = $1 AND claim_id = $2"
# An open claim of the debtor ($2) with the same amount, currency and dates ($3 to $6).
_LOOK_ALIKE = """SELECT claim_id FROM {schema}.claims
    WHERE tenant = $1 AND debtor_id = $2 AND amount = $3 AND currency = $4
        AND issued_on = $5 AND due_on = $6 AND status IN ('registered', 'qualified', 'escalated')
    ORDER BY registered_at, claim_id LIMIT 1"""
_REGISTRATION_CHECKS = f"""SELECT
    (SELECT claim_id FROM {{schema}}.claims WHERE tenant = $1 AND invoice_number = $7
        ORDER BY registered_at, claim_id LIMIT 1) AS taken_by,
    ({_LOOK_ALIKE}) AS look_alike"""


class ClaimsReadModel:
    """Queries the API answers from. Every query is scoped to one tenant."""

    def __init__(self, store, registry: Registry) -> None:
        self._store = store
        self._registry = registry

    async def _one(self, query) -> dict | None:
        async with self._store.reading() as conn:
            found = (await conn.execute(query)).mappings().first()
            return dict(found) if found else None

    async def _all(self, query) -> list[dict]:
        async with self._store.reading() as conn:
            return [dict(row) for row in (await conn.execute(query)).mappings()]

    async def _records(self, query) -> list[ClaimRecord]:
        return [_record(row) for row in await self._all(query)]

    async def claim(self, tenant: str, claim_id) -> ClaimRecord | None:
        row = await self._store.fetchrow(_CLAIM, tenant, claim_id)
        return None if row is None else _record(row)

    async def load(self, tenant: str, claim_id: UUID) -> Loaded[Claim] | None:
        """The claim's state, for the command bus."""
        row = await self._store.fetchrow(
            "SELECT state::text AS state, debtor_id FROM {schema}.claims"
            " WHERE tenant = $1 AND claim_id = $2",
            tenant,
            claim_id,
        )
        if row is None:
            return None
        return Loaded(Claim.model_validate_json(row["state"]), row["debtor_id"])

    async def applied(self, event_id: UUID) -> bool:
        return await self._store.has_applied(event_id)

    async def invoices_taken(self, tenant: str, invoice_numbers: list[str]) -> dict[str, UUID]:
        rows = await self._store.fetch(
            "SELECT invoice_number, claim_id FROM {schema}.claims"
            " WHERE tenant = $1 AND invoice_number = ANY($2::text[])"
            " ORDER BY registered_at DESC, claim_id DESC",
            tenant,
            invoice_numbers,
        )
        return {row["invoice_number"]: row["claim_id"] for row in rows}

    async def look_alike(
        self, tenant: str, debtor_id: str, amount, currency, issued_on, due_on
    ) -> UUID | None:
        """An open claim of the same debtor with the same amount and dates: likely the same
        invoice registered under another number."""
        row = await self._store.fetchrow(
            _LOOK_ALIKE, tenant, debtor_id, amount, currency, issued_on, due_on
        )
        return None if row is None else row["claim_id"]

    async def registration_checks(
        self, tenant: str, invoice_number: str, debtor_id: str, amount, currency, issued_on, due_on
    ) -> tuple[UUID | None, UUID | None]:
        """In one round trip: the earliest claim of ``tenant`` registered for
        ``invoice_number``, and a :meth:`look_alike`."""
        row = await self._store.fetchrow(
            _REGISTRATION_CHECKS,
            tenant,
            debtor_id,
            amount,
            currency,
            issued_on,
            due_on,
            invoice_number,
        )
        return row["taken_by"], row["look_alike"]

    async def with_idempotency_key(self, tenant: str, key: str) -> ClaimRecord | None:
        row = await self._store.fetchrow(
            _RECORD_SQL + " WHERE tenant = $1 AND idempotency_key = $2"
            " ORDER BY registered_at, claim_id LIMIT 1",
            tenant,
            key,
        )
        return None if row is None else _record(row)

    async def page(
        self,
        tenant: str,
        *,
        debtor_id: str | None,
        status: str | None,
        after: tuple | None,
        limit: int,
    ) -> list[ClaimRecord]:
        """Claims in registration order, after the ``(registered_at, claim_id)`` cursor."""
        query = select(*_RECORD).where(claims.c.tenant == tenant)
        if debtor_id is not None:
            query = query.where(claims.c.debtor_id == debtor_id)
        if status is not None:
            query = query.where(claims.c.status == status)
        if after is not None:
            query = query.where(tuple_(claims.c.registered_at, claims.c.claim_id) > tuple_(*after))
        return await self._records(
            query.order_by(claims.c.registered_at, claims.c.claim_id).limit(limit)
        )

    async def debtor_account(self, tenant: str, debtor_id: str) -> dict | None:
        return await self._one(
            select(debtor_accounts).where(
                debtor_accounts.c.tenant == tenant, debtor_accounts.c.debtor_id == debtor_id
            )
        )

    async def timeline(self, tenant: str, claim_id) -> list[dict]:
        return await self._all(
            select(claim_events)
            .where(claim_events.c.tenant == tenant, claim_events.c.claim_id == claim_id)
            .order_by(claim_events.c.partition, claim_events.c.offset)
        )

    async def history(self, tenant: str, claim_id, until: datetime | None) -> list[Envelope]:
        """The claim's own events and the handoff to litigation that moves its status, in log
        order (up to ``until``), as envelopes to fold."""
        query = select(claim_events).where(
            claim_events.c.tenant == tenant,
            claim_events.c.claim_id == claim_id,
            or_(claim_events.c.source == "claims", claim_events.c.type == ClaimEscalated.type),
        )
        if until is not None:
            query = query.where(claim_events.c.time <= until)
        rows = await self._all(query.order_by(claim_events.c.partition, claim_events.c.offset))
        return [
            Envelope(
                id=row["event_id"],
                subject=str(row["claim_id"]),
                time=row["time"],
                tenant=row["tenant"],
                debtor_id=row["debtor_id"],
                correlation_id=row["correlation_id"],
                causation_id=row["causation_id"],
                data=self._registry.load(row["type"], orjson.dumps(row["payload"])),
                partition=row["partition"],
                offset=row["offset"],
            )
            for row in rows
        ]
