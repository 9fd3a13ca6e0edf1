"""Folds the claim log into the dunning tables: each debtor account's state, its claims and
their current steps, the timers their steps and snoozes need, and the tenants' policies.

A batch costs a handful of statements whatever its size: the accounts it touches are read at
once, folded in memory with the pure ``evolve``, and written back at once.
"""

from __future__ import annotations

from collections import defaultdict
from uuid import UUID

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from amiable_dunning.adapters.tables import (
    accounts,
    activations,
    claims,
    metadata,
    policies,
    steps,
    timers,
)
from amiable_dunning.domain.evolve import evolve
from amiable_dunning.domain.firing import (
    SNOOZE,
    STEP,
    Timer,
    snooze_timer_id,
    step_timer_id,
)
from amiable_dunning.domain.firing import (
    timers as timers_of,
)
from amiable_dunning.domain.state import Account
from amiable_events.db import Bulk, json_text, load_account_states, model_json
from amiable_events.dunning import (
    DunningApprovalRequested,
    DunningPolicyActivated,
    DunningPolicyPublished,
    DunningResumed,
    DunningStepDue,
    DunningStepSkipped,
)
from amiable_events.envelope import Envelope
from amiable_events.ledger import Figures
from amiable_events.timers import keep_decided_timers, timer_event_id

SERVICE = "dunning"
AccountKey = tuple[str, str]

_CLAIM_COLUMNS = tuple(c.name for c in claims.columns)
_STEP_COLUMNS = tuple(c.name for c in steps.columns)


async def load_accounts(
    connection: asyncpg.Connection, table: str, keys: list[AccountKey]
) -> dict[AccountKey, Account]:
    """The stored states of these (tenant, debtor id) accounts; absent ones are left out."""
    return await load_account_states(connection, table, keys, Account)


def fired_timer(envelope: Envelope) -> tuple[str, str] | None:
    """(timer id, kind) when ``envelope`` is the firing of one of the service's timers."""
    event = envelope.data
    if isinstance(event, DunningStepDue | DunningStepSkipped | DunningApprovalRequested):
        timer_id, kind = step_timer_id(str(event.claim_id), event.revision, event.step), STEP
    elif isinstance(event, DunningResumed) and event.reason == "promise_period_over":
        timer_id, kind = snooze_timer_id(str(event.claim_id), event.revision - 1), SNOOZE
    else:
        return None
    return (timer_id, kind) if envelope.id == timer_event_id(SERVICE, timer_id) else None


class DunningProjector:
    service = SERVICE
    metadata = metadata

    def __init__(self, figures: Figures) -> None:
        self.figures = figures

    async def apply(self, conn: AsyncConnection, envelope: Envelope) -> None:
        await self.apply_many(conn, [envelope])

    async def apply_many(self, conn: AsyncConnection, envelopes: list[Envelope]) -> None:
        by_account: dict[AccountKey, list[Envelope]] = defaultdict(list)
        published, activated, fired = [], [], []
        for envelope in envelopes:
            event = envelope.data
            if isinstance(event, DunningPolicyPublished):
                published.append(event)
            elif isinstance(event, DunningPolicyActivated):
                activated.append(event)
            elif envelope.debtor_id:
                by_account[envelope.tenant, envelope.debtor_id].append(envelope)
                found = fired_timer(envelope)
                if found is not None:
                    fired.append((envelope, *found))
        bulk = await Bulk.of(conn)
        await self._policies(bulk, published, activated)
        if not by_account:
            return
        states = await load_accounts(bulk.connection, bulk.name(accounts), list(by_account))
        account_rows, changed = [], {}
        for key, batch in by_account.items():
            before = states.get(key)
            state = before
            for envelope in batch:
                state = evolve(state, envelope)
            if state is None or state == before:
                continue
            account_rows.append((*key, model_json(state)))
            changed[key] = (state, batch[-1])
        if not changed:
            return
        await bulk.insert(
            accounts,
            ("tenant", "debtor_id", "state"),
            account_rows,
            "ON CONFLICT (tenant, debtor_id) DO UPDATE SET state = excluded.state",
        )
        await self._queries(bulk, [state for state, _ in changed.values()])
        await self._timers(bulk, changed, fired)

    async def _policies(self, bulk: Bulk, published: list, activated: list) -> None:
        await bulk.insert(
            policies,
            ("tenant", "policy_id", "version", "document", "published_at"),
            [
                (e.tenant, e.policy_id, e.version, json_text(e.document), e.published_at)
                for e in published
            ],
            "ON CONFLICT DO NOTHING",
        )
        await bulk.insert(
            activations,
            ("tenant", "activated_at", "policy_id", "version"),
            [(e.tenant, e.activated_at, e.policy_id, e.version) for e in activated],
            "ON CONFLICT DO NOTHING",
        )

    async def _queries(self, bulk: Bulk, states: list[Account]) -> None:
        claim_rows, step_rows = [], []
        for account in states:
            for claim in account.claims.values():
                ledger = claim.ledger
                claim_id = UUID(claim.claim_id)
                claim_rows.append(
                    (
                        claim_id,
                        account.tenant,
                        account.debtor_id,
                        claim.status,
                        claim.track,
                        claim.revision,
                        ledger.amount,
                        ledger.currency,
                        ledger.due_on,
                    )
                )
                for record in claim.steps:
                    step = record.step
                    step_rows.append(
                        (
                            claim_id,
                            record.revision,
                            step.key,
                            account.tenant,
                            account.debtor_id,
                            step.action,
                            step.channels[0],
                            step.stage,
                            record.status,
                            step.at,
                            step.needs_approval,
                            ledger.amount,
                            ledger.currency,
                            ledger.due_on,
                        )
                    )
        await bulk.insert(
            claims,
            _CLAIM_COLUMNS,
            claim_rows,
            "ON CONFLICT (claim_id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in _CLAIM_COLUMNS if c != "claim_id"),
        )
        await bulk.connection.execute(
            f"DELETE FROM {bulk.name(steps)} WHERE claim_id = ANY($1::uuid[])",
            [row[0] for row in claim_rows],
        )
        await bulk.insert(steps, _STEP_COLUMNS, step_rows)

    async def _timers(self, bulk: Bulk, changed: dict, fired: list) -> None:
        """Each account of the batch keeps exactly the pending timers its state needs now, each
        with the event the state calls for; one that fired is written from its firing event.
        So the rows do not depend on how the log was cut into batches."""
        armed = [
            (timer, last)
            for state, last in changed.values()
            for timer in timers_of(state, self.figures)
        ]
        accounts = [last.key for _, last in changed.values()]
        fired_timers = [
            (
                Timer(found, envelope.time, str(envelope.data.claim_id), kind, envelope.data),
                envelope,
            )
            for envelope, found, kind in fired
        ]
        await keep_decided_timers(bulk, timers, SERVICE, armed, accounts, fired_timers)
