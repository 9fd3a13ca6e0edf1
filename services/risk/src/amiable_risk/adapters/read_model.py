"""Queries the risk API and the command bus answer from. Every query is scoped to one tenant."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import orjson

from amiable_events.commands import Loaded
from amiable_risk.domain.state import Account

_STATE = "SELECT state FROM {schema}.risk_accounts WHERE tenant = $1 AND debtor_id = $2"
#: One debtor's events share a partition: its offsets order its assessments as the log does.
_HISTORY = """SELECT event_id, assessment::text AS assessment, "offset"
    FROM {schema}.risk_assessments WHERE tenant = $1 AND debtor_id = $2
    AND ($3::bigint IS NULL OR "offset" < $3) ORDER BY "offset" DESC LIMIT $4"""
_ALERTS = """SELECT event_id, debtor_id, signal, as_of, raised_at, evidence::text AS evidence
    FROM {schema}.risk_alerts WHERE tenant = $1
    AND ($2::text IS NULL OR debtor_id = $2) AND ($3::text IS NULL OR signal = $3)
    AND ($4::timestamptz IS NULL OR raised_at >= $4) AND ($5::timestamptz IS NULL OR raised_at < $5)
    AND ($6::timestamptz IS NULL OR (raised_at, event_id) < ($6, $7::uuid))
    ORDER BY raised_at DESC, event_id DESC LIMIT $8"""
#: Per grade and per segment (a fixed set of column names): debtors, then open balances.
_COUNTS = {
    group: f"SELECT {group} AS key, count(*) AS debtors FROM {{schema}}.risk_accounts"
    f" WHERE tenant = $1 GROUP BY {group}"
    for group in ("grade", "segment")
}
_EXPOSURE = {
    group: f"SELECT {group} AS key, balance.key AS currency, sum(balance.value::numeric) AS total"
    f" FROM {{schema}}.risk_accounts, jsonb_each_text(open_balance) AS balance"
    f" WHERE tenant = $1 GROUP BY {group}, balance.key"
    for group in ("grade", "segment")
}

Position = tuple[datetime, UUID]


class RiskReadModel:
    def __init__(self, store) -> None:
        self._store = store

    async def account(self, tenant: str, debtor_id: str) -> Account | None:
        row = await self._store.fetchrow(_STATE, tenant, debtor_id)
        return None if row is None else Account.model_validate_json(row["state"])

    async def load(self, tenant: str, debtor_id: str) -> Loaded[Account | None]:
        """For the command bus: a debtor risk has not seen yet is an empty account (a credit
        limit or a proceeding may be recorded before the first claim)."""
        return Loaded(await self.account(tenant, debtor_id), debtor_id)

    async def applied(self, event_id: UUID) -> bool:
        return await self._store.has_applied(event_id)

    async def history(
        self, tenant: str, debtor_id: str, before: int | None, limit: int
    ) -> list[dict]:
        """The assessments published for the debtor, latest first (``before``: an offset)."""
        rows = await self._store.fetch(_HISTORY, tenant, debtor_id, before, limit)
        return [
            {
                **orjson.loads(row["assessment"]),
                "event_id": row["event_id"],
                "offset": row["offset"],
            }
            for row in rows
        ]

    async def alerts(
        self,
        tenant: str,
        *,
        debtor_id: str | None,
        signal: str | None,
        since: datetime | None,
        until: datetime | None,
        after: Position | None,
        limit: int,
    ) -> list[dict]:
        at, event_id = after or (None, None)
        rows = await self._store.fetch(
            _ALERTS, tenant, debtor_id, signal, since, until, at, event_id, limit
        )
        return [{**dict(row), "evidence": orjson.loads(row["evidence"])} for row in rows]

    async def portfolio(self, tenant: str) -> dict[str, list[dict]]:
        """Debtors and their open balance (per currency) per grade and per segment; ``None``:
        not assessed yet."""
        out = {}
        for group in ("grade", "segment"):
            exposure: dict[str | None, dict[str, str]] = {}
            for row in await self._store.fetch(_EXPOSURE[group], tenant):
                exposure.setdefault(row["key"], {})[row["currency"]] = format(row["total"], "f")
            rows = await self._store.fetch(_COUNTS[group], tenant)
            out[group] = [
                {
                    group: row["key"],
                    "debtors": row["debtors"],
                    "exposure": dict(sorted(exposure.get(row["key"], {}).items())),
                }
                for row in sorted(rows, key=lambda row: (row["key"] is None, row["key"] or ""))
            ]
        return out
