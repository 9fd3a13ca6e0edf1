"""The sender: a worker that sends the messages the contact governor released.

It reads the live projection only (a rebuild writes ``<schema>_rebuild``, which it never reads,
and replaying the log appends no ``CommunicationReleased`` that is not there already): a row
``released`` without a ``recorded`` delivery is its work. For each one, under a session advisory
lock (another replica skips it; a crashed replica's lock ends with its session):

1. the delivery is recorded ``sending`` (committed);
2. the message is rendered and handed to its channel;
3. accepted: ``accepted`` is committed with everything its events need, then
   ``CommunicationSent`` (and ``CommunicationDelivered`` when the channel itself delivered) is
   appended, then ``recorded``; refused for good: ``CommunicationFailed``; a temporary failure is
   tried again with a doubling backoff, then fails.

After a crash: ``accepted`` appends the events only, never sends again; ``sending`` means the
crash came while the channel had the message, so it is sent again, with the same Message-ID. The
events' ids derive from the communication: an append repeated after a crash is dropped by every
consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
import orjson
from prometheus_client import Counter

from amiable_communications.adapters.channels import (
    Accepted,
    Channel,
    EmailChannel,
    PermanentFailure,
    SmsChannel,
    TaskChannel,
)
from amiable_communications.adapters.deliveries import Deliveries
from amiable_communications.adapters.letters import LetterChannel
from amiable_communications.app.writer import Refused, Writer
from amiable_communications.settings import CommunicationsSettings
from amiable_events.clock import Clock
from amiable_events.communications import (
    TASK_CHANNELS,
    CommunicationDelivered,
    CommunicationFailed,
    CommunicationSent,
    Cost,
)
from amiable_events.envelope import Envelope, service_actor
from amiable_events.ids import keyed_id
from amiable_events.personal import Sealer
from amiable_events.producer import EventLog
from amiable_events.projection import ProjectionStore
from amiable_events.tracing import extract_context, inside, tracer

log = logging.getLogger(__name__)
SERVICE = "communications"

SENT = Counter("amiable_communications_sent_total", "Messages a channel accepted", ["channel"])
FAILED = Counter("amiable_communications_failed_total", "Messages failed for good", ["channel"])
RETRIES = Counter(
    "amiable_communications_send_retries_total", "Temporary failures to retry", ["channel"]
)

_WORK = """
SELECT c.communication_id, c.tenant, c.debtor_id, c.claim_id, c.claims, c.channel, c.template,
       c.tone, c.revision, c.step, c.traceparent, c.tracestate
FROM {schema}.communications c
LEFT JOIN sender.deliveries d ON d.communication_id = c.communication_id
WHERE c.status = 'released'
  AND (d.state IS NULL OR d.state IN ('sending', 'accepted', 'failed')
       OR (d.state = 'retrying' AND d.retry_at <= now()))
ORDER BY c.released_at, c.communication_id
LIMIT $1
"""
_LOCK = "SELECT pg_try_advisory_lock(hashtextextended('amiable-sender/' || $1::text, 0))"
_UNLOCK = "SELECT pg_advisory_unlock(hashtextextended('amiable-sender/' || $1::text, 0))"


def event_id(communication_id: UUID, what: str) -> UUID:
    return keyed_id(SERVICE, what, str(communication_id))


class Sender:
    def __init__(
        self,
        *,
        settings: CommunicationsSettings,
        store: ProjectionStore,
        log: EventLog,
        clock: Clock,
        sealer: Sealer,
        writer: Writer,
        batch: int = 20,
    ) -> None:
        if store.schema.endswith(("_rebuild", "_old")):
            raise ValueError(f"the sender reads the live schema only, not {store.schema}")
        self.settings = settings
        self.store = store
        self.log = log
        self.clock = clock
        self.sealer = sealer
        self.writer = writer
        self.batch = batch
        self.deliveries = Deliveries(store.engine)
        self.letters = LetterChannel(store.engine, sealer)
        self._http: httpx.AsyncClient | None = None
        self._task: asyncio.Task | None = None
        self._conn = None
        self.channels: dict[str, Channel] = {}

    async def start(self) -> None:
        await self.deliveries.create()
        await self.letters.create()
        self._http = httpx.AsyncClient()
        tasks = TaskChannel()
        self.channels = {
            "email": EmailChannel(self.settings),
            "sms": SmsChannel(self.settings, self._http),
            "letter": self.letters,
            "registered_letter": self.letters,
            **{channel: tasks for channel in TASK_CHANNELS},
        }
        self._task = asyncio.create_task(self._run(), name="communications-sender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._close()
        if self._http is not None:
            await self._http.aclose()

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                done = await self.tick()
                failures = 0
            except Exception:
                failures += 1
                done = 0
                log.warning("sender: a pass failed", exc_info=True)
                await self._close()
            if failures:
                await asyncio.sleep(min(self.settings.send_interval * 2**failures, 30.0))
            elif done < self.batch:
                await asyncio.sleep(self.settings.send_interval)

    async def _connection(self):
        """The sender's own session: its advisory locks are its claims, gone with it."""
        if self._conn is None:
            conn = await self.store.engine.connect()
            self._conn = (conn, (await conn.get_raw_connection()).driver_connection)
        return self._conn[1]

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn[0].invalidate()
            with contextlib.suppress(Exception):
                await conn[0].close()

    async def tick(self) -> int:
        """One pass over the released messages; how many it settled or tried."""
        rows = await self.store.fetch(_WORK, self.batch)
        conn = await self._connection()
        done = 0
        for row in rows:
            cid = row["communication_id"]
            if not await conn.fetchval(_LOCK, str(cid)):
                continue  # another replica has it
            try:
                row = dict(row)
                with self._traced(row):
                    await self._one(row)
                done += 1
            finally:
                await conn.fetchval(_UNLOCK, str(cid))
        return done

    @contextlib.contextmanager
    def _traced(self, row: dict[str, Any]) -> Iterator[None]:
        """A message's delivery, in a span parented on the processing of its release: the
        events it appends (``CommunicationSent``...) are in the story that released it."""
        claims = _json(row["claims"])
        attributes = {
            "amiable.tenant": row["tenant"],
            "amiable.claim_id": str(row["claim_id"]),
            "amiable.communication_id": str(row["communication_id"]),
            "amiable.channel": row["channel"],
        }
        if len(claims) > 1:
            attributes["amiable.claim_ids"] = ",".join(claims)
        span = tracer().start_span(
            f"deliver {row['channel']}",
            context=extract_context(row["traceparent"], row["tracestate"]),
            attributes=attributes,
        )
        try:
            with inside(span, row["tenant"], str(row["claim_id"])):
                yield
        finally:
            span.end()

    async def _one(self, row: dict[str, Any]) -> None:
        cid = row["communication_id"]
        delivery = await self.deliveries.get(cid)
        state = None if delivery is None else delivery["state"]
        if state == "recorded":
            return  # another replica finished it since the pass began
        if state == "accepted":
            await self._record(row, orjson.loads(delivery["outcome"]))
            return
        if state == "failed":
            await self._fail(row, delivery["reason"])
            return
        try:
            written = await self.writer.message(row["tenant"], row["debtor_id"], cid)
        except Refused as exc:
            await self._fail(row, str(exc))
            return
        channel = row["channel"]
        attempt = await self.deliveries.sending(cid, row["tenant"], row["debtor_id"], channel)
        message = written.message
        outcome = await self.channels[channel].send(message)
        if isinstance(outcome, Accepted):
            SENT.labels(channel).inc()
            seal = await self.sealer.sealer_for(f"{row['tenant']}:{row['debtor_id']}")
            content = orjson.dumps({"subject": message.subject, "body": message.body}).decode()
            fields = {
                "message_id": outcome.message_id,
                "provider_reference": outcome.provider_reference,
                "document_sha256": outcome.document_sha256,
                "registered": outcome.registered,
                "delivered": outcome.delivered,
                "language": message.language,
                "content": seal(content),
                "sent_at": message.sent_at.isoformat(),
            }
            await self.deliveries.accepted(cid, fields)
            await self._record(row, fields)
        elif isinstance(outcome, PermanentFailure) or attempt >= self.settings.send_max_attempts:
            await self._fail(row, outcome.reason)
        else:
            RETRIES.labels(channel).inc()
            backoff = self.settings.send_retry_base * 2 ** (attempt - 1)
            await self.deliveries.retrying(cid, outcome.reason, backoff)

    async def _record(self, row: dict[str, Any], fields: dict[str, Any]) -> None:
        cid = row["communication_id"]
        sent_at = datetime.fromisoformat(fields["sent_at"])
        channel = row["channel"]
        cost = self.settings.communication_costs.get(channel)
        sent = CommunicationSent(
            claim_id=row["claim_id"],
            communication_id=cid,
            claims=tuple(UUID(c) for c in _json(row["claims"])),
            channel=channel,
            template=row["template"],
            language=fields["language"],
            tone=row["tone"],
            cost=Cost(amount=cost if cost is not None else 0, currency=self.settings.cost_currency),
            message_id=fields["message_id"],
            provider_reference=fields["provider_reference"],
            document_sha256=fields["document_sha256"],
            registered=fields["registered"],
            content=fields["content"],
            revision=row["revision"],
            step=row["step"],
            sent_at=sent_at,
        )
        events = [sent]
        if fields["delivered"]:
            events.append(
                CommunicationDelivered(
                    claim_id=row["claim_id"],
                    communication_id=cid,
                    channel=channel,
                    delivered_at=sent_at,
                )
            )
        await self._append(row, events, sent_at)
        await self.deliveries.recorded(cid)

    async def _fail(self, row: dict[str, Any], reason: str) -> None:
        cid = row["communication_id"]
        delivery = await self.deliveries.get(cid)
        if delivery is None or delivery["state"] != "failed":
            FAILED.labels(row["channel"]).inc()
            await self.deliveries.failed(
                cid, row["tenant"], row["debtor_id"], row["channel"], reason
            )
        failed = CommunicationFailed(
            claim_id=row["claim_id"],
            communication_id=cid,
            channel=row["channel"],
            revision=row["revision"],
            step=row["step"],
            reason=reason,
            failed_at=self.clock.now(),
        )
        await self._append(row, [failed], failed.failed_at)
        await self.deliveries.recorded(cid)

    async def _append(self, row: dict[str, Any], events: list, at: datetime) -> None:
        names = {
            CommunicationSent: "sent",
            CommunicationDelivered: "delivered",
            CommunicationFailed: "failed",
        }
        await self.log.append(
            [
                Envelope(
                    id=event_id(row["communication_id"], names[type(event)]),
                    subject=str(row["claim_id"]),
                    time=at,
                    tenant=row["tenant"],
                    debtor_id=row["debtor_id"],
                    correlation_id=row["claim_id"],
                    data=event,
                    actor=service_actor(SERVICE),
                )
                for event in events
            ]
        )


def _json(value):
    return orjson.loads(value) if isinstance(value, str | bytes) else value
