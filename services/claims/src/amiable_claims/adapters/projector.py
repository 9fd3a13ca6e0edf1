"""The claims projector: applies a batch of events to the tables with a few set-based
statements (the fold is the domain's ``evolve``) and keeps the timers equal to what each
claim needs."""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

import orjson
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from amiable_claims.adapters.tables import claim_events, claims, debtor_accounts, metadata, timers
from amiable_claims.domain.evolve import evolve
from amiable_claims.domain.state import Claim, Policy
from amiable_claims.domain.timeline import summarize
from amiable_claims.domain.timers import TIMER_EVENTS, desired_timers
from amiable_events.base import SEALED_PREFIX
from amiable_events.claims import ClaimAmended, ClaimRegistered, DebtorPersonalDataErased
from amiable_events.db import storable
from amiable_events.envelope import Envelope
from amiable_events.personal import ERASED
from amiable_events.timers import timer_event_id


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
        for envelope in envelopes:
            if isinstance(envelope.data, DebtorPersonalDataErased):
                await _scrub_free_text(conn, envelope.tenant, envelope.debtor_id)

    async def _fold(self, conn, by_claim: dict[UUID, list[Envelope]]) -> None:
        rows = await conn.execute(select(claims).where(claims.c.claim_id.in_(list(by_claim))))
        current = {row["claim_id"]: dict(row) for row in rows.mappings()}
        changed, registered, fired = [], defaultdict(int), []
        # (claim, timer) -> the event after which the claim first needed the timer in this batch:
        # a new timer row keeps that event's trace, wherever the batch happens to end.
        armed_by: dict[tuple[UUID, str], Envelope] = {}
        sole_event: dict[UUID, Envelope] = {}
        names: dict[tuple[str, str], tuple[str, str]] = {}
        for claim_id, envelopes in by_claim.items():
            row = current.get(claim_id)
            state = Claim.model_validate(row["state"]) if row else None
            # A claim belongs to the tenant that registered it: another tenant's event with the
            # same claim id (a forged or colliding subject) never changes it. That event stays
            # in ``claim_events`` under its own tenant, so only that tenant's timeline shows it.
            owner = row["tenant"] if row else _registering_tenant(envelopes)
            envelopes = [envelope for envelope in envelopes if envelope.tenant == owner]
            if not envelopes:
                continue
            for envelope in envelopes:
                event = envelope.data
                if isinstance(event, ClaimRegistered) and row is None:
                    row = _registered_row(event, envelope)
                    account = (envelope.tenant, envelope.debtor_id)
                    registered[account] += 1
                    names[account] = (storable(event.debtor.legal_name), event.debtor.country)
                elif isinstance(event, ClaimAmended) and row is not None:
                    row = {**row, "debtor": _debtor_json(row["debtor"], event)}
                    row.update(
                        {
                            name: storable(getattr(event, name))
                            for name in ("contract_reference", "purchase_order", "description")
                            if getattr(event, name) is not None
                        }
                    )
                state = evolve(state, envelope)
                if state is not None and len(envelopes) > 1:
                    for timer in desired_timers(state, self.policy):
                        armed_by.setdefault((claim_id, timer.timer_id), envelope)
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
            if len(envelopes) == 1:
                sole_event[claim_id] = envelopes[0]  # whatever timer the claim needs, it armed it
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
        await self._reconcile_timers(
            conn, [state for _, state in changed], fired, armed_by, sole_event
        )

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
        self,
        conn,
        states: list[Claim],
        fired: list[UUID],
        armed_by: dict[tuple[UUID, str], Envelope],
        sole_event: dict[UUID, Envelope],
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
                armed = armed_by.get((state.claim_id, timer.timer_id)) or sole_event[state.claim_id]
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
                        "traceparent": armed.traceparent,
                        "tracestate": armed.tracestate,
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


def _registering_tenant(envelopes: list[Envelope]) -> str | None:
    return next((e.tenant for e in envelopes if isinstance(e.data, ClaimRegistered)), None)


def _registered_row(event: ClaimRegistered, envelope: Envelope) -> dict:
    return {
        "claim_id": event.claim_id,
        "tenant": envelope.tenant,
        "debtor_id": envelope.debtor_id,
        "invoice_number": storable(event.invoice_number),
        "amount": event.amount,
        "currency": event.currency,
        "issued_on": event.issued_on,
        "due_on": event.due_on,
        "contract_reference": storable(event.contract_reference),
        "purchase_order": storable(event.purchase_order),
        "description": storable(event.description),
        "debtor": event.debtor.model_dump(mode="json"),
        "registered_at": event.registered_at,
        "idempotency_key": storable(event.idempotency_key),
        "event_id": envelope.id,
    }


#: Free text that may name a person, kept in clear by events recorded before it was sealed.
_FREE_TEXT = ("description", "role")


def _scrubbed(value):
    """``value`` (JSON) with every free text recorded in clear replaced by ``[erased]``; sealed
    values are left alone (the shredded key already makes them read as erased, and the ones
    sealed after the erasure with a new key stay readable)."""
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    if not isinstance(value, dict):
        return value
    return {
        name: ERASED
        if name in _FREE_TEXT and isinstance(item, str) and not item.startswith(SEALED_PREFIX)
        else _scrubbed(item)
        for name, item in value.items()
    }


async def _scrub_free_text(conn: AsyncConnection, tenant: str, debtor_id: str) -> None:
    """On a debtor's erasure, the free text its older events carried in clear (contact roles,
    descriptions) is erased from the claims and the timeline: nothing the projection answers
    or keeps names the debtor's people any more. Deterministic, so a rebuild gives the same
    rows."""
    rows = await conn.execute(
        select(claims.c.claim_id, claims.c.description, claims.c.debtor).where(
            claims.c.tenant == tenant, claims.c.debtor_id == debtor_id
        )
    )
    for claim_id, description, debtor in rows.all():
        scrubbed = _scrubbed({"description": description, "debtor": debtor})
        if scrubbed != {"description": description, "debtor": debtor}:
            await conn.execute(
                claims.update().where(claims.c.claim_id == claim_id).values(**scrubbed)
            )
    events = await conn.execute(
        select(claim_events.c.partition, claim_events.c.offset, claim_events.c.payload).where(
            claim_events.c.tenant == tenant,
            claim_events.c.debtor_id == debtor_id,
            claim_events.c.type.in_([ClaimRegistered.type, ClaimAmended.type]),
        )
    )
    for partition, offset, payload in events.all():
        scrubbed = _scrubbed(payload)
        if scrubbed != payload:
            await conn.execute(
                claim_events.update()
                .where(claim_events.c.partition == partition, claim_events.c.offset == offset)
                .values(payload=scrubbed)
            )


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
        "actor": envelope.actor,
        "summary": storable(summarize(envelope.data)),
        "payload": orjson.loads(envelope.data.model_dump_json()),
    }
