"""The queries the API and the command bus answer from. Every query is scoped to one tenant."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import (
    Text,
    cast,
    select,
    tuple_,
)

from amiable_claims.adapters.tables import claim_events, claims, debtor_accounts
from amiable_claims.domain.state import Claim
from amiable_events.commands import Loaded
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
    return ClaimRecord(
        claim=Claim.model_validate(row["state"]),
        debtor=row["debtor"],
        contract_reference=row["contract_reference"],
        purchase_order=row["purchase_order"],
        description=row["description"],
    )


_RECORD = (
    claims.c.state,
    claims.c.debtor,
    claims.c.contract_reference,
    claims.c.purchase_order,
    claims.c.description,
)


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

    async def _scalar(self, query):
        async with self._store.reading() as conn:
            return await conn.scalar(query)

    async def _states(self, query) -> list[Claim]:
        """The states ``query`` selects (``claims.c.state``), fetched as JSON text: decoding and
        validating a portfolio's thousands of states is CPU work, done off the event loop."""
        async with self._store.reading() as conn:
            texts = (
                (await conn.execute(query.with_only_columns(cast(claims.c.state, Text))))
                .scalars()
                .all()
            )
        if len(texts) < 100:
            return [Claim.model_validate_json(text) for text in texts]
        return await asyncio.to_thread(lambda: [Claim.model_validate_json(t) for t in texts])

    async def _record(self, query) -> ClaimRecord | None:
        row = await self._one(query)
        return None if row is None else _record(row)

    async def _records(self, query) -> list[ClaimRecord]:
        return [_record(row) for row in await self._all(query)]

    async def claim(self, tenant: str, claim_id) -> ClaimRecord | None:
        return await self._record(
            select(*_RECORD).where(claims.c.tenant == tenant, claims.c.claim_id == claim_id)
        )

    async def load(self, tenant: str, claim_id: UUID) -> Loaded[Claim] | None:
        """The claim's state, for the command bus."""
        row = await self._one(
            select(claims.c.state, claims.c.debtor_id).where(
                claims.c.tenant == tenant, claims.c.claim_id == claim_id
            )
        )
        return None if row is None else Loaded(Claim.model_validate(row["state"]), row["debtor_id"])

    async def applied(self, event_id: UUID) -> bool:
        return await self._store.has_applied(event_id)

    async def invoices_taken(self, tenant: str, invoice_numbers: list[str]) -> dict[str, UUID]:
        rows = await self._all(
            select(claims.c.invoice_number, claims.c.claim_id)
            .where(claims.c.tenant == tenant, claims.c.invoice_number.in_(invoice_numbers))
            .order_by(claims.c.registered_at.desc(), claims.c.claim_id.desc())
        )
        return {row["invoice_number"]: row["claim_id"] for row in rows}

    @staticmethod
    def _look_alike(tenant: str, debtor_id: str, amount, currency, issued_on, due_on):
        return (
            select(claims.c.claim_id)
            .where(
                claims.c.tenant == tenant,
                claims.c.debtor_id == debtor_id,
                claims.c.amount == amount,
                claims.c.currency == currency,
                claims.c.issued_on == issued_on,
                claims.c.due_on == due_on,
                claims.c.status.in_(["registered", "qualified"]),
            )
            .order_by(claims.c.registered_at, claims.c.claim_id)
            .limit(1)
        )

    async def look_alike(
        self, tenant: str, debtor_id: str, amount, currency, issued_on, due_on
    ) -> UUID | None:
        """An open claim of the same debtor with the same amount and dates: likely the same
        invoice registered under another number."""
        return await self._scalar(
            self._look_alike(tenant, debtor_id, amount, currency, issued_on, due_on)
        )

    async def registration_checks(
        self, tenant: str, invoice_number: str, debtor_id: str, amount, currency, issued_on, due_on
    ) -> tuple[UUID | None, UUID | None]:
        """In one round trip: the earliest claim of ``tenant`` registered for
        ``invoice_number``, and a :meth:`look_alike`."""
        taken_by = (
            select(claims.c.claim_id)
            .where(claims.c.tenant == tenant, claims.c.invoice_number == invoice_number)
            .order_by(claims.c.registered_at, claims.c.claim_id)
            .limit(1)
        )
        alike = self._look_alike(tenant, debtor_id, amount, currency, issued_on, due_on)
        row = await self._one(
            select(
                taken_by.scalar_subquery().label("taken_by"),
                alike.scalar_subquery().label("look_alike"),
            )
        )
        return row["taken_by"], row["look_alike"]

    async def with_idempotency_key(self, tenant: str, key: str) -> ClaimRecord | None:
        return await self._record(
            select(*_RECORD)
            .where(claims.c.tenant == tenant, claims.c.idempotency_key == key)
            .order_by(claims.c.registered_at, claims.c.claim_id)
            .limit(1)
        )

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

    async def of_debtor(self, tenant: str, debtor_id: str) -> list[Claim]:
        return await self._states(
            select(claims.c.state)
            .where(claims.c.tenant == tenant, claims.c.debtor_id == debtor_id)
            .order_by(claims.c.due_on, claims.c.claim_id)
        )

    async def portfolio(self, tenant: str) -> list[Claim]:
        """Every claim's state; KPIs and aged balances are computed from them."""
        return await self._states(
            select(claims.c.state)
            .where(claims.c.tenant == tenant)
            .order_by(claims.c.registered_at, claims.c.claim_id)
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
        """The claim's own events in log order (up to ``until``), as envelopes to fold."""
        query = select(claim_events).where(
            claim_events.c.tenant == tenant,
            claim_events.c.claim_id == claim_id,
            claim_events.c.source == "claims",
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
