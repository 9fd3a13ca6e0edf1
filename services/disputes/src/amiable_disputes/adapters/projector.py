"""Folds the claim log into the disputes tables: each claim's file, its disputes, their
histories and their SLA timers.

A batch costs a handful of statements whatever its size: the files it touches are read at once,
folded in memory with the pure ``evolve``, and written back at once.
"""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from amiable_disputes.adapters.tables import disputes, files, history, metadata, timers
from amiable_disputes.domain.evolve import FOLLOWS, evolve
from amiable_disputes.domain.sla import Watch, file_watches
from amiable_disputes.domain.state import ClaimFile
from amiable_events.db import Bulk, json_text, model_json
from amiable_events.disputes import EVENTS as DISPUTE_EVENTS
from amiable_events.disputes import DisputeSlaBreached
from amiable_events.envelope import Envelope
from amiable_events.timers import timer_event_id, write_timers

SLA = "sla"
FileKey = tuple[str, UUID]

_FILE_COLUMNS = ("tenant", "claim_id", "debtor_id", "state")
_DISPUTE_COLUMNS = tuple(column.name for column in disputes.columns)
_DISPUTE_UPSERT = "ON CONFLICT (dispute_id) DO UPDATE SET " + ", ".join(
    f"{c} = excluded.{c}" for c in _DISPUTE_COLUMNS if c != "dispute_id"
)
_HISTORY_COLUMNS = tuple(column.name for column in history.columns)
_DISPUTE_TYPES = frozenset(DISPUTE_EVENTS)


async def load_files(
    connection: asyncpg.Connection, table: str, keys: list[FileKey]
) -> dict[FileKey, ClaimFile]:
    """The stored files of these (tenant, claim id) claims; absent ones are left out."""
    rows = await connection.fetch(
        f"SELECT tenant, claim_id, state FROM {table} WHERE (tenant, claim_id) IN "
        "(SELECT * FROM unnest($1::text[], $2::uuid[]))",
        [tenant for tenant, _ in keys],
        [claim_id for _, claim_id in keys],
    )
    return {
        (row["tenant"], row["claim_id"]): ClaimFile.model_validate_json(row["state"])
        for row in rows
    }


def claim_of(envelope: Envelope) -> UUID | None:
    """The claim an event changes the file of, or None for one the projection skips."""
    if type(envelope.data) not in FOLLOWS:
        return None
    return envelope.data.claim_id


class DisputesProjector:
    service = "disputes"
    metadata = metadata

    async def apply(self, conn: AsyncConnection, envelope: Envelope) -> None:
        await self.apply_many(conn, [envelope])

    async def apply_many(self, conn: AsyncConnection, envelopes: list[Envelope]) -> None:
        by_claim: dict[FileKey, list[Envelope]] = defaultdict(list)
        events, fired = [], []
        for envelope in envelopes:
            claim_id = claim_of(envelope)
            if claim_id is None:
                continue
            by_claim[envelope.tenant, claim_id].append(envelope)
            if type(envelope.data) in _DISPUTE_TYPES:
                events.append(_history_row(envelope))
                if isinstance(envelope.data, DisputeSlaBreached):
                    fired.append(envelope)
        if not by_claim:
            return
        bulk = await Bulk.of(conn)
        states = await load_files(bulk.connection, bulk.name(files), list(by_claim))
        file_rows, dispute_rows, watched = [], [], {}
        for (tenant, claim_id), batch in by_claim.items():
            state = states.get((tenant, claim_id))
            for envelope in batch:
                state = evolve(state, envelope)
            if state is None:
                continue
            last = batch[-1]
            file_rows.append((tenant, claim_id, last.debtor_id, model_json(state)))
            if state.disputes:
                dispute_rows.extend(_dispute_rows(tenant, last.debtor_id, state))
                watched[tenant, claim_id] = (file_watches(state), last)
        await bulk.insert(
            files,
            _FILE_COLUMNS,
            file_rows,
            "ON CONFLICT (tenant, claim_id) DO UPDATE SET "
            "debtor_id = excluded.debtor_id, state = excluded.state",
        )
        await bulk.insert(disputes, _DISPUTE_COLUMNS, dispute_rows, _DISPUTE_UPSERT)
        await bulk.insert(history, _HISTORY_COLUMNS, events, "ON CONFLICT DO NOTHING")
        await self._reconcile_timers(bulk, watched, fired)

    async def _reconcile_timers(
        self,
        bulk: Bulk,
        watched: dict[FileKey, tuple[list[Watch], Envelope]],
        fired: list[Envelope],
    ) -> None:
        """Each claim of the batch keeps exactly the pending SLA timers its disputes need now: a
        deadline met (assigned, closed) is deleted, not kept as cancelled; a pending one carries
        the trace of the claim's latest event; a fired one is written from its firing event. So
        the rows do not depend on how the log was cut into batches (a rebuild gives the live
        digest)."""
        rows = [
            _timer_row(watch, last, "pending")
            for watches, last in watched.values()
            for watch in watches
        ]
        await bulk.connection.execute(
            f"DELETE FROM {bulk.name(timers)} WHERE subject = ANY($1::text[]) "
            "AND state = 'pending' AND NOT timer_id = ANY($2::text[])",
            [str(claim_id) for _, claim_id in watched],
            [row[0] for row in rows],
        )
        fired_rows = [
            _timer_row(Watch(str(e.data.dispute_id), e.data.which, e.data.due_at), e, "fired")
            for e in fired
        ]
        await write_timers(bulk, timers, rows, fired_rows)


def _timer_row(watch: Watch, armed_by: Envelope, state: str) -> tuple:
    return (
        watch.timer_id,
        watch.due_at,
        armed_by.key,
        armed_by.subject,
        SLA,
        json_text({"dispute_id": watch.dispute_id, "which": watch.which}),
        state,
        timer_event_id(DisputesProjector.service, watch.timer_id),
        armed_by.traceparent,
        armed_by.tracestate,
    )


def _dispute_rows(tenant: str, debtor_id: str, file: ClaimFile) -> list[tuple]:
    invoice = file.ledger.invoice_number if file.ledger else None
    return [
        (
            UUID(d.dispute_id),
            tenant,
            UUID(d.claim_id),
            debtor_id,
            invoice,
            d.status,
            d.reason,
            d.raised_by,
            d.opened_at,
            d.closed_at,
            d.outcome,
            d.mediated,
            d.limitation_at_risk,
            json_text(list(d.breaches)),
            d.disputed_amount,
            d.accepted_amount,
            d.currency,
            d.assignee,
            d.mediator,
        )
        for d in file.disputes
    ]


def _history_row(envelope: Envelope) -> tuple:
    return (
        envelope.id,
        envelope.tenant,
        envelope.data.dispute_id,
        envelope.partition,
        envelope.offset,
        envelope.type,
        envelope.time,
        envelope.actor,
        json_text(envelope.data.model_dump(mode="json")),
    )
