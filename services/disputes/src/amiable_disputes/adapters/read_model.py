"""Queries the disputes API and the command bus answer from. Every query is scoped to one
tenant."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

import orjson

from amiable_disputes.domain.state import ClaimFile
from amiable_events.commands import Loaded

_FILE = "SELECT debtor_id, state FROM {schema}.dispute_files WHERE tenant = $1 AND claim_id = $2"
_CLAIM_OF = "SELECT claim_id FROM {schema}.disputes WHERE tenant = $1 AND dispute_id = $2"
_HISTORY = """SELECT event_id, type, time, actor, data::text AS data
    FROM {schema}.dispute_events WHERE tenant = $1 AND dispute_id = $2 ORDER BY "offset" """
_LIST = """SELECT dispute_id, claim_id, debtor_id, invoice_number, status, reason, raised_by,
        opened_at, closed_at, outcome, mediated, limitation_at_risk, breaches::text AS breaches,
        disputed_amount, accepted_amount, currency, assignee, mediator
    FROM {schema}.disputes WHERE tenant = $1
    AND ($2::text[] IS NULL OR status = ANY($2)) AND ($3::text[] IS NULL OR reason = ANY($3))
    AND ($4::uuid IS NULL OR claim_id = $4) AND ($5::text IS NULL OR debtor_id = $5)
    AND ($6::timestamptz IS NULL OR opened_at >= $6)
    AND ($7::timestamptz IS NULL OR opened_at < $7)
    AND ($8::timestamptz IS NULL OR (opened_at, dispute_id) < ($8, $9::uuid))
    AND ($11::boolean IS NULL OR (breaches <> '[]'::jsonb) = $11)
    AND ($12::boolean IS NULL OR limitation_at_risk = $12)
    ORDER BY opened_at DESC, dispute_id DESC LIMIT $10"""
# Ages in whole days, as the buckets name them: 7 days and 5 hours is 7, so "0-7".
_OPEN_BY_REASON_AND_AGE = """SELECT reason, CASE
        WHEN opened_at > $2::timestamptz - interval '8 days' THEN '0-7'
        WHEN opened_at > $2::timestamptz - interval '31 days' THEN '8-30'
        WHEN opened_at > $2::timestamptz - interval '61 days' THEN '31-60'
        ELSE '61+' END AS age, count(*) AS n
    FROM {schema}.disputes WHERE tenant = $1 AND status IN ('open', 'under_review', 'mediation')
    GROUP BY 1, 2"""
_CLOSED = """SELECT
        percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM closed_at - opened_at))
            FILTER (WHERE status = 'resolved') AS median_seconds,
        count(*) FILTER (WHERE status = 'resolved') AS resolved,
        count(*) FILTER (WHERE outcome = 'upheld') AS upheld,
        count(*) FILTER (WHERE outcome = 'partially_upheld') AS partially_upheld,
        count(*) FILTER (WHERE status = 'withdrawn') AS withdrawn,
        count(*) FILTER (WHERE status = 'hardship') AS hardship,
        count(*) FILTER (WHERE mediated AND status IN ('resolved', 'withdrawn')) AS mediated,
        count(*) FILTER (WHERE mediated AND (status = 'withdrawn'
            OR outcome IN ('upheld', 'partially_upheld', 'reissued'))) AS mediated_settled
    FROM {schema}.disputes WHERE tenant = $1 AND closed_at IS NOT NULL"""

AGE_BUCKETS = ("0-7", "8-30", "31-60", "61+")
Position = tuple[datetime, UUID]


class DisputesReadModel:
    def __init__(self, store) -> None:
        self._store = store

    async def file(self, tenant: str, claim_id: UUID) -> tuple[str, ClaimFile] | None:
        row = await self._store.fetchrow(_FILE, tenant, claim_id)
        if row is None:
            return None
        return row["debtor_id"], ClaimFile.model_validate_json(row["state"])

    async def load(self, tenant: str, claim_id: UUID) -> Loaded[ClaimFile] | None:
        found = await self.file(tenant, claim_id)
        return None if found is None else Loaded(found[1], found[0])

    async def applied(self, event_id: UUID) -> bool:
        return await self._store.has_applied(event_id)

    async def claim_of(self, tenant: str, dispute_id: UUID) -> UUID | None:
        row = await self._store.fetchrow(_CLAIM_OF, tenant, dispute_id)
        return None if row is None else row["claim_id"]

    async def history(self, tenant: str, dispute_id: UUID) -> list[dict]:
        rows = await self._store.fetch(_HISTORY, tenant, dispute_id)
        return [{**dict(row), "data": orjson.loads(row["data"])} for row in rows]

    async def disputes(
        self,
        tenant: str,
        *,
        statuses: list[str] | None,
        reasons: list[str] | None,
        claim_id: UUID | None,
        debtor_id: str | None,
        opened_since: datetime | None,
        opened_before: datetime | None,
        after: Position | None,
        limit: int,
        breached: bool | None = None,
        limitation_at_risk: bool | None = None,
    ) -> list[dict]:
        at, dispute_id = after or (None, None)
        rows = await self._store.fetch(
            _LIST,
            tenant,
            statuses,
            reasons,
            claim_id,
            debtor_id,
            opened_since,
            opened_before,
            at,
            dispute_id,
            limit,
            breached,
            limitation_at_risk,
        )
        return [{**dict(row), "breaches": orjson.loads(row["breaches"])} for row in rows]

    async def stats(self, tenant: str, now: datetime) -> dict:
        """Open disputes by reason and age (days since opened, at ``now``), and the figures of
        the closed ones."""
        open_rows = await self._store.fetch(_OPEN_BY_REASON_AND_AGE, tenant, now)
        closed = await self._store.fetchrow(_CLOSED, tenant)
        by_reason: dict[str, dict[str, int]] = {}
        for row in open_rows:
            ages = by_reason.setdefault(row["reason"], dict.fromkeys(AGE_BUCKETS, 0))
            ages[row["age"]] = row["n"]
        median = closed["median_seconds"]
        return {
            "open": dict(sorted(by_reason.items())),
            "open_total": sum(sum(ages.values()) for ages in by_reason.values()),
            "median_resolution": None if median is None else timedelta(seconds=float(median)),
            **{
                key: closed[key]
                for key in (
                    "resolved",
                    "upheld",
                    "partially_upheld",
                    "withdrawn",
                    "hardship",
                    "mediated",
                    "mediated_settled",
                )
            },
        }
