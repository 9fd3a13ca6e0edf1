"""Durable timers against the real broker and database.

A reminder projector: ``ReminderArmed`` schedules timer ``reminder:<id>``, ``ReminderDisarmed``
cancels it, and ``ReminderFired`` (what the fire function builds) marks it fired and counts into
``reminders_fired`` with a non-idempotent increment, so an effect applied twice shows.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from aiokafka import AIOKafkaConsumer
from sqlalchemy import Column, Integer, MetaData, String, Table, select, text
from sqlalchemy.dialects.postgresql import insert

from amiable_events.base import Event
from amiable_events.clock import AcceleratedClock, FrozenClock
from amiable_events.db import create_engine
from amiable_events.envelope import Envelope
from amiable_events.producer import EventLog
from amiable_events.projection import (
    ProjectionRunner,
    ProjectionStore,
    add_runner_tables,
    rebuild,
    topic_partitions,
)
from amiable_events.registry import Registry
from amiable_events.timers import (
    TimerLoop,
    TimerRow,
    Timers,
    add_timer_table,
    timer_event_id,
)
from amiable_events.topics import dlq_topic
from tests.support import create_topic, delete_topics, eventually, read_topic

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)


class ReminderArmed(Event):
    type: ClassVar[str] = "amiable.test.reminder-armed.v1"
    source: ClassVar[str] = "test"
    reminder_id: str
    due_at: datetime


class ReminderDisarmed(Event):
    type: ClassVar[str] = "amiable.test.reminder-disarmed.v1"
    source: ClassVar[str] = "test"
    reminder_id: str


class ReminderFired(Event):
    type: ClassVar[str] = "amiable.test.reminder-fired.v1"
    source: ClassVar[str] = "test"
    reminder_id: str


REGISTRY = Registry(models=[ReminderArmed, ReminderDisarmed, ReminderFired])

metadata = MetaData()
reminders_fired = Table(
    "reminders_fired",
    metadata,
    Column("reminder_id", String, primary_key=True),
    Column("times", Integer, nullable=False),
)
timers = add_timer_table(metadata)
add_runner_tables(metadata)


class ReminderProjector:
    metadata = metadata

    def __init__(self, service: str) -> None:
        self.service = service
        self.timers = Timers(timers, service=service)
        #: While set to an unset Event, the runner holds every cancellation, unapplied, until
        #: the test sets it (in place of a slow runner, with no wall-clock sleep).
        self.disarms_released: asyncio.Event | None = None
        self.broken = False

    async def apply(self, conn, envelope: Envelope) -> None:
        event = envelope.data
        if isinstance(event, ReminderArmed):
            await self.timers.schedule(
                conn,
                timer_id=f"reminder:{event.reminder_id}",
                due_at=event.due_at,
                account=envelope.key,
                subject=envelope.subject,
                kind="reminder",
                payload={"reminder_id": event.reminder_id},
                armed_by=envelope,
            )
        elif isinstance(event, ReminderDisarmed):
            if self.disarms_released is not None:
                await self.disarms_released.wait()
            await self.timers.cancel(conn, f"reminder:{event.reminder_id}")
        elif isinstance(event, ReminderFired):
            if self.broken:
                raise RuntimeError("a bug in the projector")
            await self.timers.fired(conn, envelope.id)
            statement = insert(reminders_fired).values(reminder_id=event.reminder_id, times=1)
            await conn.execute(
                statement.on_conflict_do_update(
                    index_elements=[reminders_fired.c.reminder_id],
                    set_={"times": reminders_fired.c.times + 1},
                )
            )


def fire_reminder(row: TimerRow) -> Envelope | None:
    return row.envelope(ReminderFired(reminder_id=row.payload["reminder_id"]))


class Rig:
    def __init__(self, infra, unique: str, topic: str) -> None:
        self.bootstrap = infra.bootstrap
        self.topic = topic
        self.service = f"t{unique}"
        self.tenant = f"tenant{unique}"
        self.engine = create_engine(infra.database_url, "amiable_claims")
        self.projector = ReminderProjector(self.service)
        self.store = ProjectionStore(
            self.projector, self.engine, REGISTRY, schema=f"timers_{unique}"
        )
        self.log = EventLog(infra.bootstrap, topic=topic, client_id="timers-test")
        self.runner: ProjectionRunner | None = None
        self.loops: list[TimerLoop] = []

    async def start_runner(self) -> ProjectionRunner:
        self.runner = ProjectionRunner(
            self.store, bootstrap=self.bootstrap, topic=self.topic, dlq_producer=self.log
        )
        await self.runner.start()
        return self.runner

    def loop(self, clock, *, runner: ProjectionRunner | str | None = "rig", **options) -> TimerLoop:
        loop = TimerLoop(
            store=self.store,
            table=timers,
            log=self.log,
            clock=clock,
            fire=fire_reminder,
            service=self.service,
            runner=self.runner if runner == "rig" else runner,
            **options,
        )
        self.loops.append(loop)
        return loop

    def envelope(self, data: Event, debtor: str, traceparent: str | None = None) -> Envelope:
        claim_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.tenant}/{debtor}")
        return Envelope(
            traceparent=traceparent,
            id=uuid.uuid4(),
            subject=str(claim_id),
            time=T0,
            tenant=self.tenant,
            debtor_id=debtor,
            correlation_id=claim_id,
            data=data,
        )

    async def arm(
        self, reminder_id: str, due_at: datetime, *, debtor: str = "d1", traceparent=None
    ) -> uuid.UUID:
        armed = self.envelope(
            ReminderArmed(reminder_id=reminder_id, due_at=due_at), debtor, traceparent
        )
        await self.log.append([armed])
        return armed.id

    async def disarm(self, reminder_id: str, *, debtor: str = "d1") -> None:
        await self.log.append([self.envelope(ReminderDisarmed(reminder_id=reminder_id), debtor)])

    def event_id(self, reminder_id: str) -> uuid.UUID:
        return timer_event_id(self.service, f"reminder:{reminder_id}")

    async def caught_up(self) -> None:
        async def check() -> bool:
            ends = await end_offsets(self.bootstrap, self.topic)
            positions = await self.store.positions()
            return all(positions.get(p, 0) >= end for p, end in ends.items() if end)

        await eventually(check)

    async def fired_counts(self) -> dict[str, int]:
        async with self.store.transaction() as conn:
            table = reminders_fired
            return dict((await conn.execute(select(table.c.reminder_id, table.c.times))).all())

    async def state(self, reminder_id: str) -> str | None:
        async with self.store.transaction() as conn:
            return await conn.scalar(
                select(timers.c.state).where(timers.c.timer_id == f"reminder:{reminder_id}")
            )

    async def fired_records(self) -> list[str]:
        """The ids of every ReminderFired record in the topic, duplicates included."""
        return [
            ce_id
            for ce_type, ce_id in await records(self.bootstrap, self.topic)
            if ce_type == ReminderFired.type
        ]


async def end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, topic)
        return {tp.partition: end for tp, end in (await consumer.end_offsets(partitions)).items()}
    finally:
        await consumer.stop()


async def records(
    bootstrap: str, topic: str, traces: dict[str, str] | None = None
) -> list[tuple[str, str]]:
    """(ce_type, ce_id) of every record of ``topic``; ``traces`` gets each id's traceparent."""
    found = []
    for record in await read_topic(bootstrap, topic):
        headers = dict(record.headers)
        found.append((headers["ce_type"].decode(), headers["ce_id"].decode()))
        if traces is not None:
            traces[headers["ce_id"].decode()] = headers.get("traceparent", b"").decode()
    return found


@pytest.fixture
async def rig(infra, unique):
    topic = await create_topic(infra.bootstrap, f"timers-{unique}")
    rig = Rig(infra, unique, topic)
    await create_topic(infra.bootstrap, dlq_topic(rig.service), partitions=1)
    await rig.log.start()
    await rig.start_runner()
    try:
        yield rig
    finally:
        for loop in rig.loops:
            await loop.stop()
        if rig.runner is not None:
            await rig.runner.stop()
        await rig.log.stop()
        async with rig.engine.begin() as conn:
            for schema in (rig.store.schema, f"{rig.store.schema}_rebuild"):
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await rig.engine.dispose()
        await delete_topics(infra.bootstrap, [topic, dlq_topic(rig.service)])


async def test_a_timer_fires_once_when_the_clock_passes_its_due_time(rig):
    clock = FrozenClock(T0)
    await rig.arm("r1", T0 + HOUR)
    await rig.caught_up()
    loop = rig.loop(clock)

    assert await loop.tick() == 0
    clock.advance(HOUR - timedelta(seconds=1))
    assert await loop.tick() == 0
    assert await rig.state("r1") == "pending"

    clock.advance(timedelta(seconds=1))
    assert await loop.tick() == 1
    assert await loop.tick() == 0  # appended, not applied yet: not appended again
    await eventually(lambda: _equals(rig.fired_counts(), {"r1": 1}))
    assert await rig.state("r1") == "fired"
    for _ in range(3):
        assert await loop.tick() == 0

    assert await rig.fired_records() == [str(rig.event_id("r1"))]
    assert await rig.fired_counts() == {"r1": 1}


async def test_a_fired_timer_is_caused_by_the_processing_of_the_event_that_armed_it(
    rig, finished_spans
):
    """Sent -> processed (arms the timer) -> fired (a span of the timer loop, the fired event's
    parent): one trace, each span the child of the one before."""
    clock = FrozenClock(T0 + 2 * HOUR)
    trace_id, sent = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    armed_id = await rig.arm("r1", T0 + HOUR, traceparent=f"00-{trace_id}-{sent}-01")
    await rig.caught_up()
    assert await rig.loop(clock).tick() == 1
    traces: dict[str, str] = {}
    await records(rig.bootstrap, rig.topic, traces)

    spans = finished_spans.get_finished_spans()
    [armed] = [s for s in spans if s.attributes.get("messaging.message.id") == str(armed_id)]
    [fired] = [s for s in spans if s.name == "timer reminder"]
    assert format(armed.context.trace_id, "032x") == trace_id
    assert format(armed.parent.span_id, "016x") == sent
    assert fired.context.trace_id == armed.context.trace_id
    assert fired.parent.span_id == armed.context.span_id
    assert fired.attributes["amiable.timer_id"] == "reminder:r1"
    fired_by = format(fired.context.span_id, "016x")
    assert traces[str(rig.event_id("r1"))] == f"00-{trace_id}-{fired_by}-01"


async def test_a_cancelled_timer_never_fires(rig):
    clock = FrozenClock(T0)
    await rig.arm("r1", T0 + HOUR)
    await rig.arm("r2", T0 + HOUR)
    await rig.disarm("r1")
    await rig.caught_up()
    loop = rig.loop(clock)

    clock.advance(2 * HOUR)
    assert await loop.tick() == 1
    await eventually(lambda: _equals(rig.fired_counts(), {"r2": 1}))
    assert await loop.tick() == 0

    assert await rig.state("r1") == "cancelled"
    assert await rig.fired_records() == [str(rig.event_id("r2"))]


async def test_a_moved_timer_fires_at_its_new_time_and_a_fired_one_is_never_rearmed(rig):
    clock = FrozenClock(T0)
    await rig.arm("r1", T0 + HOUR)
    await rig.arm("r1", T0 + 3 * HOUR)  # moved
    await rig.caught_up()
    loop = rig.loop(clock)

    clock.set(T0 + 2 * HOUR)
    assert await loop.tick() == 0
    clock.set(T0 + 3 * HOUR)
    assert await loop.tick() == 1
    await eventually(lambda: _equals(rig.fired_counts(), {"r1": 1}))

    await rig.arm("r1", T0 + 4 * HOUR)  # too late: it fired
    await rig.arm("r2", T0 + 4 * HOUR)
    await rig.disarm("r2")
    await rig.arm("r2", T0 + 6 * HOUR)  # a cancelled timer may be armed again
    await rig.caught_up()
    assert await rig.state("r1") == "fired"
    assert await rig.state("r2") == "pending"
    clock.set(T0 + 5 * HOUR)
    assert await loop.tick() == 0
    assert await rig.fired_records() == [str(rig.event_id("r1"))]


async def test_a_timer_waits_for_the_cancelling_event_already_in_the_log(rig):
    clock = FrozenClock(T0 + 2 * HOUR)
    await rig.arm("r1", T0 + HOUR, debtor="d1")
    await rig.caught_up()
    rig.projector.disarms_released = asyncio.Event()  # the runner holds r1's cancellation

    # With the runner, the loop waits until r1's partition holds what the log held at the tick:
    # while the cancellation is held it never does, so r1 does not fire (the tick gives up on
    # that partition at its catch-up deadline and the timer waits)...
    await rig.disarm("r1", debtor="d1")
    assert await rig.loop(clock, catch_up_timeout=0.5).tick() == 0
    assert await rig.state("r1") == "pending"
    # ...and once the cancellation is applied, the timer is cancelled, never fired.
    rig.projector.disarms_released.set()
    assert await rig.loop(clock, catch_up_timeout=10).tick() == 0
    assert await rig.state("r1") == "cancelled"

    # The control: a loop that does not wait fires r2 although its cancellation is in the log.
    await rig.arm("r2", T0 + HOUR, debtor="d2")
    await rig.caught_up()
    rig.projector.disarms_released = asyncio.Event()  # the runner holds r2's cancellation
    await rig.disarm("r2", debtor="d2")
    assert await asyncio.wait_for(rig.loop(clock, runner=None).tick(), 30) == 1
    rig.projector.disarms_released.set()
    await rig.caught_up()
    assert await rig.state("r2") == "fired"  # the event is in the log: the timer did fire
    assert await rig.fired_records() == [str(rig.event_id("r2"))]


async def test_a_loop_that_died_after_appending_re_appends_the_same_id_applied_once(rig):
    clock = FrozenClock(T0)
    await rig.arm("r1", T0 + HOUR)
    await rig.caught_up()
    await rig.runner.stop()  # nothing gets applied while the loops "crash"
    clock.advance(2 * HOUR)

    first = rig.loop(clock, runner=None)
    assert await first.tick() == 1
    await first.stop()  # the process dies: its in-memory state and its session are gone
    second = rig.loop(clock, runner=None)
    assert await second.tick() == 1
    await second.stop()

    event_id = str(rig.event_id("r1"))
    assert await rig.fired_records() == [event_id, event_id]
    assert await rig.fired_counts() == {}

    await rig.start_runner()
    await rig.caught_up()
    assert await rig.fired_counts() == {"r1": 1}
    assert await rig.state("r1") == "fired"
    assert await rig.loop(clock, runner=None).tick() == 0


async def test_two_loops_ticking_together_append_each_timer_once(rig):
    clock = FrozenClock(T0)
    reminders = [f"r{n}" for n in range(30)]
    for n, reminder in enumerate(reminders):
        await rig.arm(reminder, T0 + HOUR + n * timedelta(seconds=1), debtor=f"d{n}")
    await rig.caught_up()
    # Nothing gets applied for a while: a loop's claims must hold past its transaction.
    await rig.runner.stop()
    clock.advance(2 * HOUR)
    one, two = rig.loop(clock, runner=None), rig.loop(clock, runner=None)

    first = await asyncio.gather(one.tick(), two.tick())
    assert sum(first) == 30
    for _ in range(2):
        assert await asyncio.gather(one.tick(), two.tick()) == [0, 0]
        assert [await one.tick(), await two.tick(), await one.tick()] == [0, 0, 0]

    await rig.start_runner()
    await rig.caught_up()
    assert await rig.fired_counts() == dict.fromkeys(reminders, 1)
    assert await asyncio.gather(one.tick(), two.tick()) == [0, 0]
    fired = await rig.fired_records()
    assert sorted(fired) == sorted(str(rig.event_id(r)) for r in reminders)


async def test_a_replica_takes_over_the_claims_of_one_that_died(rig):
    clock = FrozenClock(T0)
    await rig.arm("r1", T0 + HOUR)
    await rig.caught_up()
    await rig.runner.stop()
    clock.advance(2 * HOUR)
    one, two = rig.loop(clock, runner=None), rig.loop(clock, runner=None)

    assert await one.tick() == 1
    assert await two.tick() == 0  # claimed by the first, until its event is applied
    await one.stop()  # the first dies before that: its session, and its claims, end
    assert await two.tick() == 1  # the same event id again

    await rig.start_runner()
    await rig.caught_up()
    assert await rig.fired_counts() == {"r1": 1}
    assert await two.tick() == 0
    event_id = str(rig.event_id("r1"))
    assert await rig.fired_records() == [event_id, event_id]


async def test_a_rebuild_reproduces_the_timers_and_fires_nothing(rig):
    clock = FrozenClock(T0)
    await rig.arm("fired", T0 + HOUR, debtor="d1")
    await rig.arm("cancelled", T0 + HOUR, debtor="d2")
    await rig.disarm("cancelled", debtor="d2")
    await rig.arm("later", T0 + 240 * HOUR, debtor="d3")
    await rig.caught_up()
    clock.advance(2 * HOUR)
    loop = rig.loop(clock, interval=0.05)
    await loop.start()
    await eventually(lambda: _equals(rig.fired_counts(), {"fired": 1}))
    await rig.caught_up()
    before = await records(rig.bootstrap, rig.topic)
    live = await rig.store.digest()

    # The replay passes through a state where "fired" is pending and long due; the loop, ticking
    # all along, reads only the live schema.
    result = await rebuild(
        rig.projector,
        rig.engine,
        REGISTRY,
        bootstrap=rig.bootstrap,
        topic=rig.topic,
        live_schema=rig.store.schema,
    )
    ticks = loop.ticks
    await eventually(lambda: loop.ticks >= ticks + 5)

    assert result.digest["tables"]["timers"] == live["tables"]["timers"]
    assert result.digest["digest"] == live["digest"]
    assert (await rig.store.digest())["digest"] == live["digest"]
    assert sorted(await records(rig.bootstrap, rig.topic)) == sorted(before)
    assert loop.appended == 1
    assert [await rig.state(r) for r in ("fired", "cancelled", "later")] == [
        "fired",
        "cancelled",
        "pending",
    ]


async def test_the_loop_follows_an_accelerated_clock(rig):
    real_now = datetime.now(UTC)
    # An epoch an hour ago at 1440x: moved time is two months ahead of real time.
    clock = AcceleratedClock(epoch=real_now - HOUR, speed=1440)
    await rig.arm("tomorrow", real_now + 24 * HOUR, debtor="d1")
    await rig.arm("next-year", real_now + 365 * 24 * HOUR, debtor="d2")
    await rig.caught_up()

    loop = rig.loop(clock, interval=0.05)
    await loop.start()
    await eventually(lambda: _equals(rig.fired_counts(), {"tomorrow": 1}))
    ticks = loop.ticks
    await eventually(lambda: loop.ticks >= ticks + 3)

    assert await rig.state("next-year") == "pending"
    assert await rig.fired_records() == [str(rig.event_id("tomorrow"))]


async def test_a_timer_of_a_parked_account_is_not_re_appended(rig):
    clock = FrozenClock(T0)
    await rig.arm("r1", T0 + HOUR)
    await rig.caught_up()
    rig.projector.broken = True  # applying ReminderFired fails: the account gets parked
    clock.advance(2 * HOUR)
    loop = rig.loop(clock)

    assert await loop.tick() == 1
    await eventually(lambda: _parked(rig))
    for _ in range(3):
        assert await loop.tick() == 0
    assert await rig.state("r1") == "pending"
    assert await rig.fired_records() == [str(rig.event_id("r1"))]
    # after a restart, with no memory of the append, the parked account is skipped too
    await loop.stop()
    restarted = rig.loop(clock)
    assert await restarted.tick() == 0

    rig.projector.broken = False  # the fix is deployed
    assert await rig.store.unpark() == {f"{rig.tenant}:d1": "released"}
    assert await rig.state("r1") == "fired"
    assert await rig.fired_counts() == {"r1": 1}
    assert await restarted.tick() == 0
    assert await rig.fired_records() == [str(rig.event_id("r1"))]


async def _parked(rig) -> bool:
    return bool(await rig.store.parked())


async def _equals(value, expected) -> bool:
    return await value == expected
