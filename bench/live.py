"""Live apply: a paced append into a running service's log, and when each record became readable.

A spawned process appends ``ClaimRegistered`` (one tenant, 10,000 debtors) at ``rate`` events/s
for ``seconds`` with the services' producer settings (``EventLog``'s: idempotent, acks=all; the
events built and encoded before the clock starts): what came due every 10 ms, a few appends in
flight, noting when each append was acknowledged (``time.monotonic``: one clock for every
process on Linux). Meanwhile the bench polls the service's stored positions every 10 ms (they
commit with the rows: a record below them is readable). A record's latency runs from its
acknowledgement to the start of the first poll that shows it applied: an upper bound, at most
one poll interval (plus the query) late. The projection's lag at an instant is the age of its
oldest acknowledged record not yet readable, so the largest lag over the run is the largest
latency; the lag in records (acknowledged ends minus positions) is reported beside it.
"""

from __future__ import annotations

import asyncio
import bisect
import multiprocessing
import time
from array import array
from dataclasses import dataclass

from bench.log import Positions

POLL_SECONDS = 0.01
TICK_SECONDS = 0.01
#: Appends in flight at once. When acknowledgements come slower than the ticks, the next append
#: takes everything due since (a bigger batch) instead of queueing more of them, which would
#: only time out in the producer's accumulator.
IN_FLIGHT = 4
#: Debtor accounts the paced events spread over: as many that no append carries two records of
#: one account. ``EventLog`` sends an account's records as a record batch of their own, and the
#: idempotent producer has one request in flight per partition, so repeated accounts would cap
#: the rate at a few record batches per partition per round trip: a limit of the producer, not
#: of the projection this measures.
DEBTORS = 10_000


@dataclass(frozen=True)
class LiveResult:
    rate: float  # the target append rate
    appended: int
    append_seconds: float
    latencies: list[float]  # sorted, seconds; a record never seen readable counts as inf
    max_lag_records: int
    polls: int

    @property
    def achieved_rate(self) -> float:
        return self.appended / self.append_seconds

    def percentile(self, q: float) -> float:
        return self.latencies[min(len(self.latencies) - 1, int(q * len(self.latencies)))]

    @property
    def max_lag(self) -> float:
        return self.latencies[-1]


async def run(
    bootstrap: str,
    topic: str,
    positions: Positions,
    *,
    rate: int,
    seconds: float,
    tenant: str,
    catch_up_timeout: float = 1800,
) -> LiveResult:
    """Append at ``rate`` for ``seconds`` while polling ``positions``; then keep polling until
    every appended record is readable (or the timeout)."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    producer = context.Process(
        target=_pace, args=(bootstrap, topic, rate, seconds, tenant, send), daemon=True
    )
    polls: list[tuple[float, dict[int, int]]] = []
    producer.start()
    send.close()
    try:
        loop = asyncio.get_running_loop()
        # The producer first encodes its events, then says it starts the clock.
        ready = await loop.run_in_executor(None, receive.recv)
        if ready != "ready":
            raise RuntimeError(f"the paced append failed:\n{ready}")
        appended = loop.run_in_executor(None, receive.recv)
        while not appended.done():
            polls.append((time.monotonic(), await positions.read()))
            await asyncio.sleep(POLL_SECONDS)
        outcome = await appended
        if isinstance(outcome, str):
            raise RuntimeError(f"the paced append failed:\n{outcome}")
        acks, parts, offsets, started, finished = outcome
    finally:
        producer.join(30)
        if producer.is_alive():
            producer.kill()
            producer.join()
    ends: dict[int, int] = {}
    for p, o in zip(parts, offsets, strict=True):
        ends[p] = max(ends.get(p, 0), o + 1)
    deadline = time.monotonic() + catch_up_timeout
    while time.monotonic() < deadline:
        polls.append((time.monotonic(), stored := await positions.read()))
        if all(stored.get(p, 0) >= end for p, end in ends.items()):
            break
        await asyncio.sleep(POLL_SECONDS)
    return LiveResult(
        rate=rate,
        appended=len(offsets),
        append_seconds=finished - started,
        latencies=sorted(_latencies(polls, acks, parts, offsets)),
        max_lag_records=_max_lag_records(polls, acks, parts, offsets),
        polls=len(polls),
    )


def _latencies(polls, acks, parts, offsets) -> list[float]:
    """Per record: from its acknowledgement to the first poll showing it applied."""
    times = [t for t, _ in polls]
    by_partition: dict[int, list[int]] = {}
    for p in set(parts):
        # Stored positions only move forward: the series per partition is sorted.
        running = 0
        series = []
        for _, stored in polls:
            running = max(running, stored.get(p, 0))
            series.append(running)
        by_partition[p] = series
    out = []
    for ack, p, o in zip(acks, parts, offsets, strict=True):
        index = bisect.bisect_right(by_partition[p], o)  # first poll with position > o
        out.append(max(0.0, times[index] - ack) if index < len(times) else float("inf"))
    return out


def _max_lag_records(polls, acks, parts, offsets) -> int:
    """The largest number of acknowledged records not yet readable at any poll."""
    order = sorted(range(len(acks)), key=acks.__getitem__)
    ends: dict[int, int] = {}
    worst, i = 0, 0
    for t, stored in polls:
        while i < len(order) and acks[order[i]] <= t:
            k = order[i]
            ends[parts[k]] = max(ends.get(parts[k], 0), offsets[k] + 1)
            i += 1
        worst = max(worst, sum(max(0, end - stored.get(p, 0)) for p, end in ends.items()))
    return worst


def _pace(bootstrap: str, topic: str, rate: int, seconds: float, tenant: str, send) -> None:
    import traceback

    import uvloop

    try:
        send.send(uvloop.run(_paced(bootstrap, topic, rate, seconds, tenant, send)))
    except BaseException:
        send.send(traceback.format_exc())
    send.close()


async def _paced(bootstrap: str, topic: str, rate: int, seconds: float, tenant: str, send):
    from aiokafka import AIOKafkaProducer

    from amiable_events.envelope import encode
    from tests.factories import registered

    # Built and encoded before the clock starts (about 100 us an event): at 5,000 events/s that
    # work would otherwise take half a core from the append it is meant to pace.
    records = [
        encode(registered(n, tenant=tenant, debtor=f"debtor-{n % DEBTORS}"))
        for n in range(int(rate * seconds))
    ]
    # EventLog's producer settings; with one record per account per append, EventLog would send
    # each record on its own exactly like this.
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id="bench-live",
        enable_idempotence=True,
        acks="all",
        linger_ms=2,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    acks, parts, offsets = array("d"), array("i"), array("q")
    in_flight: set[asyncio.Task] = set()
    failed: list[BaseException] = []

    async def append(first: int, last: int) -> None:
        futures = [
            await producer.send(topic, value=value, key=key, headers=headers)
            for key, value, headers in records[first:last]
        ]
        appended = await asyncio.gather(*futures)
        acked = time.monotonic()
        for metadata in appended:
            acks.append(acked)
            parts.append(metadata.partition)
            offsets.append(metadata.offset)

    def note_failure(task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception():
            failed.append(task.exception())

    send.send("ready")
    try:
        started = time.monotonic()
        sent = 0
        while (now := time.monotonic()) < started + seconds:
            due = min(len(records), int(rate * (now - started)))
            if due > sent and len(in_flight) < IN_FLIGHT:
                task = asyncio.create_task(append(sent, due))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
                task.add_done_callback(note_failure)
                sent = due
            if failed:
                raise failed[0]
            await asyncio.sleep(TICK_SECONDS)
        await asyncio.gather(*in_flight)
        finished = time.monotonic()
    finally:
        await producer.stop()
    return acks, parts, offsets, started, finished
