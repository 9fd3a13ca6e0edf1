"""Queries the dunning API and the command bus answer from. Every query is scoped to one
tenant."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from amiable_dunning.domain.state import Account
from amiable_events.commands import Loaded

_ACCOUNT_OF = """SELECT a.debtor_id, a.state FROM {schema}.dunning_claims c
    JOIN {schema}.dunning_accounts a USING (tenant, debtor_id)
    WHERE c.tenant = $1 AND c.claim_id = $2"""
# The collectors' day plan: the oldest debts first (the aged-balance bucket of the claim on the
# step's day), the largest first within a bucket.
_UPCOMING = """SELECT s.claim_id, s.debtor_id, s.step, s.revision, s.action, s.channel, s.stage,
        s.at, s.amount, s.currency, s.due_on, CASE
        WHEN (s.at::date - s.due_on) <= 0 THEN 'not_due'
        WHEN (s.at::date - s.due_on) <= 30 THEN '1-30'
        WHEN (s.at::date - s.due_on) <= 60 THEN '31-60'
        WHEN (s.at::date - s.due_on) <= 90 THEN '61-90'
        ELSE '90+' END AS bucket,
        (s.at::date - s.due_on) AS days_overdue
    FROM {schema}.dunning_steps s
    WHERE s.tenant = $1 AND s.status = 'planned' AND s.at >= $2 AND s.at < $3
    ORDER BY CASE
        WHEN (s.at::date - s.due_on) > 90 THEN 0
        WHEN (s.at::date - s.due_on) > 60 THEN 1
        WHEN (s.at::date - s.due_on) > 30 THEN 2
        WHEN (s.at::date - s.due_on) > 0 THEN 3
        ELSE 4 END, s.amount DESC, s.at, s.claim_id, s.step
    LIMIT $4"""
_APPROVALS = """SELECT claim_id, debtor_id, step, revision, action, channel, stage, at, amount,
        currency, due_on
    FROM {schema}.dunning_steps WHERE tenant = $1 AND status = 'due' AND needs_approval
    ORDER BY at, claim_id LIMIT $2"""
_POLICIES = """SELECT p.policy_id, p.version, p.document::text AS document, p.published_at,
        (SELECT max(a.activated_at) FROM {schema}.dunning_policy_activations a
         WHERE a.tenant = p.tenant AND a.policy_id = p.policy_id AND a.version = p.version)
        AS activated_at
    FROM {schema}.dunning_policies p WHERE p.tenant = $1 ORDER BY p.published_at, p.version"""
_ACTIVE = """SELECT policy_id, version, activated_at FROM {schema}.dunning_policy_activations
    WHERE tenant = $1 AND activated_at <= $2 ORDER BY activated_at DESC LIMIT 1"""


class DunningReadModel:
    def __init__(self, store) -> None:
        self._store = store

    async def account_of(self, tenant: str, claim_id: UUID) -> tuple[str, Account] | None:
        row = await self._store.fetchrow(_ACCOUNT_OF, tenant, claim_id)
        if row is None:
            return None
        return row["debtor_id"], Account.model_validate_json(row["state"])

    async def load(self, tenant: str, claim_id: UUID) -> Loaded[Account] | None:
        found = await self.account_of(tenant, claim_id)
        return None if found is None else Loaded(found[1], found[0])

    async def applied(self, event_id: UUID) -> bool:
        return await self._store.has_applied(event_id)

    async def upcoming(self, tenant: str, start: datetime, end: datetime, limit: int) -> list:
        return [dict(row) for row in await self._store.fetch(_UPCOMING, tenant, start, end, limit)]

    async def approvals(self, tenant: str, limit: int) -> list:
        return [dict(row) for row in await self._store.fetch(_APPROVALS, tenant, limit)]

    async def policies(self, tenant: str) -> list:
        return [dict(row) for row in await self._store.fetch(_POLICIES, tenant)]

    async def active(self, tenant: str, at: datetime) -> dict | None:
        row = await self._store.fetchrow(_ACTIVE, tenant, at)
        return None if row is None else dict(row)
