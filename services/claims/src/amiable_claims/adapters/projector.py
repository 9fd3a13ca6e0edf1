"""The claims projector: applies a batch of events to the tables with a few set-based
statements (the fold is the domain's ``evolve``) and keeps the timers equal to what each
claim needs.

The statements go through :class:`amiable_events.db.Bulk` (one ``unnest`` insert per table on
the asyncpg connection) and the JSON columns are written as text serialized once (a claim's
state by pydantic's serializer, not ``model_dump`` then orjson): in the rebuild's profile,
SQLAlchemy's per-parameter processing and ``model_dump(mode="json")`` cost more than the fold.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from operator import itemgetter
from uuid import UUID

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from amiable_claims.adapters.accounts import OpenClaims, account_events, apply_account_events
from amiable_claims.adapters.scrub import scrub_free_text
from amiable_claims.adapters.tables import (
    claim_events,
    claim_movements,
    claims,
    debtor_accounts,
    metadata,
    portfolio_claims,
    timers,
)
from amiable_claims.domain import kpis
from amiable_claims.domain.evolve import evolve
from amiable_claims.domain.state import Claim, Policy
from amiable_claims.domain.timeline import summarize
from amiable_claims.domain.timers import TIMER_EVENTS, TimerSpec, desired_timers
from amiable_events.claims import ClaimAmended, ClaimRegistered, DebtorPersonalDataErased
from amiable_events.communications import CommunicationSent
from amiable_events.db import Bulk, json_text, model_json, storable
from amiable_events.disputes import DisputeOpened
from amiable_events.dunning import ClaimEscalated
from amiable_events.envelope import Envelope
from amiable_events.timers import TIMER_COLUMNS, timer_event_id


def _claim_id(envelope: Envelope) -> UUID | None:
    """The claim an event is about: its subject, as a UUID (the event's own claim id when the
    subject spells it, which spares parsing it)."""
    claim_id = getattr(envelope.data, "claim_id", None)
    if type(claim_id) is UUID and str(claim_id) == envelope.subject:
        return claim_id
    try:
        return UUID(envelope.subject)
    except ValueError:
        return None


def _debtor_json(registered, event: ClaimAmended) -> dict:
    debtor = _json_value(registered)
    if event.contacts is not None:
        debtor["contacts"] = [c.model_dump(mode="json") for c in event.contacts]
    if event.postal_address is not None:
        debtor["postal_address"] = event.postal_address
    return debtor


# Event kinds are told apart by ``type(event) is``: the registry decodes each type to exactly its
# model, and ``isinstance`` against a pydantic model class is an ABC check, a Python call per
# event and class that the rebuild's profile showed.
_TIMER_EVENTS = frozenset(TIMER_EVENTS)
#: Other services' events that the claim's fold reads (every other one is only on its timeline).
_FOLDED_FROM_OTHERS = frozenset({DisputeOpened, ClaimEscalated})


class ClaimsProjector:
    service = "claims"
    metadata = metadata

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    async def apply(self, conn: AsyncConnection, envelope: Envelope) -> None:
        await self.apply_many(conn, [envelope])

    async def apply_many(self, conn: AsyncConnection, envelopes: list[Envelope]) -> None:
        """A batch in a handful of set-based statements: timeline, claims, accounts, timers."""
        bulk = await Bulk.of(conn)
        about_accounts = account_events(envelopes)
        open_claims = None
        if about_accounts:
            # Read before the fold writes this batch's claims (see adapters/accounts.py).
            open_claims = await OpenClaims.before_batch(
                bulk, {(e.tenant, e.debtor_id) for e in about_accounts}
            )
        timeline, by_claim = [], defaultdict(list)
        for envelope in envelopes:
            claim_id = _claim_id(envelope)
            if claim_id is None:
                continue
            timeline.append(_timeline_row(claim_id, envelope))
            if envelope.data.source == "claims" or type(envelope.data) in _FOLDED_FROM_OTHERS:
                by_claim[claim_id].append(envelope)
            elif type(envelope.data) is CommunicationSent:
                # Its cost is shared by every claim it was about, on the leader's timeline only.
                for shared_by in dict.fromkeys(envelope.data.claims):
                    by_claim[shared_by].append(envelope)
        # Each record is applied once: its (partition, offset) is new to the timeline.
        await bulk.insert(claim_events, _TIMELINE, timeline, "ON CONFLICT DO NOTHING", new=True)
        if by_claim:
            await self._fold(bulk, by_claim, open_claims)
        if about_accounts:
            await apply_account_events(bulk, about_accounts, open_claims, _timeline_row, _TIMELINE)
        for envelope in envelopes:
            if type(envelope.data) is DebtorPersonalDataErased:
                await scrub_free_text(conn, envelope.tenant, envelope.debtor_id)

    async def _fold(
        self,
        bulk: Bulk,
        by_claim: dict[UUID, list[Envelope]],
        open_claims: OpenClaims | None,
    ) -> None:
        # JSON columns as text: a state is validated from its JSON in one pass, and a debtor
        # no event of the batch amends is written back as it was read.
        rows = await bulk.connection.fetch(
            f"SELECT {_CLAIM_SELECT} FROM {bulk.name(claims)} WHERE claim_id = ANY($1::uuid[])",
            list(by_claim),
        )
        current = {row["claim_id"]: dict(row) for row in rows}
        changed, registered, fired = [], defaultdict(int), []
        portfolio, movements = [], []  # the narrow rows the portfolio reads add up
        # (claim, timer) -> the event after which the claim first needed the timer in this batch
        # (a new timer row keeps that event's trace, wherever the batch happens to end), and the
        # timer as the claim last needed it.
        armed_by: dict[tuple[UUID, str], tuple[Envelope, TimerSpec]] = {}
        sole_event: dict[UUID, Envelope] = {}
        needed: dict[UUID, list[TimerSpec]] = {}
        names: dict[tuple[str, str], tuple[str, str]] = {}
        for claim_id, envelopes in by_claim.items():
            row = current.get(claim_id)
            state = before = Claim.model_validate_json(row["state"]) if row else None
            # A claim belongs to the tenant that registered it: another tenant's event with the
            # same claim id (a forged or colliding subject) never changes it. That event stays
            # in ``claim_events`` under its own tenant, so only that tenant's timeline shows it.
            owner = row["tenant"] if row else _registering_tenant(envelopes)
            envelopes = [envelope for envelope in envelopes if envelope.tenant == owner]
            if not envelopes:
                continue
            for envelope in envelopes:
                event = envelope.data
                kind = type(event)
                if kind is ClaimRegistered and row is None:
                    row = _registered_row(event, envelope)
                    account = (envelope.tenant, envelope.debtor_id)
                    registered[account] += 1
                    names[account] = (storable(event.debtor.legal_name), event.debtor.country)
                elif kind is ClaimAmended and row is not None:
                    row = {**row, "debtor": _debtor_json(row["debtor"], event)}
                    row.update(
                        {
                            name: storable(getattr(event, name))
                            for name in ("contract_reference", "purchase_order", "description")
                            if getattr(event, name) is not None
                        }
                    )
                state = evolve(state, envelope)
                if open_claims is not None and state is not None:
                    account = (state.tenant, state.debtor_id)
                    open_claims.record(claim_id, account, envelope.offset, not state.closed)
                if state is not None and len(envelopes) > 1:
                    # the last of these is the claim's final list: kept for the timer rows
                    needed[claim_id] = desired_timers(state, self.policy)
                    for timer in needed[claim_id]:
                        first = armed_by.get((claim_id, timer.timer_id), (envelope,))[0]
                        armed_by[claim_id, timer.timer_id] = (first, timer)
                if kind in _TIMER_EVENTS:
                    fired.append(envelope.id)
            if row is None or state is None:
                continue  # events about a claim this service never registered
            row.update(
                status=state.status,
                outstanding=state.unpaid_principal,
                closed_on=state.closed_on,
                fixed_fee_waived_from=state.fixed_fee_waived_from,
                state=model_json(state),
                debtor=_json_column(row["debtor"]),
            )
            changed.append((row, state))
            facts = kpis.claim_facts(state)
            portfolio_row = _portfolio_row(facts, state)
            if before is None or _portfolio_row(kpis.claim_facts(before), before) != portfolio_row:
                portfolio.append(portfolio_row)
            movements += _new_movements(before, state, facts.registered_on)
            if len(envelopes) == 1:
                sole_event[claim_id] = envelopes[0]  # whatever timer the claim needs, it armed it
        if not changed:
            return
        columns = itemgetter(*_CLAIM_COLUMNS)
        for new in (False, True):  # the claims found in the table, then those registered now
            await bulk.insert(
                claims,
                _CLAIM_COLUMNS,
                [columns(row) for row, _ in changed if (row["claim_id"] not in current) is new],
                _CLAIM_UPSERT,
                new=new,
            )
        for new in (False, True):
            await bulk.insert(
                portfolio_claims,
                _PORTFOLIO_COLUMNS,
                [row for row in portfolio if (row[0] not in current) is new],
                "ON CONFLICT (claim_id) DO UPDATE SET closed_on = excluded.closed_on, "
                "closed_as = excluded.closed_as, placed_amount = excluded.placed_amount, "
                "balance = excluded.balance, disputed_on = excluded.disputed_on, "
                "dispute_reason = excluded.dispute_reason, "
                "recovery_cost = excluded.recovery_cost",
                new=new,
            )
        # A claim's payments and credit notes are only ever appended to: each is new here.
        await bulk.insert(
            claim_movements, _MOVEMENT_COLUMNS, movements, "ON CONFLICT DO NOTHING", new=True
        )
        if registered:
            await bulk.insert(
                debtor_accounts,
                ("tenant", "debtor_id", "legal_name", "country", "claims_registered"),
                [
                    (tenant, debtor_id, *names[(tenant, debtor_id)], count)
                    for (tenant, debtor_id), count in sorted(registered.items())
                ],
                "ON CONFLICT (tenant, debtor_id) DO UPDATE SET legal_name = excluded.legal_name, "
                "country = excluded.country, "
                "claims_registered = target.claims_registered + excluded.claims_registered",
            )
        await self._reconcile_timers(
            bulk, [state for _, state in changed], fired, armed_by, sole_event, needed, set(current)
        )

    async def _reconcile_timers(
        self,
        bulk: Bulk,
        states: list[Claim],
        fired: list[UUID],
        armed_by: dict[tuple[UUID, str], tuple[Envelope, TimerSpec]],
        sole_event: dict[UUID, Envelope],
        needed: dict[UUID, list[TimerSpec]],
        existing: set[UUID],
    ) -> None:
        """Timers follow the claims declaratively: each changed claim's pending timers become
        exactly :func:`domain.desired_timers`; a fired timer is never re-armed. A timer keeps
        the trace of the event that first armed it. A timer needed during the batch and not at
        its end is left as the batch applied event by event leaves it: armed, then cancelled
        (or fired), with the due time and payload it last had."""
        table = bulk.name(timers)
        if fired:
            await bulk.connection.execute(
                f"UPDATE {table} SET state = 'fired' WHERE event_id = ANY($1::uuid[])", fired
            )
        # Timer rows of the claims found in the table, and of those new to it (no timer yet).
        wanted: dict[bool, list[tuple]] = {False: [], True: []}
        for state in states:
            rows = wanted[state.claim_id not in existing]
            timers_needed = needed.get(state.claim_id)
            if timers_needed is None:
                timers_needed = desired_timers(state, self.policy)
            for timer in timers_needed:
                armed = armed_by.get(
                    (state.claim_id, timer.timer_id), (sole_event.get(state.claim_id),)
                )[0]
                rows.append(
                    (
                        timer.timer_id,
                        timer.due_at,
                        f"{state.tenant}:{state.debtor_id}",
                        str(state.claim_id),
                        timer.kind,
                        json_text(timer.payload),
                        "pending",
                        timer_event_id(self.service, timer.timer_id),
                        armed.traceparent,
                        armed.tracestate,
                    )
                )
        # Only a claim that was in the table before this batch can have timers there.
        subjects = [str(state.claim_id) for state in states if state.claim_id in existing]
        if subjects:
            keep = {row[0] for row in wanted[False]}
            pending = await bulk.connection.fetch(
                f"SELECT timer_id FROM {table} "
                "WHERE subject = ANY($1::text[]) AND state = 'pending'",
                subjects,
            )
            stale = [timer_id for (timer_id,) in pending if timer_id not in keep]
            if stale:
                await bulk.connection.execute(
                    f"UPDATE {table} SET state = 'cancelled' WHERE timer_id = ANY($1::text[])",
                    stale,
                )
        for new, rows in wanted.items():
            await bulk.insert(
                timers,
                TIMER_COLUMNS,
                rows,
                "ON CONFLICT (timer_id) DO UPDATE SET due_at = excluded.due_at, "
                "payload = excluded.payload, state = 'pending' WHERE target.state <> 'fired'",
                new=new,
            )
        kept = {row[0] for rows in wanted.values() for row in rows}
        claims_of = {state.claim_id: state for state in states}
        fired_ids = set(fired)
        dropped = []
        for (claim_id, timer_id), (armed, timer) in armed_by.items():
            state = claims_of.get(claim_id)
            if timer_id in kept or state is None:
                continue
            event_id = timer_event_id(self.service, timer_id)
            dropped.append(
                (
                    timer_id,
                    timer.due_at,
                    f"{state.tenant}:{state.debtor_id}",
                    str(claim_id),
                    timer.kind,
                    json_text(timer.payload),
                    "fired" if event_id in fired_ids else "cancelled",
                    event_id,
                    armed.traceparent,
                    armed.tracestate,
                )
            )
        await bulk.insert(
            timers,
            TIMER_COLUMNS,
            dropped,
            "ON CONFLICT (timer_id) DO UPDATE SET due_at = excluded.due_at, "
            "payload = excluded.payload, state = excluded.state WHERE target.state <> 'fired'",
        )


def _registering_tenant(envelopes: list[Envelope]) -> str | None:
    return next((e.tenant for e in envelopes if type(e.data) is ClaimRegistered), None)


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
        "debtor": event.debtor,
        "registered_at": event.registered_at,
        "idempotency_key": storable(event.idempotency_key),
        "event_id": envelope.id,
    }


_PORTFOLIO_COLUMNS = tuple(column.name for column in portfolio_claims.columns)
_MOVEMENT_COLUMNS = tuple(column.name for column in claim_movements.columns)


def _portfolio_row(facts: kpis.ClaimFacts, state: Claim) -> tuple:
    """The claim's row of ``portfolio_claims``: it changes when the claim closes, receives a
    payment or a credit note, is first disputed, or a message about it costs something."""
    return (
        state.claim_id,
        state.tenant,
        state.debtor_id,
        facts.currency,
        facts.amount,
        facts.issued_on,
        facts.issued_on.replace(day=1),
        facts.due_on,
        facts.registered_on,
        facts.closed_on,
        facts.closed_as,
        kpis.placed_amount(facts),
        facts.amount - sum((a for _, a in facts.payments + facts.credits), Decimal(0)),
        facts.disputed_on,
        facts.dispute_reason,
        facts.recovery_cost,
    )


def _new_movements(before: Claim | None, state: Claim, registered_on: date) -> list[tuple]:
    """Rows of ``claim_movements`` for the payments and credit notes ``state`` has and
    ``before`` had not (both lists only grow)."""
    rows = []
    for kind, items, seen in (
        ("payment", state.payments, len(before.payments) if before else 0),
        ("credit", state.credits, len(before.credits) if before else 0),
    ):
        for seq in range(seen, len(items)):
            item = items[seq]
            on = item.received_on if kind == "payment" else item.on
            recovered = kind == "payment" and on >= registered_on
            rows.append((state.claim_id, kind, seq, state.tenant, on, item.amount, recovered))
    return rows


_TIMELINE = (
    "partition",
    "offset",
    "claim_id",
    "tenant",
    "debtor_id",
    "event_id",
    "type",
    "source",
    "time",
    "correlation_id",
    "causation_id",
    "actor",
    "summary",
    "payload",
)


def _timeline_row(claim_id: UUID, envelope: Envelope) -> tuple:
    """A row of ``claim_events`` in the order of ``_TIMELINE``."""
    return (
        envelope.partition,
        envelope.offset,
        claim_id,
        envelope.tenant,
        envelope.debtor_id,
        envelope.id,
        envelope.type,
        envelope.data.source,
        envelope.time,
        envelope.correlation_id,
        envelope.causation_id,
        envelope.actor,
        storable(summarize(envelope.data)),
        model_json(envelope.data),
    )


_CLAIM_COLUMNS = tuple(column.name for column in claims.columns)
#: What a claim's later events change; the rest is as registered.
_CLAIM_UPDATED = (
    "debtor",
    "contract_reference",
    "purchase_order",
    "description",
    "status",
    "outstanding",
    "closed_on",
    "fixed_fee_waived_from",
    "state",
)
_CLAIM_UPSERT = "ON CONFLICT (claim_id) DO UPDATE SET " + ", ".join(
    f'"{name}" = excluded."{name}"' for name in _CLAIM_UPDATED
)
_CLAIM_SELECT = ", ".join(
    f'"{name}"::text AS "{name}"' if name in ("debtor", "state") else f'"{name}"'
    for name in _CLAIM_COLUMNS
)


# A JSON column's value is held as the text read from the table, the model an event carried,
# or data built here.


def _json_value(value) -> dict:
    """A JSON column's value as data."""
    if type(value) is str:
        return orjson.loads(value)
    if type(value) is dict:
        return dict(value)
    return value.model_dump(mode="json")


def _json_column(value) -> str:
    """A JSON column's value as the text to write (text read from the table stays as it is)."""
    if type(value) is str:
        return value
    if type(value) is dict:
        return json_text(value)
    return model_json(value)
