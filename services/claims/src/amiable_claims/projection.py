"""The claims read model, folded from the log: one row per claim (its domain state included),
one per debtor account, every event about a claim (the timeline), and the claims' timers."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from uuid import UUID

import orjson
from sqlalchemy import (
    BigInteger,
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

from amiable_claims.domain import TIMER_EVENTS, Claim, Policy, desired_timers, evolve
from amiable_claims.timeline import summarize
from amiable_events.claims import ClaimAmended, ClaimRegistered
from amiable_events.commands import Loaded
from amiable_events.envelope import Envelope
from amiable_events.projection import add_runner_tables
from amiable_events.registry import Registry
from amiable_events.timers import add_timer_table, timer_event_id

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
    Column(
        "debtor", JSONB, nullable=False, comment="as registered and amended; personal data sealed"
    ),
    Column("status", String, nullable=False),
    Column("outstanding", Numeric(20, 4), nullable=False, comment="principal not yet paid"),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("closed_on", Date),
    Column("idempotency_key", String),
    Column("event_id", Uuid, nullable=False, comment="the ClaimRegistered event"),
    Column(
        "state", JSONB, nullable=False, comment="the domain state (amiable_claims.domain.Claim)"
    ),
    Index("claims_tenant_invoice", "tenant", "invoice_number"),
    Index("claims_tenant_idempotency", "tenant", "idempotency_key"),
    Index("claims_tenant_listing", "tenant", "registered_at", "claim_id"),
    Index("claims_tenant_debtor", "tenant", "debtor_id", "status"),
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

claim_events = Table(
    "claim_events",
    metadata,
    Column("partition", Integer, primary_key=True),
    Column("offset", BigInteger, primary_key=True),
    Column("claim_id", Uuid, nullable=False),
    Column("tenant", String, nullable=False),
    Column("debtor_id", String, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("type", String, nullable=False),
    Column("source", String, nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("correlation_id", Uuid, nullable=False),
    Column("causation_id", Uuid),
    Column("summary", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Index("claim_events_claim", "tenant", "claim_id", "offset"),
)

timers = add_timer_table(metadata)
add_runner_tables(metadata)


def _claim_id(subject: str) -> UUID | None:
    try:
        return UUID(subject)
    except ValueError:
        return None


def _debtor_json(registered: dict, event: ClaimAmended) -> dict:
    debtor = dict(registered)
    if event.contacts is not None:
        debtor["contacts"] = [c.model_dump(mode="json") for c in event.contacts]
    if event.postal_address is not None:
        debtor["postal_address"] = event.postal_address
    return debtor


class ClaimsProjector:
    service = "claims"
    metadata = metadata

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    async def apply(self, conn: AsyncConnection, envelope: Envelope) -> None:
        await self.apply_many(conn, [envelope])

    async def apply_many(self, conn: AsyncConnection, envelopes: list[Envelope]) -> None:
        """A batch in a handful of set-based statements: timeline, claims, accounts, timers."""
        timeline, by_claim = [], defaultdict(list)
        for envelope in envelopes:
            claim_id = _claim_id(envelope.subject)
            if claim_id is None:
                continue
            timeline.append(_timeline_row(claim_id, envelope))
            if envelope.data.source == "claims":
                by_claim[claim_id].append(envelope)
        if timeline:
            await conn.execute(insert(claim_events).on_conflict_do_nothing(), timeline)
        if by_claim:
            await self._fold(conn, by_claim)

    async def _fold(self, conn, by_claim: dict[UUID, list[Envelope]]) -> None:
        rows = await conn.execute(select(claims).where(claims.c.claim_id.in_(list(by_claim))))
        current = {row["claim_id"]: dict(row) for row in rows.mappings()}
        changed, registered, fired = [], defaultdict(int), []
        armed_by: dict[UUID, Envelope] = {}
        names: dict[tuple[str, str], tuple[str, str]] = {}
        for claim_id, envelopes in by_claim.items():
            row = current.get(claim_id)
            state = Claim.model_validate(row["state"]) if row else None
            for envelope in envelopes:
                event = envelope.data
                if isinstance(event, ClaimRegistered) and row is None:
                    row = _registered_row(event, envelope)
                    account = (envelope.tenant, envelope.debtor_id)
                    registered[account] += 1
                    names[account] = (event.debtor.legal_name, event.debtor.country)
                elif isinstance(event, ClaimAmended) and row is not None:
                    row = {**row, "debtor": _debtor_json(row["debtor"], event)}
                    row.update(
                        {
                            name: getattr(event, name)
                            for name in ("contract_reference", "purchase_order", "description")
                            if getattr(event, name) is not None
                        }
                    )
                state = evolve(state, envelope)
                armed_by[claim_id] = envelope
                if isinstance(event, TIMER_EVENTS):
                    fired.append(envelope.id)
            if row is None or state is None:
                continue  # events about a claim this service never registered
            row.update(
                status=state.status,
                outstanding=state.unpaid_principal,
                closed_on=state.closed_on,
                state=state.model_dump(mode="json"),
            )
            changed.append((row, state))
        if not changed:
            return
        statement = insert(claims)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[claims.c.claim_id],
                set_={
                    name: statement.excluded[name]
                    for name in (
                        "debtor",
                        "contract_reference",
                        "purchase_order",
                        "description",
                        "status",
                        "outstanding",
                        "closed_on",
                        "state",
                    )
                },
            ),
            [row for row, _ in changed],
        )
        if registered:
            await self._count_registrations(conn, registered, names)
        await self._reconcile_timers(conn, [state for _, state in changed], fired, armed_by)

    async def _count_registrations(self, conn, registered, names) -> None:
        statement = insert(debtor_accounts).values(
            [
                {
                    "tenant": tenant,
                    "debtor_id": debtor_id,
                    "legal_name": names[(tenant, debtor_id)][0],
                    "country": names[(tenant, debtor_id)][1],
                    "claims_registered": count,
                }
                for (tenant, debtor_id), count in sorted(registered.items())
            ]
        )
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

    async def _reconcile_timers(
        self, conn, states: list[Claim], fired: list[UUID], armed_by: dict[UUID, Envelope]
    ) -> None:
        """Timers follow the claims declaratively: each changed claim's pending timers become
        exactly :func:`domain.desired_timers`; a fired timer is never re-armed. A timer keeps
        the trace of the event that first armed it."""
        if fired:
            await conn.execute(
                timers.update().where(timers.c.event_id.in_(fired)).values(state="fired")
            )
        wanted = []
        for state in states:
            for timer in desired_timers(state, self.policy):
                wanted.append(
                    {
                        "timer_id": timer.timer_id,
                        "due_at": timer.due_at,
                        "account": f"{state.tenant}:{state.debtor_id}",
                        "subject": str(state.claim_id),
                        "kind": timer.kind,
                        "payload": timer.payload,
                        "state": "pending",
                        "event_id": timer_event_id(self.service, timer.timer_id),
                        "traceparent": armed_by[state.claim_id].traceparent,
                        "tracestate": armed_by[state.claim_id].tracestate,
                    }
                )
        subjects = [str(state.claim_id) for state in states]
        keep = {row["timer_id"] for row in wanted}
        pending = await conn.execute(
            select(timers.c.timer_id).where(
                timers.c.subject.in_(subjects), timers.c.state == "pending"
            )
        )
        stale = [timer_id for timer_id in pending.scalars() if timer_id not in keep]
        if stale:
            await conn.execute(
                timers.update().where(timers.c.timer_id.in_(stale)).values(state="cancelled")
            )
        if wanted:
            statement = insert(timers)
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[timers.c.timer_id],
                    set_={
                        "due_at": statement.excluded.due_at,
                        "payload": statement.excluded.payload,
                        "state": "pending",
                    },
                    where=timers.c.state != "fired",
                ),
                wanted,
            )


def _registered_row(event: ClaimRegistered, envelope: Envelope) -> dict:
    return {
        "claim_id": event.claim_id,
        "tenant": envelope.tenant,
        "debtor_id": envelope.debtor_id,
        "invoice_number": event.invoice_number,
        "amount": event.amount,
        "currency": event.currency,
        "issued_on": event.issued_on,
        "due_on": event.due_on,
        "contract_reference": event.contract_reference,
        "purchase_order": event.purchase_order,
        "description": event.description,
        "debtor": event.debtor.model_dump(mode="json"),
        "registered_at": event.registered_at,
        "idempotency_key": event.idempotency_key,
        "event_id": envelope.id,
    }


def _timeline_row(claim_id: UUID, envelope: Envelope) -> dict:
    return {
        "partition": envelope.partition,
        "offset": envelope.offset,
        "claim_id": claim_id,
        "tenant": envelope.tenant,
        "debtor_id": envelope.debtor_id,
        "event_id": envelope.id,
        "type": envelope.type,
        "source": envelope.data.source,
        "time": envelope.time,
        "correlation_id": envelope.correlation_id,
        "causation_id": envelope.causation_id,
        "summary": summarize(envelope.data),
        "payload": orjson.loads(envelope.data.model_dump_json()),
    }


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

    async def claim(self, tenant: str, claim_id) -> dict | None:
        return await self._one(
            select(claims).where(claims.c.tenant == tenant, claims.c.claim_id == claim_id)
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

    async def first_with_invoice(self, tenant: str, invoice_number: str) -> dict | None:
        """The earliest registered claim of ``tenant`` for ``invoice_number``."""
        return await self._one(
            select(claims)
            .where(claims.c.tenant == tenant, claims.c.invoice_number == invoice_number)
            .order_by(claims.c.registered_at, claims.c.claim_id)
            .limit(1)
        )

    async def invoices_taken(self, tenant: str, invoice_numbers: list[str]) -> dict[str, UUID]:
        rows = await self._all(
            select(claims.c.invoice_number, claims.c.claim_id)
            .where(claims.c.tenant == tenant, claims.c.invoice_number.in_(invoice_numbers))
            .order_by(claims.c.registered_at.desc(), claims.c.claim_id.desc())
        )
        return {row["invoice_number"]: row["claim_id"] for row in rows}

    async def look_alike(self, tenant: str, debtor_id: str, amount, currency, issued_on, due_on):
        """An open claim of the same debtor with the same amount and dates: likely the same
        invoice registered under another number."""
        return await self._one(
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

    async def with_idempotency_key(self, tenant: str, key: str) -> dict | None:
        return await self._one(
            select(claims)
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
    ) -> list[dict]:
        """Claims in registration order, after the ``(registered_at, claim_id)`` cursor."""
        query = select(claims).where(claims.c.tenant == tenant)
        if debtor_id is not None:
            query = query.where(claims.c.debtor_id == debtor_id)
        if status is not None:
            query = query.where(claims.c.status == status)
        if after is not None:
            query = query.where(tuple_(claims.c.registered_at, claims.c.claim_id) > tuple_(*after))
        return await self._all(
            query.order_by(claims.c.registered_at, claims.c.claim_id).limit(limit)
        )

    async def of_debtor(self, tenant: str, debtor_id: str) -> list[dict]:
        return await self._all(
            select(claims)
            .where(claims.c.tenant == tenant, claims.c.debtor_id == debtor_id)
            .order_by(claims.c.due_on, claims.c.claim_id)
        )

    async def portfolio(self, tenant: str) -> list[dict]:
        """Every claim's state; KPIs and aged balances are computed from them."""
        return await self._all(
            select(claims.c.claim_id, claims.c.state, claims.c.registered_at)
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
