"""The claims projection's rebuild rate against a raw ``getmany`` of the same events, measured in
one run, small enough to run under a profiler::

    uv run --frozen python -m bench.profile_rebuild --events 50000
    uv run --frozen py-spy record -o /tmp/rebuild.svg -- python -m bench.profile_rebuild

``--poison K`` spreads K events that decode but cannot be applied (an amount over the
projection's ``Numeric(20, 4)``) over the log: each parks its debtor account, and the rate shows
what a failing batch costs. Works on a topic and schemas of its own and removes them at the end;
needs the local stack (``amiable stack up``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from decimal import Decimal

from sqlalchemy import event

from amiable_claims.adapters.projector import ClaimsProjector
from amiable_claims.main import policy
from amiable_claims.settings import ClaimsSettings
from amiable_events.catalog import REGISTRY
from amiable_events.db import create_engine
from amiable_events.envelope import Envelope
from amiable_events.producer import EventLog
from amiable_events.projection import rebuild
from bench.log import raw_read
from tests.factories import registered
from tests.support import create_topic, delete_topics, drop_schemas


def events(count: int, poison: int) -> list[Envelope]:
    """``count`` registrations of one tenant; every ``count // poison``-th overflows, each on a
    debtor account of its own (so each fails a batch and parks an account)."""
    every = count // poison if poison else 0
    out = []
    for n in range(count):
        if every and n % every == every // 2:
            envelope = registered(n, tenant="bench", debtor=f"poisoned-{n}")
            data = envelope.data.model_copy(update={"amount": Decimal(10) ** 27})
            envelope = Envelope(**{**_fields(envelope), "data": data})
        else:
            envelope = registered(n, tenant="bench")
        out.append(envelope)
    return out


def _fields(envelope: Envelope) -> dict:
    return {name: getattr(envelope, name) for name in envelope.__slots__}


async def produce(bootstrap: str, topic: str, envelopes: list[Envelope]) -> float:
    log = EventLog(bootstrap, topic=topic, client_id="bench-profile")
    await log.start()
    started = time.perf_counter()
    try:
        for start in range(0, len(envelopes), 5000):
            await log.append(envelopes[start : start + 5000])
    finally:
        await log.stop()
    return time.perf_counter() - started


class CpuTime:
    """CPU seconds of this process and of the PostgreSQL backends serving ``engine`` (the server
    runs on this machine): per event, they hold still while other work loads the machine and
    moves the rates."""

    def __init__(self, engine) -> None:
        self.backends: set[int] = set()
        event.listen(engine.sync_engine, "connect", self._connected)

    def _connected(self, connection, _record) -> None:
        self.backends.add(connection.driver_connection.get_server_pid())

    def now(self) -> tuple[float, float]:
        return time.process_time(), sum(_cpu_seconds(pid) for pid in self.backends)


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0  # a backend whose connection closed: its time is lost, not negative
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main(
    count: int, poison: int, repeat: int, read_only: bool, streams: int, max_records: int
) -> None:
    bootstrap = os.environ.get("AMIABLE_KAFKA_BOOTSTRAP", "localhost:19092")
    server = os.environ.get("AMIABLE_DATABASE_URL", "postgresql://amiable:amiable@localhost:15432")
    topic = await create_topic(bootstrap, f"bench-profile-{uuid.uuid4().hex[:8]}")
    engine = create_engine(server, "amiable_claims")
    cpu = CpuTime(engine)
    schema = f"bench_profile_{uuid.uuid4().hex[:8]}"
    try:
        appended = await produce(bootstrap, topic, events(count, poison))
        print(f"append   {count:,} events ({poison} poison) in {appended:.2f}s", flush=True)
        for _ in range(repeat):
            load = os.getloadavg()[0]
            read = await raw_read(bootstrap, topic, count)
            if read_only:
                print(f"raw read {count / read:,.0f} events/s (load {load:.2f})", flush=True)
                continue
            before = cpu.now()
            result = await rebuild(
                ClaimsProjector(policy(ClaimsSettings(env="dev"))),
                engine,
                REGISTRY,
                bootstrap=bootstrap,
                topic=topic,
                live_schema=schema,
                streams=streams,
                max_records=max_records,
            )
            python, postgres = (
                1e6 * (b - a) / count for a, b in zip(before, cpu.now(), strict=True)
            )
            rate = result.events / result.seconds
            print(
                f"raw read {count / read:,.0f} events/s; rebuild {rate:,.0f} events/s "
                f"({result.seconds:.2f}s): ratio {read / result.seconds:.3f}; CPU per event: "
                f"Python {python:.0f} us, PostgreSQL {postgres:.0f} us (load {load:.2f}; "
                f"parked accounts {result.digest['tables']['parked_accounts']['rows']})",
                flush=True,
            )
    finally:
        await engine.dispose()
        await drop_schemas(server, "amiable_claims", [schema, f"{schema}_old"])
        await delete_topics(bootstrap, [topic])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--poison", type=int, default=0, help="events that park their account")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--read-only", action="store_true", help="only the raw read")
    parser.add_argument("--streams", type=int, default=2, help="rebuild's concurrent appliers")
    parser.add_argument("--max-records", type=int, default=5000, help="rebuild's batch size")
    args = parser.parse_args()
    asyncio.run(
        main(
            args.events,
            args.poison,
            args.repeat,
            args.read_only,
            args.streams,
            args.max_records,
        )
    )
