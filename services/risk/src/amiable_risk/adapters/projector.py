"""Folds the claim log into risk's tables: each debtor account's state and current
assessment, the assessments and alerts published, and one review timer per account.

A batch costs a handful of statements whatever its size: the states of its accounts are read at
once, folded in memory with the pure ``evolve``, and written back at once.
"""

from __future__ import annotations

from collections import defaultdict

import asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection

from amiable_events.db import Bulk, json_text, load_account_states, model_json
from amiable_events.envelope import Envelope
from amiable_events.risk import RiskAlertRaised, RiskAssessed
from amiable_events.timers import timer_event_id, write_timers
from amiable_risk.adapters.tables import accounts, alerts, assessments, metadata, timers
from amiable_risk.domain.evolve import evolve, follows
from amiable_risk.domain.scorecard import Scorecard
from amiable_risk.domain.state import Account, Assessment
from amiable_risk.domain.timers import REVIEW, next_review

_ACCOUNT_COLUMNS = (
    "tenant",
    "debtor_id",
    "state",
    "score",
    "grade",
    "segment",
    "open_balance",
    "assessed_at",
)
_ACCOUNT_UPSERT = (
    "ON CONFLICT (tenant, debtor_id) DO UPDATE SET state = excluded.state, "
    "score = excluded.score, grade = excluded.grade, segment = excluded.segment, "
    "open_balance = excluded.open_balance, assessed_at = excluded.assessed_at"
)
_HISTORY_COLUMNS = (
    "event_id",
    "tenant",
    "debtor_id",
    "partition",
    "offset",
    "assessed_at",
    "assessment",
)
_ALERT_COLUMNS = ("event_id", "tenant", "debtor_id", "signal", "as_of", "raised_at", "evidence")

AccountKey = tuple[str, str]


async def load_states(
    connection: asyncpg.Connection, table: str, keys: list[AccountKey]
) -> dict[AccountKey, Account]:
    """The stored states of these (tenant, debtor id) accounts; absent ones are left out."""
    return await load_account_states(connection, table, keys, Account)


class RiskProjector:
    service = "risk"
    metadata = metadata

    def __init__(self, scorecard: Scorecard) -> None:
        self.scorecard = scorecard

    async def apply(self, conn: AsyncConnection, envelope: Envelope) -> None:
        await self.apply_many(conn, [envelope])

    async def apply_many(self, conn: AsyncConnection, envelopes: list[Envelope]) -> None:
        by_account: dict[AccountKey, list[Envelope]] = defaultdict(list)
        published, raised, fired = [], [], []
        for envelope in envelopes:
            kind = type(envelope.data)
            if kind is RiskAlertRaised:  # changes no state: the state raised it
                raised.append(_alert_row(envelope))
            elif follows(envelope):
                by_account[envelope.tenant, envelope.debtor_id].append(envelope)
                if kind is RiskAssessed:
                    published.append(_assessment_row(envelope))
                    if envelope.data.trigger == "time_passed":
                        fired.append(envelope)
        bulk = await Bulk.of(conn)
        await bulk.insert(alerts, _ALERT_COLUMNS, raised, "ON CONFLICT DO NOTHING")
        if not by_account:
            return
        states = await load_states(bulk.connection, bulk.name(accounts), list(by_account))
        account_rows, armed = [], {}
        for (tenant, debtor_id), events in by_account.items():
            state = states.get((tenant, debtor_id))
            for envelope in events:
                state = evolve(state, envelope, self.scorecard)
            if state is None:
                continue
            assessment = state.assessment
            account_rows.append(
                (
                    tenant,
                    debtor_id,
                    model_json(state),
                    assessment.score if assessment else None,
                    assessment.grade if assessment else None,
                    assessment.segment if assessment else None,
                    json_text({c: format(a, "f") for c, a in state.open_balance().items()}),
                    state.assessed_at,
                )
            )
            armed[tenant, debtor_id] = (state, events[-1])
        await bulk.insert(accounts, _ACCOUNT_COLUMNS, account_rows, _ACCOUNT_UPSERT)
        await bulk.insert(assessments, _HISTORY_COLUMNS, published, "ON CONFLICT DO NOTHING")
        await self._reconcile_reviews(bulk, fired, armed)

    async def _reconcile_reviews(
        self,
        bulk: Bulk,
        fired: list[Envelope],
        armed: dict[AccountKey, tuple[Account, Envelope]],
    ) -> None:
        """Each account of the batch keeps exactly the pending review its state needs now (or
        none): a review no longer needed is deleted, not kept as cancelled, a pending one
        carries the trace of the account's latest event, and a fired one is written from its
        firing event. So the rows do not depend on how the log was cut into batches (a rebuild
        gives the live digest)."""
        rows = []
        for (tenant, debtor_id), (state, last) in armed.items():
            review = next_review(state, self.scorecard)
            if review is not None:
                rows.append(
                    _timer_row(
                        tenant, debtor_id, review.day, review.due_at, review.assessment, last
                    )
                )
        await bulk.connection.execute(
            f"DELETE FROM {bulk.name(timers)} WHERE account = ANY($1::text[]) "
            "AND state = 'pending' AND NOT timer_id = ANY($2::text[])",
            [f"{tenant}:{debtor_id}" for tenant, debtor_id in armed],
            [row[0] for row in rows],
        )
        await write_timers(bulk, timers, rows, _fired_rows(fired))


def _timer_row(tenant, debtor_id, day, due_at, assessment: Assessment, armed_by: Envelope):
    account = f"{tenant}:{debtor_id}"
    timer_id = f"{REVIEW}:{account}:{day.isoformat()}"
    return (
        timer_id,
        due_at,
        account,
        f"debtor:{debtor_id}",
        REVIEW,
        json_text({"assessment": assessment.model_dump(mode="json")}),
        "pending",
        timer_event_id(RiskProjector.service, timer_id),
        armed_by.traceparent,
        armed_by.tracestate,
    )


def _fired_rows(fired: list[Envelope]) -> list[tuple]:
    """The rows of the reviews these ``time_passed`` assessments fired, as they were armed."""
    rows = []
    for envelope in fired:
        event = envelope.data
        assessment = Assessment(
            **event.model_dump(include=set(Assessment.model_fields)),
        )
        row = _timer_row(
            envelope.tenant, event.debtor_id, event.as_of, envelope.time, assessment, envelope
        )
        rows.append((*row[:6], "fired", *row[7:]))
    return rows


def _assessment_row(envelope: Envelope) -> tuple:
    event = envelope.data
    return (
        envelope.id,
        envelope.tenant,
        envelope.debtor_id,
        envelope.partition,
        envelope.offset,
        event.assessed_at,
        json_text(event.model_dump(mode="json")),
    )


def _alert_row(envelope: Envelope) -> tuple:
    event = envelope.data
    return (
        envelope.id,
        envelope.tenant,
        envelope.debtor_id,
        event.signal,
        event.as_of,
        event.raised_at,
        json_text(event.model_dump(mode="json")["evidence"]),
    )
