"""Folds the claim log into the communications tables: each debtor account's state and the
governor timers it needs, one row per message, the interactions, the creditor profiles.

A batch costs a handful of statements whatever its size: the accounts and message rows it
touches are read at once, folded in memory, and written back at once.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from amiable_communications.adapters.tables import (
    accounts,
    claims,
    communications,
    interactions,
    metadata,
    profiles,
    timers,
)
from amiable_communications.domain.evolve import evolve
from amiable_communications.domain.firing import GOVERNOR, Timer, timer_id
from amiable_communications.domain.firing import timers as timers_of
from amiable_communications.domain.governor import RuleBook
from amiable_communications.domain.state import Account
from amiable_events.claims import ClaimRegistered
from amiable_events.communications import (
    CallOutcomeRecorded,
    CommunicationDeferred,
    CommunicationDelivered,
    CommunicationFailed,
    CommunicationQueued,
    CommunicationReleased,
    CommunicationReviewed,
    CommunicationSent,
    CommunicationSuppressed,
    CreditorProfileSet,
    InteractionRecorded,
    TrackingRecorded,
)
from amiable_events.db import Bulk, json_text, load_account_states, model_json
from amiable_events.envelope import Envelope
from amiable_events.timers import keep_decided_timers, timer_event_id

SERVICE = "communications"
AccountKey = tuple[str, str]
COLUMNS = tuple(c.name for c in communications.columns)
_INTERACTION_COLUMNS = tuple(c.name for c in interactions.columns)
#: The events fired by a governor timer, and the field holding the instant it was due
_FIRED_AT = {
    CommunicationReleased: "released_at",
    CommunicationDeferred: "deferred_at",
    CommunicationSuppressed: "suppressed_at",
}


async def load_accounts(
    connection: asyncpg.Connection, table: str, keys: list[AccountKey]
) -> dict[AccountKey, Account]:
    return await load_account_states(connection, table, keys, Account)


def fired_timer(envelope: Envelope) -> str | None:
    """The governor timer ``envelope`` fired, if it is the firing of one."""
    event = envelope.data
    field = _FIRED_AT.get(type(event))
    if field is None:
        return None
    found = timer_id(str(event.communication_id), getattr(event, field))
    return found if envelope.id == timer_event_id(SERVICE, found) else None


class CommunicationsProjector:
    service = SERVICE
    metadata = metadata

    def __init__(self, rules: RuleBook) -> None:
        self.rules = rules

    async def apply(self, conn: AsyncConnection, envelope: Envelope) -> None:
        await self.apply_many(conn, [envelope])

    async def apply_many(self, conn: AsyncConnection, envelopes: list[Envelope]) -> None:
        by_account: dict[AccountKey, list[Envelope]] = defaultdict(list)
        messages, notes, profile_rows, fired, claim_rows = [], [], [], [], []
        for envelope in envelopes:
            event = envelope.data
            if isinstance(event, CreditorProfileSet):
                profile = event.profile.model_dump(mode="json")
                profile_rows.append((event.tenant, json_text(profile), event.set_by, event.set_at))
                continue
            if not envelope.debtor_id:
                continue
            by_account[envelope.tenant, envelope.debtor_id].append(envelope)
            if isinstance(event, ClaimRegistered):
                claim_rows.append((envelope.tenant, event.claim_id, envelope.debtor_id))
            elif isinstance(event, InteractionRecorded):
                notes.append(_interaction(envelope, event))
            elif getattr(event, "communication_id", None) is not None:
                messages.append(envelope)
                found = fired_timer(envelope)
                if found is not None:
                    fired.append((envelope, found, GOVERNOR))
        bulk = await Bulk.of(conn)
        await bulk.insert(
            profiles,
            ("tenant", "profile", "set_by", "set_at"),
            profile_rows,
            "ON CONFLICT (tenant) DO UPDATE SET profile = excluded.profile, "
            "set_by = excluded.set_by, set_at = excluded.set_at",
        )
        await bulk.insert(
            claims, ("tenant", "claim_id", "debtor_id"), claim_rows, "ON CONFLICT DO NOTHING"
        )
        await bulk.insert(interactions, _INTERACTION_COLUMNS, notes, "ON CONFLICT DO NOTHING")
        await self._messages(bulk, messages)
        if by_account:
            await self._accounts(bulk, by_account, fired)

    async def _accounts(self, bulk: Bulk, by_account: dict, fired: list) -> None:
        states = await load_accounts(bulk.connection, bulk.name(accounts), list(by_account))
        rows, changed = [], {}
        for key, batch in by_account.items():
            before = states.get(key)
            state = before
            for envelope in batch:
                state = evolve(state, envelope)
            if state is None or state == before:
                continue
            rows.append((*key, model_json(state)))
            changed[key] = (state, batch[-1])
        await bulk.insert(
            accounts,
            ("tenant", "debtor_id", "state"),
            rows,
            "ON CONFLICT (tenant, debtor_id) DO UPDATE SET state = excluded.state",
        )
        if changed or fired:
            await self._timers(bulk, changed, fired)

    async def _timers(self, bulk: Bulk, changed: dict, fired: list) -> None:
        """Each changed account keeps exactly the pending timers its state needs now, each with
        the event the state calls for; one that fired is written from its firing event."""
        armed = [
            (timer, last)
            for state, last in changed.values()
            for timer in timers_of(state, self.rules)
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

    async def _messages(self, bulk: Bulk, envelopes: list[Envelope]) -> None:
        if not envelopes:
            return
        ids = list({e.data.communication_id for e in envelopes})
        found = await bulk.connection.fetch(
            f"SELECT * FROM {bulk.name(communications)} WHERE communication_id = ANY($1::uuid[])",
            ids,
        )
        rows: dict[UUID, dict[str, Any]] = {r["communication_id"]: dict(r) for r in found}
        touched = set()
        for envelope in envelopes:
            event = envelope.data
            row = rows.get(event.communication_id)
            if isinstance(event, CommunicationQueued):
                if row is None:
                    rows[event.communication_id] = _queued_row(envelope, event)
                    touched.add(event.communication_id)
            elif row is not None:
                _apply(row, event)
                if isinstance(event, CommunicationReleased):
                    row.update(traceparent=envelope.traceparent, tracestate=envelope.tracestate)
                touched.add(event.communication_id)
            elif isinstance(event, CommunicationSuppressed):
                # Suppressed before it was queued (a closed claim, an erased debtor): the
                # message has a row all the same, so every step's outcome can be read.
                rows[event.communication_id] = _suppressed_row(envelope, event)
                touched.add(event.communication_id)
        written = [_ordered(rows[i]) for i in touched]
        await bulk.insert(
            communications,
            COLUMNS,
            written,
            "ON CONFLICT (communication_id) DO UPDATE SET "
            + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "communication_id"),
        )


def _ordered(row: dict[str, Any]) -> tuple:
    values = []
    for column in COLUMNS:
        value = row.get(column)
        if column in ("claims", "details", "outcome_detail") and not isinstance(
            value, str | type(None)
        ):
            value = json_text(value)
        values.append(value)
    return tuple(values)


def _queued_row(envelope: Envelope, event: CommunicationQueued) -> dict[str, Any]:
    return {
        "communication_id": event.communication_id,
        "tenant": envelope.tenant,
        "debtor_id": envelope.debtor_id,
        "claim_id": event.claim_id,
        "claims": [str(c) for c in event.claims],
        "purpose": event.purpose,
        "template": event.template,
        "channel": event.channel,
        "tone": event.tone,
        "language": event.language,
        "kind": event.kind,
        "status": "in_review" if event.review_required else "queued",
        "review_required": event.review_required,
        "revision": event.revision,
        "step": event.step,
        "group_id": event.group_id,
        "cause_id": event.cause_id,
        "details": None if event.details is None else event.details.model_dump(mode="json"),
        "not_before": event.not_before,
        "at": event.not_before,
        "deferrals": 0,
        "queued_at": event.queued_at,
        "registered": event.channel == "registered_letter",
    }


def _suppressed_row(envelope: Envelope, event: CommunicationSuppressed) -> dict[str, Any]:
    return {
        "communication_id": event.communication_id,
        "tenant": envelope.tenant,
        "debtor_id": envelope.debtor_id,
        "claim_id": event.claim_id,
        "claims": [str(event.claim_id)],
        "purpose": "dunning_step" if event.step else "confirmation",
        "template": "",
        "channel": "email",
        "tone": "neutral",
        "language": "",
        "kind": "reminder",
        "status": "suppressed",
        "review_required": False,
        "revision": event.revision,
        "step": event.step,
        "cause_id": event.communication_id,
        "not_before": event.suppressed_at,
        "at": event.suppressed_at,
        "deferrals": 0,
        "queued_at": event.suppressed_at,
        "suppressed_at": event.suppressed_at,
        "reason": event.reason,
        "registered": False,
    }


def _apply(row: dict[str, Any], event) -> None:
    match event:
        case CommunicationReviewed():
            row.update(review_decision=event.decision, reviewer=event.reviewer)
            if event.decision != "reject":
                row.update(
                    status="queued",
                    at=max(row["at"], event.reviewed_at),
                    edited_subject=event.edited_subject,
                    edited_body=event.edited_body,
                )
        case CommunicationDeferred():
            row.update(at=event.until, deferrals=row["deferrals"] + 1, deferral_rule=event.rule)
        case CommunicationSuppressed():
            row.update(status="suppressed", suppressed_at=event.suppressed_at, reason=event.reason)
        case CommunicationReleased():
            row.update(status="released", channel=event.channel, released_at=event.released_at)
            row["registered"] = event.channel == "registered_letter"
        case CommunicationSent():
            row.update(
                status="sent" if row["status"] == "released" else row["status"],
                sent_at=event.sent_at,
                rendered_language=event.language,
                message_id=event.message_id,
                provider_reference=event.provider_reference,
                document_sha256=event.document_sha256,
                registered=event.registered,
                cost_amount=event.cost.amount,
                cost_currency=event.cost.currency,
                content=event.content,
            )
        case CommunicationDelivered():
            row.update(status="delivered", delivered_at=event.delivered_at)
        case CommunicationFailed():
            row.update(status="failed", failed_at=event.failed_at, reason=event.reason)
        case TrackingRecorded():
            row.update(
                tracking_number=event.tracking_number,
                carrier=event.carrier,
                tracking_status=event.status,
            )
            if event.status == "delivered":
                row.update(status="delivered", delivered_at=event.recorded_at)
        case CallOutcomeRecorded():
            detail = event.promise or event.dispute
            row.update(
                outcome=event.outcome,
                outcome_detail=None if detail is None else orjson.loads(detail.model_dump_json()),
                notes=event.notes,
                agent=event.agent,
                outcome_at=event.recorded_at,
            )


def _interaction(envelope: Envelope, event: InteractionRecorded) -> tuple:
    return (
        event.interaction_id,
        envelope.tenant,
        envelope.debtor_id,
        event.claim_id,
        event.kind,
        event.channel,
        event.summary,
        event.in_reply_to,
        event.recorded_by,
        event.occurred_at,
        event.recorded_at,
    )
