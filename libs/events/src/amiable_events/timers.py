"""Durable timers: rows of a service's projection, fired by a loop through the claim log.

A timer (a promise's grace period, a dunning step, a dispute SLA) is scheduled, moved and
cancelled by the service's projector while it applies events, in the same transaction as its
other rows, so a rebuild from the log rebuilds the timers too. :class:`TimerLoop` fires the due
ones: it appends the event the service's fire function builds, with an id derived from the timer
(:func:`timer_event_id`), and the timer becomes ``fired`` only when that event comes back from
the log and the projector calls :meth:`Timers.fired`. Hence:

- **At most one effect.** A loop that dies after appending re-appends the same event id after a
  restart; consumers drop ids they have already applied.
- **No duplicate appends between replicas.** Due rows are claimed with ``FOR UPDATE SKIP
  LOCKED``, and a claim is kept, after that transaction, until the event has been applied, with
  a session advisory lock on the loop's own database connection. A crashed replica's session
  ends, its locks with it, and another replica takes over (re-appending the same id).
- **Nothing fires during a rebuild.** The loop reads only the live schema; a rebuild writes to
  ``<schema>_rebuild``. With ``runner`` given, the loop also waits until the projection holds
  every event of a timer's partition that was in the log when the tick began (just after a
  rebuild's swap it does not): a timer whose cancelling event is still on its way must not fire.
- **Time is the shared clock** (``Clock.now()``): frozen in tests, accelerated in demos.

The loop never writes to the projection's tables: the timers table holds only what the log
says, so a rebuild gives the same rows and the same digest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Uuid,
    exists,
    func,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from amiable_events.base import Event
from amiable_events.clock import Clock
from amiable_events.db import json_text
from amiable_events.envelope import Envelope, service_actor
from amiable_events.ids import timer_event_id
from amiable_events.metrics import TIMER_TICKS, TIMERS_DUE, TIMERS_FIRED
from amiable_events.outages import outage
from amiable_events.producer import EventLog
from amiable_events.projection import ProjectionRunner, ProjectionStore, failure_reason
from amiable_events.tracing import (
    claim_of,
    event_attributes,
    extract_context,
    inside,
    tracer,
    with_parent,
)

logger = logging.getLogger(__name__)

PENDING = "pending"
CANCELLED = "cancelled"
FIRED = "fired"


def add_timer_table(metadata: MetaData, name: str = "timers") -> Table:
    """The timers of a service, in its projection schema. No wall-clock column: a rebuild from
    the log gives the same rows."""
    table = Table(
        name,
        metadata,
        Column("timer_id", String, primary_key=True, comment="deterministic: '<kind>:<key>'"),
        Column("due_at", DateTime(timezone=True), nullable=False),
        Column("account", String, nullable=False, comment="debtor account '<tenant>:<debtor>'"),
        Column("subject", String, nullable=False, comment="the claim id"),
        Column("kind", String, nullable=False),
        Column("payload", JSONB, nullable=False, comment="what the fire function needs"),
        Column("state", String, nullable=False, comment="pending | cancelled | fired"),
        Column(
            "event_id",
            Uuid,
            nullable=False,
            unique=True,
            comment="the id the firing event has: timer_event_id(service, timer_id)",
        ),
        Column("traceparent", String, comment="the trace of the event that armed the timer"),
        Column("tracestate", String),
    )
    Index(
        f"{name}_pending_due",
        table.c.due_at,
        postgresql_where=table.c.state == PENDING,
    )
    return table


#: The timer table's columns, in the order a projector writing rows in bulk gives them.
TIMER_COLUMNS = (
    "timer_id",
    "due_at",
    "account",
    "subject",
    "kind",
    "payload",
    "state",
    "event_id",
    "traceparent",
    "tracestate",
)


async def write_timers(bulk, table: Table, pending: list[tuple], fired: list[tuple]) -> None:
    """Upsert a projector's timer rows (tuples in :data:`TIMER_COLUMNS` order): the ones its
    state needs now as ``pending``, the ones whose firing event it applied as ``fired``. A fired
    row never changes again, so a late re-projection cannot re-arm it."""
    for state, rows in (("pending", pending), ("fired", fired)):
        await bulk.insert(
            table,
            TIMER_COLUMNS,
            rows,
            "ON CONFLICT (timer_id) DO UPDATE SET due_at = excluded.due_at, "
            "payload = excluded.payload, traceparent = excluded.traceparent, "
            f"tracestate = excluded.tracestate, state = '{state}' "
            "WHERE target.state <> 'fired'",
        )


async def keep_decided_timers(
    bulk,
    table: Table,
    service: str,
    armed: list[tuple[Any, Envelope]],
    accounts: list[str],
    fired: list[tuple[Any, Envelope]],
) -> None:
    """Store timers whose firing event the projection decided from the state that armed them
    (the dunning and communications pattern): ``armed`` are (timer, the event that armed it),
    every timer the ``accounts`` need now, so their other pending timers go; ``fired`` are
    (timer, its firing event). A timer is anything with ``timer_id``, ``due_at``,
    ``claim_id``, ``kind`` and ``event`` (the event to append). Each row stores the event as
    ``{"type", "data"}``; :func:`fire_decided` appends it."""
    pending = [_decided_row(service, timer, envelope, PENDING) for timer, envelope in armed]
    await bulk.connection.execute(
        f"DELETE FROM {bulk.name(table)} WHERE account = ANY($1::text[]) "
        "AND state = 'pending' AND NOT timer_id = ANY($2::text[])",
        accounts,
        [row[0] for row in pending],
    )
    fired_rows = [_decided_row(service, timer, envelope, FIRED) for timer, envelope in fired]
    await write_timers(bulk, table, pending, fired_rows)


def _decided_row(service: str, timer: Any, armed_by: Envelope, state: str) -> tuple:
    return (
        timer.timer_id,
        timer.due_at,
        armed_by.key,
        timer.claim_id,
        timer.kind,
        json_text({"type": timer.event.type, "data": timer.event.model_dump(mode="json")}),
        state,
        timer_event_id(service, timer.timer_id),
        armed_by.traceparent,
        armed_by.tracestate,
    )


def fire_decided(events: Iterable[type[Event]]) -> FireFn:
    """The fire function of timers stored by :func:`keep_decided_timers`: it appends the stored
    event (one of ``events``)."""
    by_type = {model.type: model for model in events}

    def fire(timer: TimerRow) -> Envelope | None:
        model = by_type.get(timer.payload.get("type"))
        if model is None:
            return None
        return timer.envelope(model.model_validate(timer.payload["data"]))

    return fire


@dataclass(frozen=True, slots=True)
class TimerRow:
    """A due timer, as the fire function sees it."""

    timer_id: str
    due_at: datetime
    account: str
    subject: str
    kind: str
    payload: dict[str, Any]
    event_id: UUID
    traceparent: str | None = None
    tracestate: str | None = None

    @property
    def tenant(self) -> str:
        return self.account.partition(":")[0]

    @property
    def debtor_id(self) -> str:
        return self.account.partition(":")[2]

    def envelope(
        self,
        data: Event,
        *,
        correlation_id: UUID | None = None,
        causation_id: UUID | None = None,
    ) -> Envelope:
        """The envelope of the event firing this timer: its deterministic id, its account (so the
        event lands in the partition of the events that scheduled it), its subject, and
        ``due_at`` as its time (deterministic too), and the trace of the event that armed the
        timer, so ops see the firing in the story that led to it. The correlation id defaults to
        the subject when that is a UUID (a claim id), else to the event id."""
        if correlation_id is None:
            try:
                correlation_id = UUID(self.subject)
            except ValueError:
                correlation_id = self.event_id
        return Envelope(
            id=self.event_id,
            subject=self.subject,
            time=self.due_at,
            tenant=self.tenant,
            debtor_id=self.debtor_id,
            correlation_id=correlation_id,
            causation_id=causation_id,
            data=data,
            traceparent=self.traceparent,
            tracestate=self.tracestate,
        )


#: Pure: the event to append for a due timer, or None when there is nothing to do any more.
#: The envelope must carry ``row.event_id`` and be keyed on ``row.account``
#: (``row.envelope(data)`` does both).
FireFn = Callable[[TimerRow], Envelope | None]


def _jsonable(payload: dict[str, Any]) -> dict[str, Any]:
    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return format(value, "f")
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")

    return orjson.loads(orjson.dumps(payload, default=default))


def _timer_row(row) -> TimerRow:
    return TimerRow(
        timer_id=row["timer_id"],
        due_at=row["due_at"],
        account=row["account"],
        subject=row["subject"],
        kind=row["kind"],
        payload=row["payload"],
        event_id=row["event_id"],
        traceparent=row["traceparent"],
        tracestate=row["tracestate"],
    )


class Timers:
    """Schedules, moves and cancels timers; called by a projector inside ``apply``/``apply_many``
    on the batch's connection, so timers commit with the rows and offsets of that batch."""

    def __init__(self, table: Table, *, service: str) -> None:
        self.table = table
        self.service = service

    async def schedule(
        self,
        conn: AsyncConnection,
        *,
        timer_id: str,
        due_at: datetime,
        account: str,
        subject: str,
        kind: str,
        payload: dict[str, Any],
        armed_by: Envelope | None = None,
    ) -> None:
        """Arm ``timer_id`` (or move it, if pending, or re-arm it, if cancelled); a fired timer
        is never re-armed: use a new timer id for a new occurrence.

        ``account`` must be the key of the event being applied, so that the firing event lands
        in the same partition, after it; ``armed_by`` is that event (its trace is kept).
        """
        if due_at.tzinfo is None:
            raise ValueError(f"timer {timer_id}: due_at must be timezone-aware")
        if ":" not in account:
            raise ValueError(f"timer {timer_id}: account must be '<tenant>:<debtor>'")
        table = self.table
        statement = insert(table).values(
            timer_id=timer_id,
            due_at=due_at,
            account=account,
            subject=subject,
            kind=kind,
            payload=_jsonable(payload),
            state=PENDING,
            event_id=timer_event_id(self.service, timer_id),
            traceparent=armed_by.traceparent if armed_by else None,
            tracestate=armed_by.tracestate if armed_by else None,
        )
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=[table.c.timer_id],
                set_={
                    "due_at": statement.excluded.due_at,
                    "account": statement.excluded.account,
                    "subject": statement.excluded.subject,
                    "kind": statement.excluded.kind,
                    "payload": statement.excluded.payload,
                    "state": PENDING,
                },
                where=table.c.state != FIRED,
            )
        )

    async def cancel(self, conn: AsyncConnection, timer_id: str) -> bool:
        """pending -> cancelled; True when a pending timer was cancelled."""
        result = await conn.execute(
            self.table.update()
            .where(self.table.c.timer_id == timer_id, self.table.c.state == PENDING)
            .values(state=CANCELLED)
        )
        return result.rowcount > 0

    async def fired(self, conn: AsyncConnection, event_id: UUID) -> str | None:
        """Mark fired the timer whose firing event is ``event_id`` (call it when applying that
        event); returns its timer id, or None when ``event_id`` fires no timer.

        A timer cancelled after its event was appended is marked fired all the same: the event
        is in the log, and the projector's handling of it decides what it means.
        """
        return await conn.scalar(
            self.table.update()
            .where(self.table.c.event_id == event_id, self.table.c.state != FIRED)
            .values(state=FIRED)
            .returning(self.table.c.timer_id)
        )


_CLAIM = text(
    "SELECT k FROM unnest(CAST(:ids AS text[])) AS k "
    "WHERE pg_try_advisory_lock(hashtextextended(CAST(:prefix AS text) || k, 0))"
)
_RELEASE = text(
    "SELECT pg_advisory_unlock(hashtextextended(CAST(:prefix AS text) || k, 0)) "
    "FROM unnest(CAST(:ids AS text[])) AS k"
)


class TimerLoop:
    """Fires due timers: appends the events ``fire`` builds, once per timer.

    ``tick()`` is one pass (tests call it directly); ``start()`` runs it every ``interval``
    seconds (at once again when a pass filled its ``batch``). With ``runner``, a timer fires only
    once its partition is caught up (bounded by ``catch_up_timeout`` per tick), so every event
    that was in the log when the tick began, e.g. the one that cancels it, is applied first.
    Without ``runner`` (tools, tests) that ordering is the caller's business.

    The loop holds one database connection of its own: its advisory locks (the claims on timers
    whose event is appended but not applied yet) live as long as that session. Start it after
    the runner and stop it before.
    """

    def __init__(
        self,
        *,
        store: ProjectionStore,
        table: Table,
        log: EventLog,
        clock: Clock,
        fire: FireFn,
        service: str,
        interval: float = 0.5,
        batch: int = 100,
        runner: ProjectionRunner | None = None,
        catch_up_timeout: float = 2.0,
    ) -> None:
        if store.schema.endswith(("_rebuild", "_old")):
            raise ValueError(f"timers fire from the live schema only, not {store.schema}")
        if "parked_accounts" not in store.tables or table.name not in store.tables:
            raise ValueError(f"{service}: the timer table must be in the projection's metadata")
        self._store = store
        self._table = table
        self._parked = store.tables["parked_accounts"]
        self._offsets = store.tables["stored_offsets"]
        self._log = log
        self._clock = clock
        self._fire = fire
        self.service = service
        self._interval = interval
        self._batch = batch
        self._runner = runner
        self._catch_up_timeout = catch_up_timeout
        self._prefix = f"amiable-timer/{store.schema}/"
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task | None = None
        # Claimed (advisory lock held) timers whose event is appended, by (partition, offset).
        self._in_flight: dict[str, tuple[int, int]] = {}
        # Claimed timers still pending after their event was applied (their account got parked,
        # or the projector does not call Timers.fired): not re-appended until they settle.
        self._stuck: set[str] = set()
        # (timer id, due_at) for which fire() returned None or failed: not looked at again by
        # this process unless the timer is moved.
        self._dropped: dict[str, datetime] = {}
        #: Completed passes (for health checks and tests).
        self.ticks = 0
        self.appended = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"timers-{self.service}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        async with self._lock:
            await self._close()

    @property
    def alive(self) -> bool:
        """False once the loop's task has ended (it only ends when stopped)."""
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        """Supervised: a failed tick is logged and the loop goes on after a backoff."""
        failures = 0
        while True:
            try:
                appended = await self.tick()
                failures = 0
            except Exception as exc:
                failures += 1
                appended = 0
                # A dependency outage is one line (its traceback would flood the log).
                logger.warning(
                    "timers %s: tick failed (%s)",
                    self.service,
                    failure_reason(exc),
                    exc_info=outage(exc) is None,
                )
            if failures:
                await asyncio.sleep(min(self._interval * 2**failures, 30.0))
            elif appended < self._batch:
                await asyncio.sleep(self._interval)

    async def tick(self) -> int:
        """One pass: append the events of due timers; returns how many were appended."""
        async with self._lock:
            try:
                appended = await self._tick()
            except BaseException:
                # Whatever state the session is in, end it: its claims go with it, and what was
                # in flight is re-appended later with the same ids (consumers drop duplicates).
                await self._close(invalidate=True)
                raise
            self.ticks += 1
            TIMER_TICKS.labels(self.service).inc()
            self.appended += appended
            return appended

    async def _tick(self) -> int:
        if self._runner is not None and not self._runner.started:
            return 0
        conn = await self._connection()
        await self._settle(conn)
        now = self._clock.now()
        candidates = await self._candidates(conn, now)
        if candidates and self._runner is not None:
            candidates = await self._caught_up(candidates)
        if not candidates:
            return 0
        table = self._table
        async with conn.begin():
            rows = (
                await conn.execute(
                    select(table)
                    .where(
                        table.c.timer_id.in_([timer_id for timer_id, _ in candidates]),
                        table.c.state == PENDING,
                        table.c.due_at <= now,
                    )
                    .order_by(table.c.due_at, table.c.timer_id)
                    .with_for_update(skip_locked=True)
                )
            ).mappings()
            timers = [_timer_row(row) for row in rows]
            if not timers:
                return 0
            claimed = set(
                (
                    await conn.execute(
                        _CLAIM, {"ids": [t.timer_id for t in timers], "prefix": self._prefix}
                    )
                ).scalars()
            )
            firing: list[tuple[TimerRow, Envelope]] = []
            for timer in timers:
                if timer.timer_id not in claimed:
                    continue  # another loop appended it; its event is on the way
                envelope = self._envelope(timer)
                if envelope is None:
                    self._dropped[timer.timer_id] = timer.due_at
                else:
                    firing.append((timer, envelope))
            unused = claimed - {timer.timer_id for timer, _ in firing}
            if unused:
                await self._release(conn, sorted(unused))
            if not firing:
                return 0
            # Appended while the rows are still locked: a concurrent loop skips them, then finds
            # them claimed until the events are applied.
            appended = await self._append_traced(firing)
            for (timer, _), where in zip(firing, appended, strict=True):
                self._in_flight[timer.timer_id] = (where.partition, where.offset)
        TIMERS_FIRED.labels(self.service).inc(len(firing))
        return len(firing)

    async def _append_traced(self, firing: list[tuple[TimerRow, Envelope]]):
        """Each firing in a span parented on the span that armed its timer, its event caused by
        that span; the append inside the first one's (usually the only one)."""
        spans = [self._span(timer, envelope) for timer, envelope in firing]
        try:
            envelopes = [
                with_parent(envelope, span)
                for (_, envelope), span in zip(firing, spans, strict=True)
            ]
            first = envelopes[0]
            with inside(spans[0], first.tenant, claim_of(first.data)):
                return await self._log.append(envelopes)
        finally:
            for span in spans:
                span.end()

    def _span(self, timer: TimerRow, envelope: Envelope) -> trace.Span:
        return tracer().start_span(
            f"timer {timer.kind}",
            context=extract_context(timer.traceparent, timer.tracestate),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "create",
                "messaging.operation.name": "create",
                "messaging.destination.name": self._log.topic,
                "messaging.message.id": str(envelope.id),
                "amiable.timer_id": timer.timer_id,
                **event_attributes(envelope),
            },
        )

    def _envelope(self, timer: TimerRow) -> Envelope | None:
        try:
            envelope = self._fire(timer)
        except Exception:
            logger.exception("timers %s: fire(%s) failed; skipped", self.service, timer.timer_id)
            return None
        if envelope is None:
            return None
        if envelope.id != timer.event_id or envelope.key != timer.account:
            logger.error(
                "timers %s: fire(%s) must build an envelope with id %s on account %s "
                "(TimerRow.envelope does); got id %s on %s; skipped",
                self.service,
                timer.timer_id,
                timer.event_id,
                timer.account,
                envelope.id,
                envelope.key,
            )
            return None
        return replace(envelope, actor=service_actor(self.service))  # the service fires it

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            conn = await self._store.engine.connect()
            await conn.execution_options(schema_translate_map={None: self._store.schema})
            self._conn = conn
        return self._conn

    async def _close(self, *, invalidate: bool = False) -> None:
        conn, self._conn = self._conn, None
        self._in_flight.clear()
        self._stuck.clear()
        if conn is None:
            return
        try:
            if not invalidate:
                async with conn.begin():
                    await conn.execute(text("SELECT pg_advisory_unlock_all()"))
                await conn.close()
                return
        except Exception:
            logger.warning("timers %s: closing the connection failed", self.service, exc_info=True)
        # Closing the socket ends the session and with it every advisory lock it held (a pooled
        # connection given back would keep them).
        with contextlib.suppress(Exception):
            await conn.invalidate()
        with contextlib.suppress(Exception):
            await conn.close()

    async def _settle(self, conn: AsyncConnection) -> None:
        """Let go of the claims whose event the projection has applied."""
        if not self._in_flight and not self._stuck and not self._dropped:
            return
        table = self._table
        async with conn.begin():
            offsets = self._offsets
            positions = dict(
                (await conn.execute(select(offsets.c.partition, offsets.c.next_offset))).all()
            )
            passed = [
                timer_id
                for timer_id, (partition, offset) in self._in_flight.items()
                if positions.get(partition, 0) > offset
            ]
            watched = [*passed, *self._stuck, *self._dropped]
            pending = dict(
                (
                    await conn.execute(
                        select(table.c.timer_id, table.c.due_at).where(
                            table.c.timer_id.in_(watched), table.c.state == PENDING
                        )
                    )
                ).all()
            )
            release = []
            for timer_id in passed:
                del self._in_flight[timer_id]
                if timer_id in pending:
                    logger.error(
                        "timers %s: %s is still pending after its event was applied (parked "
                        "account, or a projector that does not call Timers.fired); not re-fired "
                        "until it settles",
                        self.service,
                        timer_id,
                    )
                    self._stuck.add(timer_id)
                else:
                    release.append(timer_id)
            for timer_id in list(self._stuck):
                if timer_id not in pending:
                    self._stuck.discard(timer_id)
                    release.append(timer_id)
            for timer_id, due_at in list(self._dropped.items()):
                if pending.get(timer_id) != due_at:
                    del self._dropped[timer_id]
            if release:
                await self._release(conn, release)

    async def _release(self, conn: AsyncConnection, timer_ids: list[str]) -> None:
        await conn.execute(_RELEASE, {"ids": timer_ids, "prefix": self._prefix})

    async def _candidates(self, conn: AsyncConnection, now: datetime) -> list[tuple[str, str]]:
        """Due pending timers not claimed by this loop, outside parked accounts."""
        table = self._table
        query = select(table.c.timer_id, table.c.account).where(
            table.c.state == PENDING,
            table.c.due_at <= now,
            ~exists().where(self._parked.c.account == table.c.account),
        )
        mine = [*self._in_flight, *self._stuck]
        if mine:
            query = query.where(table.c.timer_id.not_in(mine))
        if self._dropped:
            query = query.where(
                tuple_(table.c.timer_id, table.c.due_at).not_in(list(self._dropped.items()))
            )
        async with conn.begin():
            found = [
                (timer_id, account)
                for timer_id, account in await conn.execute(
                    query.order_by(table.c.due_at, table.c.timer_id).limit(self._batch)
                )
            ]
            # Counted only when the batch is full: below that, the batch is every due timer.
            due = len(found)
            if due == self._batch:
                due = await conn.scalar(select(func.count()).select_from(query.subquery()))
        TIMERS_DUE.labels(self.service).set(due)
        return found

    async def _caught_up(self, candidates: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """The candidates whose partition the projection holds up to the end of the log as of
        now (a bounded wait); the others wait for a later tick."""
        runner = self._runner
        assert runner is not None
        partition_of = {account: runner.partition_for(account) for _, account in candidates}
        keys = {}
        for account, partition in partition_of.items():
            keys.setdefault(partition, account)
        deadline = time.monotonic() + self._catch_up_timeout
        ready = set()
        for partition, account in sorted(keys.items()):
            remaining = max(0.0, deadline - time.monotonic())
            if await runner.wait_caught_up(account, remaining):
                ready.add(partition)
        if len(ready) < len(keys):
            logger.info(
                "timers %s: partitions %s not caught up yet; their timers wait",
                self.service,
                sorted(set(keys) - ready),
            )
        return [(t, account) for t, account in candidates if partition_of[account] in ready]
