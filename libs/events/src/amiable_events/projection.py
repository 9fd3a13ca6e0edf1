"""The projection runner: folds the claim log into a service's PostgreSQL read model.

What it guarantees, and why:
- Each partition's next offset is stored in the same transaction as the rows the batch wrote,
  and the runner seeks to those offsets, never to Kafka's committed ones: a crash at any point
  leaves rows and positions consistent.
- Event ids already applied are dropped, so a re-appended event is applied once.
- A record that cannot be decoded goes to the service's dead-letter topic and the runner goes
  on. An event that decodes but fails to apply parks its debtor account: that account's later
  events wait, in order, in ``parked_events`` until they are replayed (``unpark``); other
  accounts go on. Skipping one event of a fold would corrupt state.
- ``rebuild`` replays from offset 0 into a fresh schema and swaps it in; the live runner notices
  its stored positions moved and seeks to them.
- It never causes side effects: it only writes its own tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError, KafkaTimeoutError
from aiokafka.structs import ConsumerRecord
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Uuid,
    bindparam,
    select,
    text,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateIndex, CreateTable

from amiable_events.claims import DebtorPersonalDataErased
from amiable_events.db import Bulk, raw
from amiable_events.envelope import DecodeError, Envelope, decode
from amiable_events.errors import Parked
from amiable_events.kafka import log_reader
from amiable_events.metrics import DEAD_LETTERS, PARKED_ACCOUNTS, count_applied, set_lag
from amiable_events.outages import outage
from amiable_events.reactions import Batch as ReactionBatch
from amiable_events.reactions import Reactor
from amiable_events.registry import Registry
from amiable_events.topics import dlq_topic, partition_for
from amiable_events.tracing import (
    claim_of,
    event_attributes,
    extract_context,
    inside,
    tracer,
    with_parent,
)

log = logging.getLogger(__name__)

LIVE_SCHEMA = "projection"
#: Parts a failing run of events is applied again in, to find its first failing event.
SEARCH_PARTS = 8
#: Seconds to wait for a partition's end offset before the broker counts as unreachable.
END_OFFSETS_TIMEOUT = 2.0


class Appender(Protocol):
    async def append(self, envelopes: list[Envelope], *, atomic: bool = True) -> Any: ...


class Projector(Protocol):
    """What a service gives the runner: its tables and how one event changes them.

    A projector may also define ``apply_many(conn, events)`` to apply a batch with a few
    set-based statements; it must give the same rows as ``apply`` called event by event, which
    the runner falls back to (with a savepoint each) when a batch fails.
    """

    service: str
    metadata: MetaData

    async def apply(self, conn: AsyncConnection, event: Envelope) -> None: ...


def add_runner_tables(metadata: MetaData) -> None:
    """The runner's bookkeeping lives beside the projection's rows, in the same schema."""
    Table(
        "stored_offsets",
        metadata,
        Column("partition", Integer, primary_key=True),
        Column("next_offset", BigInteger, nullable=False),
    )
    Table("applied_events", metadata, Column("event_id", Uuid, primary_key=True))
    # Below these positions the live store does not react: a rebuild or a migration replayed
    # them, and their reactions were appended when they were first applied.
    Table(
        "reaction_horizon",
        metadata,
        Column("partition", Integer, primary_key=True),
        Column("next_offset", BigInteger, nullable=False),
    )
    Table(
        "parked_accounts",
        metadata,
        Column("account", String, primary_key=True),
        Column("event_id", Uuid, nullable=False),
        Column("event_type", String, nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("reason", Text, nullable=False),
    )
    Table(
        "parked_events",
        metadata,
        Column("partition", Integer, primary_key=True),
        Column("offset", BigInteger, primary_key=True),
        Column("account", String, nullable=False, index=True),
        Column("key", LargeBinary),
        Column("value", LargeBinary),
        Column("headers", JSONB, nullable=False),
    )


def _tables(metadata: MetaData) -> dict[str, Table]:
    return {table.name: table for table in metadata.sorted_tables}


@dataclass
class BatchResult:
    applied: int = 0
    #: The events applied, in log order (for the metrics).
    applied_events: list[Envelope] = field(default_factory=list)
    duplicates: int = 0
    dead_lettered: int = 0
    parked: int = 0
    caused: int = 0
    #: (account, partition, offset) of each record parked.
    parked_at: list[tuple[str, int, int]] = field(default_factory=list)
    seeks: dict[int, int] = field(default_factory=dict)


#: A record, and its envelope or why it cannot be decoded.
Decoded = tuple[ConsumerRecord, Envelope | None, str | None]


class _Transient(Exception):
    """A batch must be retried from the start (deadlock, swapped schema, lost connection)."""


class ProjectionStore:
    """The projection's schema in PostgreSQL: creating it, applying batches, digests, parking."""

    def __init__(
        self,
        projector: Projector,
        engine: AsyncEngine,
        registry: Registry,
        *,
        schema: str = LIVE_SCHEMA,
        reactor: Reactor | None = None,
        log: Appender | None = None,
        durable: bool = True,
    ) -> None:
        """``durable=False``: commits do not wait for the WAL to reach the disk; only for a
        schema nobody reads yet (a rebuild's, made durable by its swap's commit)."""
        if reactor is not None and log is None:
            raise ValueError(f"{projector.service}: reactions need a log to append to")
        self.projector = projector
        self.engine = engine
        self.registry = registry
        self.schema = schema
        self.reactor = reactor
        self.log = log
        self.durable = durable
        self.tables = _tables(projector.metadata)
        self._sql: dict[str, str] = {}
        self._statements: dict[str, Any] = {}
        for required in (
            "stored_offsets",
            "applied_events",
            "reaction_horizon",
            "parked_accounts",
            "parked_events",
        ):
            if required not in self.tables:
                raise ValueError(f"{projector.service}: call add_runner_tables(metadata)")

    @contextlib.asynccontextmanager
    async def transaction(self):
        async with self.engine.begin() as conn:
            await conn.execution_options(schema_translate_map={None: self.schema})
            if not self.durable:
                await conn.execute(text("SET LOCAL synchronous_commit = off"))
            yield conn

    @contextlib.asynccontextmanager
    async def reading(self):
        """A connection for one read-only query: autocommit, so no BEGIN/COMMIT round trips."""
        async with self.engine.connect() as conn:
            await conn.execution_options(
                schema_translate_map={None: self.schema}, isolation_level="AUTOCOMMIT"
            )
            yield conn

    def raw(self):
        """:func:`amiable_events.db.raw` on this store's engine."""
        return raw(self.engine)

    def sql(self, template: str) -> str:
        """``template`` with ``{schema}`` naming this store's schema (formatted once)."""
        found = self._sql.get(template)
        if found is None:
            found = self._sql[template] = template.format(schema=f'"{self.schema}"')
        return found

    async def fetch(self, template: str, *args) -> list[asyncpg.Record]:
        """The rows of ``template`` (:meth:`sql`), a prepared statement on :meth:`raw`."""
        async with self.raw() as conn:
            return await conn.fetch(self.sql(template), *args)

    async def fetchrow(self, template: str, *args) -> asyncpg.Record | None:
        async with self.raw() as conn:
            return await conn.fetchrow(self.sql(template), *args)

    def fingerprint(self) -> str:
        """A hash of the tables' DDL: it changes whenever the projection's shape changes."""
        dialect = postgresql.dialect()
        ddl = []
        for table in self.projector.metadata.sorted_tables:
            ddl.append(str(CreateTable(table).compile(dialect=dialect)))
            ddl += sorted(str(CreateIndex(i).compile(dialect=dialect)) for i in table.indexes)
        return hashlib.sha256("\n".join(ddl).encode()).hexdigest()

    async def create(self, *, fresh: bool = False, index_later: bool = False) -> None:
        """Create the schema (``fresh``: drop it first; only for a schema no replica reads).

        ``index_later``: the tables without their non-unique indexes, which
        :meth:`create_indexes` builds once the rows are in (a rebuild: one sort per index
        instead of an index insertion per row; the unique ones stay, they are constraints).

        A schema of another shape is never dropped: replicas of the previous version still
        read and write it during a rolling deploy. This version projects into a schema of its
        own, ``<schema>_<fingerprint[:12]>`` (:meth:`resolve`), which the runner fills by
        replaying the log from offset 0; /readyz says not ready until it has caught up. Its
        reaction horizon is where the old schema stood, so nothing reacts twice (a reaction
        appended by both versions meanwhile has one deterministic id). The old schema is left
        for an operator to drop once no replica runs the old version (docs/architecture.md).
        """
        fingerprint = self.fingerprint()
        reacted: dict[int, int] = {}
        async with self.engine.begin() as conn:
            # Replicas starting together create the schema one at a time.
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"),
                {"name": f"amiable-projection-create/{self.schema}"},
            )
            if fresh:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
            else:
                configured = self.schema
                await self._resolve(conn)
                if self.schema != configured and await _shape(conn, self.schema) is None:
                    log.warning(
                        "projection %s: %s holds another shape; replaying the log into %s "
                        "(the old schema stays for replicas of the previous version)",
                        self.projector.service,
                        configured,
                        self.schema,
                    )
                    reacted = await _stored_offsets(conn, configured)
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            await conn.execute(text(f"COMMENT ON SCHEMA \"{self.schema}\" IS '{fingerprint}'"))
            await conn.execution_options(schema_translate_map={None: self.schema})
            if index_later:
                for table in self.projector.metadata.sorted_tables:
                    await conn.execute(CreateTable(table))
                    for index in sorted(table.indexes, key=lambda index: index.name):
                        if index.unique:
                            await conn.execute(CreateIndex(index))
            else:
                await conn.run_sync(self.projector.metadata.create_all)
            if reacted:
                horizon = self.tables["reaction_horizon"]
                await conn.execute(
                    insert(horizon).on_conflict_do_nothing(),
                    [{"partition": p, "next_offset": o} for p, o in sorted(reacted.items())],
                )

    async def create_indexes(self) -> None:
        """The indexes :meth:`create` left for later (the schema keeps its shape either way)."""
        async with self.transaction() as conn:
            for table in self.projector.metadata.sorted_tables:
                for index in sorted(table.indexes, key=lambda index: index.name):
                    await conn.execute(CreateIndex(index, if_not_exists=True))

    async def resolve(self) -> str:
        """Point this store at the schema of its shape (see :meth:`create`); tools call it
        before acting on a running service's projection."""
        async with self.engine.connect() as conn:
            await self._resolve(conn)
        return self.schema

    async def _resolve(self, conn) -> None:
        fingerprint = self.fingerprint()
        shape = await _shape(conn, self.schema)
        if shape is not None and shape != fingerprint:
            self.schema = f"{self.schema}_{fingerprint[:12]}"

    async def has_applied(self, event_id) -> bool:
        found = await self.fetchrow(
            "SELECT 1 FROM {schema}.applied_events WHERE event_id = $1", event_id
        )
        return found is not None

    async def positions(self) -> dict[int, int]:
        rows = await self.fetch('SELECT "partition", next_offset FROM {schema}.stored_offsets')
        return {partition: next_offset for partition, next_offset in rows}

    async def horizon(self) -> dict[int, int]:
        """Each partition's reaction horizon: below it, this schema replays what another applied."""
        rows = await self.fetch('SELECT "partition", next_offset FROM {schema}.reaction_horizon')
        return {partition: next_offset for partition, next_offset in rows}

    async def apply_batch(
        self,
        records: dict[int, list[ConsumerRecord]],
        expected: dict[int, int],
        *,
        dead_letter,
        group: str,
        topic: str,
        traced: bool = True,
        decoded: list[Decoded] | None = None,
    ) -> BatchResult:
        """Apply one batch atomically, if the stored positions are where the reader expects.

        ``expected`` is each partition's position the reader fetched from; a stored position
        that differs (a rebuild swapped in, another replica moved on) aborts the batch and
        returns the stored positions in ``seeks``. ``dead_letter(record, reason)`` must be
        durable when it returns: it runs before the positions commit. ``decoded`` is
        :meth:`decode` of ``records`` when the caller decoded them already (a rebuild decodes
        the next batch while this one is in PostgreSQL).
        """
        if decoded is None:
            decoded = self.decode(records)
        try:
            result = BatchResult()
            async with self.transaction() as conn:
                stored = await self._lock_positions(conn, sorted(records))
                for partition in records:
                    if partition in stored and stored[partition] != expected.get(partition):
                        result.seeks[partition] = stored[partition]
                if result.seeks:
                    return result
                letters, caused = await self._apply(
                    conn, decoded, result, (group, topic) if traced else None
                )
                if caused:
                    # Before the commit: a crash in between re-appends the same ids.
                    await self._append(caused)
                    result.caused += len(caused)
                await self._store_positions(conn, records)
                for record, reason in letters:
                    await dead_letter(record, reason)
            return result
        except _Transient:
            raise
        except Exception as exc:
            if outage(exc) is None:
                raise
            raise _Transient(failure_reason(exc)) from exc

    def decode(self, records: dict[int, list[ConsumerRecord]]) -> list[Decoded]:
        """Each record with its envelope, or with why it cannot be decoded (a dead letter)."""
        decoded: list[Decoded] = []
        registry = self.registry
        for partition_records in records.values():
            for record in partition_records:
                try:
                    envelope = decode(
                        registry,
                        record.key,
                        record.value,
                        record.headers,
                        record.partition,
                        record.offset,
                    )
                    decoded.append((record, envelope, None))
                except DecodeError as exc:
                    decoded.append((record, None, str(exc)))
        return decoded

    async def _lock_positions(self, conn, partitions: list[int]) -> dict[int, int]:
        # The batch's first statement, through SQLAlchemy, which begins its transaction with it;
        # as text written once, not a statement built per batch (with small batches, building
        # these two cost more than applying the events).
        lock = self._statements.get("lock")
        if lock is None:
            lock = self._statements["lock"] = text(
                self.sql(
                    'SELECT "partition", next_offset FROM {schema}.stored_offsets'
                    ' WHERE "partition" = ANY(:partitions) ORDER BY "partition" FOR UPDATE'
                )
            ).bindparams(bindparam("partitions", type_=ARRAY(Integer)))
        rows = await conn.execute(lock, {"partitions": partitions})
        return dict(rows.all())

    async def _store_positions(self, conn, records) -> None:
        partitions = sorted(records)
        bulk = await Bulk.of(conn)
        await bulk.connection.execute(
            self.sql(
                'INSERT INTO {schema}.stored_offsets ("partition", next_offset)'
                " SELECT * FROM unnest($1::int[], $2::bigint[])"
                ' ON CONFLICT ("partition") DO UPDATE SET next_offset = excluded.next_offset'
            ),
            partitions,
            [records[partition][-1].offset + 1 for partition in partitions],
        )

    async def _apply(self, conn, todo: list[Decoded], result, tracing: tuple[str, str] | None):
        bulk = await Bulk.of(conn)
        applied_events = self.tables["applied_events"]
        ids = [envelope.id for _, envelope, _ in todo if envelope is not None]
        seen = set()
        if ids:
            rows = await bulk.connection.fetch(
                f"SELECT event_id FROM {bulk.name(applied_events)} "
                "WHERE event_id = ANY($1::uuid[])",
                ids,
            )
            seen = {event_id for (event_id,) in rows}
        accounts = sorted({envelope.key for _, envelope, _ in todo if envelope is not None})
        parked = set()
        if accounts:
            rows = await bulk.connection.fetch(
                f"SELECT account FROM {bulk.name(self.tables['parked_accounts'])} "
                "WHERE account = ANY($1::text[]) FOR UPDATE",
                accounts,
            )
            parked = {account for (account,) in rows}
        reacting = await self._reacting(conn, todo, seen, parked)
        caused: list[Envelope] = []
        letters = []
        ready: list[tuple[ConsumerRecord, Envelope]] = []
        for record, envelope, reason in todo:
            if envelope is None:
                letters.append((record, reason))
                result.dead_lettered += 1
                continue
            if envelope.id in seen:
                result.duplicates += 1
                continue
            seen.add(envelope.id)
            if envelope.key in parked:
                await self._park_event(conn, record, envelope.key, result)
                continue
            ready.append((record, envelope))
        applied = await self._apply_ready(conn, ready, parked, reacting, caused, result, tracing)
        result.applied += len(applied)
        result.applied_events += applied
        await bulk.insert(applied_events, ("event_id",), [(envelope.id,) for envelope in applied])
        return letters, caused

    async def _apply_ready(
        self, conn, ready, parked: set, reacting, caused: list, result, tracing
    ) -> list[Envelope]:
        """Apply ``ready`` in log order, as one batch while it applies; returns what applied.

        When the batch fails, a search finds its first failing event (:meth:`_applied_prefix`):
        the events before it stay applied (each part in a savepoint), its account is parked
        with that account's later events, and the rest goes on as a batch. A batch holding one
        bad event costs about two applies of the batch and a few dozen savepoints, not a
        transaction per event.
        """
        spans = (
            {envelope.id: _start_process_span(envelope, *tracing) for _, envelope in ready}
            if tracing and _spans_record()
            else {}
        )
        if spans:
            # What an event causes (its reactions, the timers it arms, the rows the sender
            # reads) is parented on the event's processing span, not on the span that sent it.
            ready = [
                (record, with_parent(envelope, spans[envelope.id])) for record, envelope in ready
            ]
        # A batch of one event runs inside its span: its statements are the span's children.
        alone = spans[ready[0][1].id] if len(spans) == 1 else None
        try:
            with _inside(alone, ready[0][1] if alone else None):
                return await self._apply_runs(conn, ready, parked, reacting, caused, result, spans)
        finally:
            for span in spans.values():
                span.end()

    async def _apply_runs(
        self, conn, ready, parked: set, reacting, caused: list, result, spans: dict
    ) -> list[Envelope]:
        applied: list[Envelope] = []
        while ready:
            envelopes = [envelope for _, envelope in ready]
            done, failure = await self._applied_prefix(conn, envelopes, reacting, caused)
            applied += envelopes[:done]
            if failure is None:
                break
            # _park_account logs the failure itself, in the failing event's span.
            record, envelope = ready[done]
            span = spans.get(envelope.id)
            if span is not None:
                span.record_exception(failure)
            with _inside(span, envelope):
                await self._park_account(conn, record, envelope, failure, result)
            parked.add(envelope.key)
            rest = []
            for record, envelope in ready[done + 1 :]:
                if envelope.key in parked:
                    await self._park_event(conn, record, envelope.key, result)
                else:
                    rest.append((record, envelope))
            ready = rest
        return applied

    async def _applied_prefix(
        self, conn, envelopes: list[Envelope], reacting, caused: list, failed=None
    ) -> tuple[int, Exception | None]:
        """Apply the longest prefix of ``envelopes`` that applies: how many did, and the first
        failing event's exception (None when all did); ``failed``: why all of them at once
        did not. A failing run is applied again in :data:`SEARCH_PARTS` parts, in order, each
        in a savepoint, and the search goes down into the part that fails: a bad event wastes
        the failed attempt at its batch and about an eighth of it more (a binary search would
        waste twice the batch).
        """
        failure = failed or await self._attempt(conn, envelopes, reacting, caused)
        if failure is None:
            return len(envelopes), None
        if len(envelopes) == 1:
            return 0, failure
        size = -(-len(envelopes) // SEARCH_PARTS)
        for start in range(0, len(envelopes), size):
            part = envelopes[start : start + size]
            failure = await self._attempt(conn, part, reacting, caused)
            if failure is not None:
                done, failure = await self._applied_prefix(conn, part, reacting, caused, failure)
                return start + done, failure
        return len(envelopes), None  # each part applies on its own

    async def _attempt(
        self, conn, envelopes: list[Envelope], reacting, caused: list
    ) -> Exception | None:
        """Apply ``envelopes`` (and react to them) in a savepoint: None, or why they did not
        apply, with nothing of them left behind (rows, reaction states, caused events)."""
        states = dict(reacting.states) if reacting is not None else None
        before = len(caused)
        try:
            async with conn.begin_nested():
                apply_many = getattr(self.projector, "apply_many", None)
                if apply_many is not None:
                    await apply_many(conn, envelopes)
                else:
                    for envelope in envelopes:
                        await self.projector.apply(conn, envelope)
                if reacting is not None:
                    for envelope in envelopes:
                        caused += reacting.react(envelope)
        except Exception as exc:
            if outage(exc) is not None:
                # Deadlock, timeout, lost connection: the whole batch is retried.
                raise _Transient(failure_reason(exc)) from exc
            if reacting is not None:
                reacting.states = states
            del caused[before:]
            return exc
        return None

    async def _reacting(self, conn, todo, seen: set, parked: set) -> ReactionBatch | None:
        """The reactions of this batch, if the store reacts and any event is past the horizon:
        the states they need are read now, before the batch changes them."""
        if self.reactor is None:
            return None
        horizon_table = self.tables["reaction_horizon"]
        horizon = dict((await conn.execute(select(horizon_table))).all())
        new = [
            envelope
            for _, envelope, _ in todo
            if envelope is not None
            and envelope.id not in seen
            and envelope.key not in parked
            and envelope.offset >= horizon.get(envelope.partition, 0)
        ]
        if not new:
            return None
        return await self.reactor.prepare(conn, new, horizon)

    async def _append(self, envelopes: list[Envelope]) -> None:
        try:
            # Not atomic: a reaction's id derives from its trigger, so a crash between batches
            # re-appends the same records, and one trigger may cause more than a batch holds.
            await self.log.append(envelopes, atomic=False)
        except KafkaError as exc:
            raise _Transient(f"appending reactions: {exc!r}") from exc

    async def _park_account(
        self, conn, record, envelope: Envelope, exc: Exception, result: BatchResult
    ) -> None:
        await conn.execute(
            insert(self.tables["parked_accounts"]).values(
                account=envelope.key,
                event_id=envelope.id,
                event_type=envelope.type,
                partition=record.partition,
                offset=record.offset,
                reason=failure_reason(exc),
            )
        )
        await self._park_event(conn, record, envelope.key, result)
        log.error(
            "parked account %s at %s/%s: %s",
            envelope.key,
            record.partition,
            record.offset,
            failure_reason(exc),
        )

    async def _park_event(self, conn, record, account: str, result: BatchResult) -> None:
        result.parked += 1
        result.parked_at.append((account, record.partition, record.offset))
        await conn.execute(
            insert(self.tables["parked_events"])
            .values(
                partition=record.partition,
                offset=record.offset,
                account=account,
                key=record.key,
                value=record.value,
                headers=[[name, value.decode(errors="replace")] for name, value in record.headers],
            )
            .on_conflict_do_nothing()
        )

    async def parked(self) -> list[dict[str, Any]]:
        accounts = self.tables["parked_accounts"]
        events = self.tables["parked_events"]
        async with self.transaction() as conn:
            rows = (await conn.execute(select(accounts).order_by(accounts.c.account))).mappings()
            waiting = dict(
                (
                    await conn.execute(
                        select(events.c.account, text("count(*)")).group_by(events.c.account)
                    )
                ).all()
            )
            return [
                {**row, "event_id": str(row["event_id"]), "waiting": waiting.get(row["account"], 0)}
                for row in rows
            ]

    async def parked_records(self) -> tuple[set[str], set[tuple[int, int]]]:
        """The parked accounts, and the (partition, offset) of every record waiting in one."""
        async with self.raw() as conn:
            accounts = await conn.fetch(self.sql("SELECT account FROM {schema}.parked_accounts"))
            records = await conn.fetch(
                self.sql('SELECT "partition", "offset" FROM {schema}.parked_events')
            )
        return {row["account"] for row in accounts}, {(p, o) for p, o in records}

    async def raise_if_parked(self, account: str) -> None:
        row = await self.fetchrow(
            "SELECT reason FROM {schema}.parked_accounts WHERE account = $1", account
        )
        if row is not None:
            raise Parked(reason=_category(row["reason"]))

    async def raise_if_parked_at(self, partition: int, offset: int) -> None:
        """:class:`Parked` when the record at ``partition``/``offset`` waits in a parked
        account instead of being applied."""
        row = await self.fetchrow(
            "SELECT a.reason, e.headers FROM {schema}.parked_events AS e"
            " JOIN {schema}.parked_accounts AS a ON a.account = e.account"
            ' WHERE e."partition" = $1 AND e."offset" = $2',
            partition,
            offset,
        )
        if row is not None:
            subject = dict(row["headers"]).get("ce_subject")
            raise Parked(reason=_category(row["reason"]), claim_id=subject)

    async def unpark(
        self,
        accounts: Iterable[str] | None = None,
        *,
        topic: str = "",
        dead_letter: Callable[[LogRecord, str], Awaitable[None]] | None = None,
    ) -> dict[str, str]:
        """Replay each parked account's events in order with the current code.

        An account whose events all apply is released; one that fails again stays parked
        with the new reason. A parked record the current code no longer decodes (a NUL in its
        key, a type since retired) is handed to ``dead_letter`` as a record of ``topic``, as the
        runner would have done on reading it, and the rest replays; without ``dead_letter`` it
        keeps the account parked. Returns account -> "released" (with how many records went
        to the dead-letter topic, if any) or the reason.
        """
        parked_accounts = self.tables["parked_accounts"]
        parked_events = self.tables["parked_events"]
        applied_events = self.tables["applied_events"]
        wanted = [row["account"] for row in await self.parked()]
        if accounts is not None:
            wanted = [account for account in wanted if account in set(accounts)]
        outcome = {}
        for account in wanted:
            async with self.transaction() as conn:
                locked = await conn.scalar(
                    select(parked_accounts.c.account)
                    .where(parked_accounts.c.account == account)
                    .with_for_update()
                )
                if locked is None:
                    continue
                rows = await conn.execute(
                    select(parked_events)
                    .where(parked_events.c.account == account)
                    .order_by(parked_events.c.partition, parked_events.c.offset)
                )
                dead = 0
                try:
                    async with conn.begin_nested():
                        for row in rows.mappings():
                            record = LogRecord(
                                topic=topic,
                                partition=row["partition"],
                                offset=row["offset"],
                                key=row["key"],
                                value=row["value"],
                                headers=[(name, value.encode()) for name, value in row["headers"]],
                            )
                            try:
                                envelope = decode(
                                    self.registry,
                                    record.key,
                                    record.value,
                                    record.headers,
                                    record.partition,
                                    record.offset,
                                )
                            except DecodeError as exc:
                                if dead_letter is None:
                                    raise
                                await dead_letter(record, str(exc))
                                dead += 1
                                continue
                            done = await conn.scalar(
                                select(applied_events.c.event_id).where(
                                    applied_events.c.event_id == envelope.id
                                )
                            )
                            if done is None:
                                await self.projector.apply(conn, envelope)
                                await conn.execute(
                                    insert(applied_events).values(event_id=envelope.id)
                                )
                except Exception as exc:
                    reason = failure_reason(exc)
                    await conn.execute(
                        parked_accounts.update()
                        .where(parked_accounts.c.account == account)
                        .values(reason=reason)
                    )
                    outcome[account] = reason
                    continue
                await conn.execute(parked_events.delete().where(parked_events.c.account == account))
                await conn.execute(
                    parked_accounts.delete().where(parked_accounts.c.account == account)
                )
                outcome[account] = (
                    f"released ({dead} undecodable record(s) dead-lettered)" if dead else "released"
                )
        return outcome

    async def digest(self) -> dict[str, Any]:
        """A hash of every table (rows in primary-key order) and of the stored positions.

        Turning each row into text is most of its cost (PostgreSQL's; a sixth of a rebuild's
        time): the tables are hashed two at a time, on this transaction's connection and on a
        second one sharing its snapshot, so the figures are of one instant while the runner
        goes on writing."""
        async with self.transaction() as conn:
            await conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            snapshot = await conn.scalar(text("SELECT pg_export_snapshot()"))
            todo = [
                (name, table)
                for name, table in sorted(self.tables.items(), reverse=True)
                # where this copy of the state started reacting, not state
                if name != "reaction_horizon"
            ]
            tables: dict[str, dict[str, Any]] = {}

            async def hash_tables(on) -> None:
                while todo:
                    name, table = todo.pop()
                    order = ", ".join(f'"{column.name}"' for column in table.primary_key.columns)
                    state = _state_of(table)
                    row = (
                        await on.execute(
                            text(
                                f"SELECT count(*), md5(coalesce(string_agg(md5({state}), '' "
                                f'ORDER BY {order}), \'\')) FROM "{self.schema}"."{name}" t'
                            )
                        )
                    ).one()
                    tables[name] = {"rows": row[0], "md5": row[1]}

            async def alongside() -> None:
                async with self.engine.begin() as other:
                    await other.execute(
                        text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    )
                    await other.execute(text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
                    await hash_tables(other)

            await asyncio.gather(hash_tables(conn), alongside())
            tables = dict(sorted(tables.items()))
            positions = dict(
                (
                    await conn.execute(
                        select(
                            self.tables["stored_offsets"].c.partition,
                            self.tables["stored_offsets"].c.next_offset,
                        )
                    )
                ).all()
            )
        overall = hashlib.sha256(
            orjson.dumps(
                {"tables": tables, "offsets": positions},
                option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
            )
        )
        return {
            "digest": overall.hexdigest(),
            "offsets": {str(p): o for p, o in sorted(positions.items())},
            "tables": tables,
        }


class EndOffsets:
    """The log's end offsets for many concurrent commands in one broker request.

    Each command must see the end as of its own call (read your writes, and other replicas'),
    so a caller never takes the answer of a request already in flight: it waits for the next
    one, which also answers every caller that arrived meanwhile. Under load a command costs a
    share of one round trip instead of a round trip in a queue on one connection.
    """

    def __init__(self, client: AIOKafkaConsumer) -> None:
        self._client = client
        self._waiting: list[tuple[TopicPartition, asyncio.Future]] = []
        self._asking: asyncio.Task | None = None

    async def get(self, tp: TopicPartition, timeout: float) -> int:
        """``tp``'s end offset, asked after this call; :class:`KafkaTimeoutError` after
        ``timeout`` (with the broker down aiokafka would wait its 40 s request timeout)."""
        answer = asyncio.get_running_loop().create_future()
        self._waiting.append((tp, answer))
        if self._asking is None or self._asking.done():
            self._asking = asyncio.create_task(self._ask())
        try:
            return await asyncio.wait_for(asyncio.shield(answer), timeout)
        except TimeoutError as exc:
            answer.cancel()
            raise KafkaTimeoutError(f"no end offset for {tp} within {timeout}s") from exc

    async def _ask(self) -> None:
        while self._waiting:
            waiting, self._waiting = self._waiting, []
            waiting = [(tp, answer) for tp, answer in waiting if not answer.done()]
            if not waiting:
                continue
            try:
                ends = await self._client.end_offsets(list({tp for tp, _ in waiting}))
            except Exception as exc:
                for _, answer in waiting:
                    if not answer.done():
                        answer.set_exception(exc)
                        answer.exception()  # retrieved: a caller that timed out is gone
                continue
            for tp, answer in waiting:
                if not answer.done():
                    answer.set_result(ends[tp])


@dataclass(frozen=True)
class LogRecord:
    """A record as read from the log, whatever held it since (a parked account)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]]


async def send_to_dead_letters(
    producer, service: str, record: ConsumerRecord | LogRecord, reason: str
) -> None:
    """``record`` as it was, on ``service``'s dead-letter topic, with why and where it was read."""
    headers = [
        *record.headers,
        ("amiable_dlq_reason", reason.encode()[:4000]),
        ("amiable_dlq_topic", record.topic.encode()),
        ("amiable_dlq_partition", str(record.partition).encode()),
        ("amiable_dlq_offset", str(record.offset).encode()),
    ]
    await producer.send_raw(dlq_topic(service), record.value, record.key, headers)
    DEAD_LETTERS.labels(service).inc()


def _category(reason: str) -> str:
    """The exception type of a parked reason: what a client may be told."""
    return reason.partition(":")[0]


def failure_reason(exc: BaseException) -> str:
    """What a parked account or a log line says about a failure: the exception's type and the
    first line of its message, for a database error the driver's own (``str`` of SQLAlchemy's
    holds the statement, and its parameters when they are not hidden). Personal data reaches
    the projector sealed, so a message quoting a value quotes ciphertext."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        exc = exc.orig
        cause = exc.__cause__
        if cause is not None:
            exc = cause
    lines = str(exc).strip().splitlines()
    # Cut at the first quote: a driver may quote the parameter it could not convert.
    message = lines[0].split("'")[0].split('"')[0].rstrip(" :(") if lines else ""
    return f"{type(exc).__name__}: {message}"[:500] if message else type(exc).__name__


async def _shape(conn, schema: str) -> str | None:
    """The fingerprint ``schema`` was created with; None when there is no such schema."""
    row = (
        await conn.execute(
            text(
                "SELECT coalesce(obj_description(oid, 'pg_namespace'), '') FROM pg_namespace "
                "WHERE nspname = :schema"
            ),
            {"schema": schema},
        )
    ).first()
    return None if row is None else row[0]


async def _stored_offsets(conn, schema: str) -> dict[int, int]:
    """The positions stored in ``schema`` (empty when it has none)."""
    exists = await conn.scalar(
        text("SELECT to_regclass(:name) IS NOT NULL"), {"name": f'"{schema}".stored_offsets'}
    )
    if not exists:
        return {}
    rows = await conn.execute(text(f'SELECT partition, next_offset FROM "{schema}".stored_offsets'))
    return dict(rows.all())


#: Where a row keeps the span that caused it (a timer's arming, a message's release): which
#: span is not state, and a rebuild, untraced, keeps the log's instead.
TRACE_COLUMNS = ("traceparent", "tracestate")


def _state_of(table: Table) -> str:
    """The text of a row of ``t`` that a digest hashes: all of it but its trace columns."""
    if not any(name in table.columns for name in TRACE_COLUMNS):
        return "t::text"
    kept = ", ".join(f't."{c.name}"' for c in table.columns if c.name not in TRACE_COLUMNS)
    return f"ROW({kept})::text"


def _spans_record() -> bool:
    """Whether a tracer provider that records spans is installed. Without one
    (``OTEL_SDK_DISABLED``, none configured) every span is a no-op, and building one per event
    (its context extracted, a dozen attributes) cost the live apply 5 % of its CPU."""
    return not isinstance(
        trace.get_tracer_provider(), trace.ProxyTracerProvider | trace.NoOpTracerProvider
    )


def _start_process_span(envelope: Envelope, group: str, topic: str) -> trace.Span:
    """A CONSUMER span parented on, and linked to, the producer's context in the headers."""
    parent = extract_context(envelope.traceparent, envelope.tracestate)
    parent_span = trace.get_current_span(parent).get_span_context()
    return tracer().start_span(
        f"process {topic}",
        context=parent,
        kind=SpanKind.CONSUMER,
        links=[Link(parent_span)] if parent_span.is_valid else [],
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "process",
            "messaging.operation.name": "process",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": group,
            "messaging.destination.partition.id": str(envelope.partition),
            "messaging.kafka.offset": envelope.offset,
            "messaging.kafka.message.key": envelope.key,
            "messaging.message.id": str(envelope.id),
            "cloudevents.event_id": str(envelope.id),
            "cloudevents.event_type": envelope.type,
            "cloudevents.event_subject": envelope.subject,
            **event_attributes(envelope),
        },
    )


def _inside(span: trace.Span | None, envelope: Envelope | None):
    if span is None or envelope is None:
        return contextlib.nullcontext()
    return inside(span, envelope.tenant, claim_of(envelope.data))


class _SeekToStored(ConsumerRebalanceListener):
    def __init__(self, runner: ProjectionRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked) -> None:
        return None

    async def on_partitions_assigned(self, assigned) -> None:
        await self._runner.seek_to_stored(assigned)


class ProjectionRunner:
    """Consumes the log (``read_committed``) and applies it through a :class:`ProjectionStore`."""

    def __init__(
        self,
        store: ProjectionStore,
        *,
        bootstrap: str,
        topic: str,
        dlq_producer,
        group_id: str | None = None,
        max_records: int = 1000,
        on_erased: Callable[[str], None] | None = None,
        kafka_options: dict[str, Any] | None = None,
    ) -> None:
        self.store = store
        #: Called with the debtor account of each applied DebtorPersonalDataErased: every
        #: replica drops its cached key at once, not when the cache expires.
        self.on_erased = on_erased
        self.topic = topic
        self.service = store.projector.service
        self.group_id = group_id or f"amiable-{self.service}"
        self._dlq = dlq_producer
        self._max_records = max_records
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=self.group_id,
            client_id=f"amiable-{self.service}",
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=max_records,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            session_timeout_ms=6_000,
            heartbeat_interval_ms=2_000,
            # TLS and SASL: amiable_events.kafka.client_security.
            **(kafka_options or {}),
        )
        # End offsets are asked on a connection of their own: the broker answers one request per
        # connection at a time, and the main consumer's connection is busy with long-poll fetches.
        self._offsets = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            client_id=f"amiable-{self.service}-offsets",
            **(kafka_options or {}),
            isolation_level="read_committed",
        )
        self._ends = EndOffsets(self._offsets)
        self._task: asyncio.Task | None = None
        self._applying = asyncio.Lock()
        self._generation = 0
        self._applied = asyncio.Condition()
        self.positions: dict[int, int] = {}
        self.started = False
        self.last_error: str | None = None
        #: Times the supervised loop started again after a failure.
        self.restarts = 0
        #: Whether the group gave this replica its partitions yet (possibly none of them).
        self.assigned = False
        #: Partition -> the first offset this schema applies live (below: a replay, see
        #: ``reaction_horizon``), for counting each event once.
        self._horizon: dict[int, int] = {}
        #: The parked accounts and records as of the last assignment, with those this runner
        #: parked since: in a partition this replica holds only its runner parks, so a command
        #: finds an account or a record not parked here without asking PostgreSQL.
        self._parked: tuple[set[str], set[tuple[int, int]]] = (set(), set())

    async def start(self) -> None:
        await self.store.create()
        await self._offsets.start()
        await self._consumer.start()
        self._consumer.subscribe([self.topic], listener=_SeekToStored(self))
        await self.refresh_parked()
        self._task = asyncio.create_task(self._run(), name=f"projection-{self.service}")
        self.started = True

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()
        await self._offsets.stop()
        set_lag(self.service, {})

    async def seek_to_stored(self, partitions: Iterable[TopicPartition]) -> None:
        """On assignment: start from the positions stored with the rows. Batches fetched before
        this point are dropped (``_generation``), never applied at a position they were not
        fetched for."""
        partitions = list(partitions)
        async with self._applying:
            self._generation += 1
            self.assigned = True
            stored = await self.store.positions()
            self._horizon = await self.store.horizon()
            await self.refresh_parked()
            beginnings = await self._consumer.beginning_offsets(partitions) if partitions else {}
            for tp in partitions:
                position = stored.get(tp.partition, beginnings[tp])
                self._consumer.seek(tp, position)
                self.positions[tp.partition] = position

    @property
    def alive(self) -> bool:
        """False once the runner's task has ended (it only ends when stopped)."""
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        """Supervised: any failure (a dead-letter send, a seek on a revoked partition, a
        database that went away) is logged and the loop starts again after a backoff, from the
        stored positions of the partitions it holds; it never dies with the partitions held."""
        delay = 0.1
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = failure_reason(exc)
                self.restarts += 1
                log.warning(
                    "projection %s: runner failed (%s); restarting in %.1fs",
                    self.service,
                    self.last_error,
                    delay,
                    exc_info=outage(exc) is None,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                with contextlib.suppress(Exception):
                    await self.seek_to_stored(self._consumer.assignment())

    async def _consume(self) -> None:
        while True:
            generation = self._generation
            batch = await self._consumer.getmany(timeout_ms=200, max_records=self._max_records)
            if generation != self._generation:
                # A rebalance ran during this fetch: read these partitions again from the
                # positions it set, whichever side of the seek the records came from.
                async with self._applying:
                    assigned = self._consumer.assignment()
                    for tp in batch:
                        if tp in assigned and tp.partition in self.positions:
                            self._consumer.seek(tp, self.positions[tp.partition])
                continue
            records = {tp.partition: rows for tp, rows in batch.items() if rows}
            if records:
                await self.apply(records)
            self._measure_lag()

    async def apply(self, records: dict[int, list[ConsumerRecord]]) -> BatchResult:
        async with self._applying:
            return await self._apply_locked(records)

    async def _apply_locked(self, records: dict[int, list[ConsumerRecord]]) -> BatchResult:
        delay = 0.05
        while True:
            try:
                result = await self.store.apply_batch(
                    records,
                    self.positions,
                    dead_letter=self._dead_letter,
                    group=self.group_id,
                    topic=self.topic,
                )
                self.last_error = None
                break
            except _Transient as exc:
                self.last_error = str(exc)
                log.warning("projection %s: retrying batch after %s", self.service, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)
        if result.seeks:
            # Nothing of the batch was applied: every partition in it is read again, the moved
            # ones from their stored position, the others from where this batch started.
            for partition in records:
                offset = result.seeks.get(partition, self.positions.get(partition))
                if offset is None:
                    offset = records[partition][0].offset
                if partition in result.seeks:
                    log.warning(
                        "projection %s: partition %s moved to %s", self.service, partition, offset
                    )
                self._consumer.seek(TopicPartition(self.topic, partition), offset)
                self.positions[partition] = offset
            # Moved under this runner (a rebuild swapped in): so may have its parked accounts,
            # and the horizon below which it re-applies what the old schema had applied.
            await self.refresh_parked()
            self._horizon = await self.store.horizon()
        else:
            accounts, positions = self._parked
            for account, partition, offset in result.parked_at:
                accounts.add(account)
                positions.add((partition, offset))
            for partition, rows in records.items():
                self.positions[partition] = rows[-1].offset + 1
        count_applied(self.service, result.applied_events, self._horizon)
        if result.parked:
            PARKED_ACCOUNTS.labels(self.service).set(len(self._parked[0]))
        if self.on_erased is not None and not result.seeks:
            for account in erased_accounts(records):
                self.on_erased(account)
        async with self._applied:
            self._applied.notify_all()
        return result

    async def refresh_parked(self) -> None:
        """The parked accounts and records read again, and their gauge set."""
        self._parked = await self.store.parked_records()
        PARKED_ACCOUNTS.labels(self.service).set(len(self._parked[0]))

    async def _dead_letter(self, record: ConsumerRecord | LogRecord, reason: str) -> None:
        await send_to_dead_letters(self._dlq, self.service, record, reason)

    async def unpark(self, accounts: Iterable[str] | None = None) -> dict[str, str]:
        """:meth:`ProjectionStore.unpark`, undecodable parked records sent to this service's
        dead-letter topic."""
        outcome = await self.store.unpark(accounts, topic=self.topic, dead_letter=self._dead_letter)
        await self.refresh_parked()
        return outcome

    async def wait_until_applied(self, partition: int, offset: int, timeout: float) -> bool:
        """True once the record at ``offset`` of ``partition`` is in the projection; raises
        :class:`Parked` when the runner passed it but parked it instead of applying it."""
        if not await self._wait_passed(partition, offset, timeout):
            return False
        if not self._holds(partition) or (partition, offset) in self._parked[1]:
            await self.store.raise_if_parked_at(partition, offset)
        return True

    async def _wait_passed(self, partition: int, offset: int, timeout: float) -> bool:
        """True once the projection's position on ``partition`` is past ``offset`` (applied or
        parked), as this replica's runner or the stored positions say."""
        deadline = time.monotonic() + timeout
        while True:
            if self.positions.get(partition, -1) > offset:
                return True
            # A partition this replica holds moves in memory, with a signal on each batch;
            # another replica's is read from the positions it stores.
            if not self._holds(partition):
                stored = await self.store.positions()
                if stored.get(partition, -1) > offset:
                    return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            async with self._applied:
                if self.positions.get(partition, -1) > offset:
                    return True  # applied while the stored positions were read
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._applied.wait(), min(remaining, 0.05))

    def _measure_lag(self) -> None:
        """Each held partition's lag as the consumer last heard of its end (no request): the
        last stable offset under ``read_committed``, less the position applied."""
        lags = {}
        for tp in self._consumer.assignment():
            end = self._consumer.last_stable_offset(tp)
            if end is None:
                end = self._consumer.highwater(tp)
            position = self.positions.get(tp.partition)
            if end is not None and position is not None:
                lags[tp.partition] = max(0, end - position)
        set_lag(self.service, lags)

    def _holds(self, partition: int) -> bool:
        return self.started and TopicPartition(self.topic, partition) in self._consumer.assignment()

    async def raise_if_parked(self, account: str) -> None:
        """:class:`Parked` when ``account`` is parked: its state is not current. Asks
        PostgreSQL unless this replica holds the account's partition and has not seen it
        parked (an unpark by another process may have cleared one it has seen)."""
        if self._holds(self.partition_for(account)) and account not in self._parked[0]:
            return
        await self.store.raise_if_parked(account)

    def partition_for(self, key: str) -> int:
        return partition_for(key.encode())

    async def wait_caught_up(self, key: str, timeout: float) -> bool:
        """True once everything in ``key``'s partition, as of now, is in the projection (the
        caller checks its own account for parking: the partition's last record may be another
        account's)."""
        tp = TopicPartition(self.topic, self.partition_for(key))
        end = await self._ends.get(tp, min(max(timeout, 0.5), END_OFFSETS_TIMEOUT))
        return end == 0 or await self._wait_passed(tp.partition, end - 1, timeout)

    async def lag(self) -> int | None:
        """Records of this replica's partitions not yet in the projection (None before the
        runner got its first assignment); 0 for a replica that holds no partition.

        Measured on this replica's assignment: a big import on one partition takes only the
        replica applying it out of rotation, not every replica at once.
        """
        if not self.started or not self.assigned:
            return None
        partitions = sorted(self._consumer.assignment(), key=lambda tp: tp.partition)
        if not partitions:
            return 0
        ends = await self._offsets.end_offsets(partitions)
        stored = await self.store.positions()
        return sum(max(0, end - stored.get(tp.partition, 0)) for tp, end in ends.items())


def erased_accounts(records: dict[int, list[ConsumerRecord]]) -> list[str]:
    """The debtor accounts of the erasure events among ``records`` (read from the headers, so
    the check costs nothing for the other events)."""
    erased = DebtorPersonalDataErased.type.encode()
    return [
        record.key.decode(errors="replace")
        for rows in records.values()
        for record in rows
        if record.key is not None and ("ce_type", erased) in record.headers
    ]


async def topic_partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    """Every partition of ``topic``.

    A consumer without a subscription keeps no metadata for the topic, and aiokafka's public
    ``topics()`` drops the partitions it fetched, so this asks its client for the cluster.
    """
    cluster = await consumer._client.fetch_all_metadata()
    partitions = cluster.partitions_for_topic(topic)
    if not partitions:
        raise LookupError(f"topic {topic} does not exist")
    return [TopicPartition(topic, p) for p in sorted(partitions)]


@dataclass
class RebuildResult:
    events: int
    seconds: float
    digest: dict[str, Any]


async def rebuild(
    projector: Projector,
    engine: AsyncEngine,
    registry: Registry,
    *,
    bootstrap: str,
    topic: str,
    live_schema: str = LIVE_SCHEMA,
    swap: bool = True,
    max_records: int = 5000,
    streams: int = 2,
    kafka_options: dict[str, Any] | None = None,
) -> RebuildResult:
    """Replay the log from offset 0 into a fresh schema, then swap it in for the live one.

    Records that cannot be decoded are skipped (the live runner already dead-lettered them).
    """
    with _collected_apart():
        return await _rebuild(
            projector,
            engine,
            registry,
            bootstrap=bootstrap,
            topic=topic,
            live_schema=live_schema,
            swap=swap,
            max_records=max_records,
            streams=streams,
            kafka_options=kafka_options or {},
        )


@contextlib.contextmanager
def _collected_apart():
    """What the process held before the rebuild, out of the cyclic collector's reach while it
    runs: a replay allocates millions of objects, and each full collection would walk every
    module, model and schema loaded before it too (a quarter of the rebuild's CPU, measured).
    A process that froze its objects already (a service after start-up) keeps them frozen."""
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        yield
    finally:
        if not frozen_before:
            gc.unfreeze()


async def _rebuild(
    projector: Projector,
    engine: AsyncEngine,
    registry: Registry,
    *,
    bootstrap: str,
    topic: str,
    live_schema: str,
    swap: bool,
    max_records: int,
    streams: int,
    kafka_options: dict[str, Any],
) -> RebuildResult:
    fresh = ProjectionStore(
        projector, engine, registry, schema=f"{live_schema}_rebuild", durable=False
    )
    await fresh.create(fresh=True, index_later=True)
    consumer = log_reader(
        bootstrap,
        kafka_options,
        max_poll_records=max_records,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    started = time.perf_counter()
    events = 0
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = {tp.partition: end for tp, end in (await consumer.end_offsets(partitions)).items()}
        starts = await consumer.beginning_offsets(partitions)
        position = {tp.partition: starts[tp] for tp in partitions}
        reached = dict(position)

        async def skip(record, reason):
            return None

        # Partitions are applied by ``streams`` tasks, each on a connection of its own, as
        # replicas would: while one waits for PostgreSQL the others fold their next batch, and
        # one task reads the log and decodes ahead of them. No two streams touch one debtor
        # account's rows (an account lives in one partition).
        queues: list[asyncio.Queue[tuple[dict, list[Decoded]] | None]] = [
            asyncio.Queue(maxsize=2) for _ in range(streams)
        ]
        applied = [0] * streams

        async def read() -> None:
            while any(reached[p] < ends[p] for p in ends):
                batch = await consumer.getmany(timeout_ms=500, max_records=max_records)
                records = {
                    tp.partition: [r for r in rows if r.offset < ends[tp.partition]]
                    for tp, rows in batch.items()
                }
                records = {p: rows for p, rows in records.items() if rows}
                if not records:
                    for tp in partitions:
                        reached[tp.partition] = max(
                            reached[tp.partition], await consumer.position(tp)
                        )
                    continue
                for p, rows in records.items():
                    reached[p] = rows[-1].offset + 1
                for stream, queue in enumerate(queues):
                    part = {p: rows for p, rows in records.items() if p % streams == stream}
                    if part:
                        await queue.put((part, fresh.decode(part)))
            for queue in queues:
                await queue.put(None)

        async def apply(stream: int) -> None:
            while (item := await queues[stream].get()) is not None:
                records, decoded = item
                result = await fresh.apply_batch(
                    records,
                    position,
                    dead_letter=skip,
                    group="rebuild",
                    topic=topic,
                    traced=False,
                    decoded=decoded,
                )
                if result.seeks:
                    raise RuntimeError(
                        f"rebuild of {projector.service} lost its place: {result.seeks}"
                    )
                for p, rows in records.items():
                    position[p] = rows[-1].offset + 1
                    applied[stream] += len(rows)

        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(read(), name=f"rebuild-{projector.service}-read")
            for stream in range(streams):
                tasks.create_task(apply(stream), name=f"rebuild-{projector.service}-{stream}")
        events = sum(applied)
    finally:
        await consumer.stop()
    await fresh.create_indexes()
    digest = await fresh.digest()
    if swap:
        await _swap(engine, fresh.schema, live_schema)
    return RebuildResult(events=events, seconds=time.perf_counter() - started, digest=digest)


async def _swap(engine: AsyncEngine, fresh: str, live: str) -> None:
    """Swap schemas; locking the live offsets first makes the live runner wait between batches."""
    old = f"{live}_old"
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{old}" CASCADE'))
        exists = await conn.scalar(
            text("SELECT count(*) FROM information_schema.schemata WHERE schema_name = :s"),
            {"s": live},
        )
        if exists:
            await conn.execute(text(f'LOCK TABLE "{live}".stored_offsets IN ACCESS EXCLUSIVE MODE'))
            # The live store reacted up to its positions: the swapped-in one must not again.
            await conn.execute(
                text(
                    f'INSERT INTO "{fresh}".reaction_horizon (partition, next_offset) '
                    f'SELECT partition, next_offset FROM "{live}".stored_offsets'
                )
            )
            await conn.execute(text(f'ALTER SCHEMA "{live}" RENAME TO "{old}"'))
        await conn.execute(text(f'ALTER SCHEMA "{fresh}" RENAME TO "{live}"'))
        if exists:
            await conn.execute(text(f'DROP SCHEMA "{old}" CASCADE'))
