"""Queries the communications API and the command buses answer from. Every query is scoped to
one tenant.

A command's subject names what it is about: ``debtor:<id>`` (contact preferences),
``claim:<id>`` (an interaction), ``communication:<id>`` (tracking, a call outcome, a review),
``tenant:<tenant>`` (the creditor profile, on the profile bus)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from amiable_communications.domain.commands import Message, Profiled, Target
from amiable_communications.domain.state import Account
from amiable_events.commands import Loaded
from amiable_events.communications import TASK_CHANNELS, CreditorProfile

_ACCOUNT = """SELECT debtor_id, state FROM {schema}.communication_accounts
    WHERE tenant = $1 AND debtor_id = $2"""
_ACCOUNT_OF_CLAIM = """SELECT a.debtor_id, a.state FROM {schema}.communication_claims c
    JOIN {schema}.communication_accounts a USING (tenant, debtor_id)
    WHERE c.tenant = $1 AND c.claim_id = $2"""
_MESSAGE = """SELECT * FROM {schema}.communications WHERE tenant = $1 AND communication_id = $2"""
_ACCOUNTS = """SELECT debtor_id, state FROM {schema}.communication_accounts
    WHERE tenant = $1 AND debtor_id = ANY($2::text[])"""
# Newest first; a page starts after the cursor's (queued_at, id).
_MESSAGES = """SELECT * FROM {schema}.communications WHERE tenant = $1
    AND ($2::text IS NULL OR claims @> to_jsonb(ARRAY[$2::text]))
    AND ($3::text[] IS NULL OR status = ANY($3::text[]))
    AND ($4::text[] IS NULL OR channel = ANY($4::text[]))
    AND ($5::timestamptz IS NULL OR (queued_at, communication_id) < ($5, $6::uuid))
    ORDER BY queued_at DESC, communication_id DESC LIMIT $7"""
# A task is open from the moment it went to the agents until its outcome is recorded; oldest
# first, so the longest waiting is worked first.
_TASKS = """SELECT * FROM {schema}.communications WHERE tenant = $1
    AND channel = ANY($2::text[]) AND status IN ('sent', 'delivered')
    AND (outcome IS NULL) = $3
    AND ($4::timestamptz IS NULL OR (sent_at, communication_id) > ($4, $5::uuid))
    ORDER BY sent_at, communication_id LIMIT $6"""
_REVIEW = """SELECT * FROM {schema}.communications WHERE tenant = $1 AND status = 'in_review'
    AND ($2::timestamptz IS NULL OR (queued_at, communication_id) > ($2, $3::uuid))
    ORDER BY queued_at, communication_id LIMIT $4"""
_INTERACTIONS = """SELECT * FROM {schema}.communication_interactions WHERE tenant = $1
    AND ($2::uuid IS NULL OR claim_id = $2)
    AND ($3::timestamptz IS NULL OR (occurred_at, interaction_id) < ($3, $4::uuid))
    ORDER BY occurred_at DESC, interaction_id DESC LIMIT $5"""
_INTERACTION = """SELECT * FROM {schema}.communication_interactions
    WHERE tenant = $1 AND interaction_id = $2"""
_PROFILE = """SELECT profile::text AS profile, set_by, set_at FROM {schema}.creditor_profiles
    WHERE tenant = $1"""

Cursor = tuple[datetime, UUID] | None


def message_of(row) -> Message:
    return Message(
        communication_id=str(row["communication_id"]),
        claim_id=str(row["claim_id"]),
        channel=row["channel"],
        status=row["status"],
        revision=row["revision"],
        step=row["step"],
        outcome=row["outcome"],
        tracking_number=row["tracking_number"],
        carrier=row["carrier"],
        tracking_status=row["tracking_status"],
    )


def _after(cursor: Cursor) -> tuple:
    return (None, None) if cursor is None else cursor


class CommunicationsReadModel:
    def __init__(self, store) -> None:
        self._store = store

    async def account(self, tenant: str, debtor_id: str) -> Account | None:
        """The debtor's account, when the tenant has a claim on it."""
        row = await self._store.fetchrow(_ACCOUNT, tenant, debtor_id)
        account = None if row is None else Account.model_validate_json(row["state"])
        return account if account is not None and account.claims else None

    async def account_of_claim(self, tenant: str, claim_id: UUID) -> Account | None:
        row = await self._store.fetchrow(_ACCOUNT_OF_CLAIM, tenant, claim_id)
        return None if row is None else Account.model_validate_json(row["state"])

    async def message(self, tenant: str, communication_id: UUID) -> dict[str, Any] | None:
        row = await self._store.fetchrow(_MESSAGE, tenant, communication_id)
        return None if row is None else dict(row)

    async def accounts(self, tenant: str, debtor_ids: set[str]) -> dict[str, Account]:
        rows = await self._store.fetch(_ACCOUNTS, tenant, sorted(debtor_ids))
        return {row["debtor_id"]: Account.model_validate_json(row["state"]) for row in rows}

    async def load(self, tenant: str, subject: str) -> Loaded[Target] | None:
        kind, _, key = str(subject).partition(":")
        if kind == "debtor":
            account = await self.account(tenant, key)
            return None if account is None else Loaded(Target(account), key)
        if kind == "claim":
            account = await self.account_of_claim(tenant, UUID(key))
            return None if account is None else Loaded(Target(account), account.debtor_id)
        row = await self.message(tenant, UUID(key))
        if row is None:
            return None
        account = await self.account(tenant, row["debtor_id"])
        if account is None:
            return None
        return Loaded(Target(account, message_of(row)), account.debtor_id)

    async def applied(self, event_id: UUID) -> bool:
        return await self._store.has_applied(event_id)

    async def messages(
        self,
        tenant: str,
        *,
        claim_id: UUID | None,
        statuses: list[str] | None,
        channels: list[str] | None,
        after: Cursor,
        limit: int,
    ) -> list[dict[str, Any]]:
        claim = None if claim_id is None else str(claim_id)
        rows = await self._store.fetch(
            _MESSAGES, tenant, claim, statuses, channels, *_after(after), limit
        )
        return [dict(row) for row in rows]

    async def tasks(self, tenant: str, *, open: bool, after: Cursor, limit: int) -> list[dict]:
        rows = await self._store.fetch(
            _TASKS, tenant, sorted(TASK_CHANNELS), open, *_after(after), limit
        )
        return [dict(row) for row in rows]

    async def review_queue(self, tenant: str, *, after: Cursor, limit: int) -> list[dict]:
        rows = await self._store.fetch(_REVIEW, tenant, *_after(after), limit)
        return [dict(row) for row in rows]

    async def interactions(
        self, tenant: str, *, claim_id: UUID | None, after: Cursor, limit: int
    ) -> list[dict]:
        rows = await self._store.fetch(_INTERACTIONS, tenant, claim_id, *_after(after), limit)
        return [dict(row) for row in rows]

    async def interaction(self, tenant: str, interaction_id: UUID) -> list[dict]:
        rows = await self._store.fetch(_INTERACTION, tenant, interaction_id)
        return [dict(row) for row in rows]

    async def profile(self, tenant: str) -> dict[str, Any] | None:
        row = await self._store.fetchrow(_PROFILE, tenant)
        return None if row is None else dict(row)


class Profiles:
    """The profile bus's read model: the tenant's profile, in the tenant's account ``<t>:``."""

    def __init__(self, read_model: CommunicationsReadModel) -> None:
        self._read_model = read_model

    async def load(self, tenant: str, subject) -> Loaded[Profiled]:
        row = await self._read_model.profile(tenant)
        profile = None if row is None else CreditorProfile.model_validate_json(row["profile"])
        return Loaded(Profiled(profile), debtor_id="")

    async def applied(self, event_id: UUID) -> bool:
        return await self._read_model.applied(event_id)
