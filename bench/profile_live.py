"""Live apply in a running claims service: a paced append (``bench.live``) at ``--rate`` events/s
for ``--seconds``, the largest lag and the p99 from acknowledgement to readable, and the CPU the
service and its PostgreSQL backends spent per event. Small enough to run under a profiler::

    uv run --frozen python -m bench.profile_live --rate 5000 --seconds 20
    uv run --frozen python -m bench.profile_live --py-spy /tmp/live.txt   # the service, sampled

Works on a topic and a schema of its own and removes them at the end; needs the local stack.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from bench import live
from bench.__main__ import claims_service
from bench.log import Positions
from tests.support import (
    create_topic,
    delete_topics,
    drop_schemas,
    ensure_dlq,
)

DATABASE = "amiable_claims"


def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _local_ports(pid: int) -> set[int]:
    """The local TCP ports of ``pid``'s sockets (Linux /proc)."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


async def _backends(dsn: str, pid: int) -> list[int]:
    """The PostgreSQL backends serving ``pid`` (matched by its connections' ports)."""
    ports = sorted(_local_ports(pid))
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE client_port = ANY($1::int[])", ports
        )
        return [row["pid"] for row in rows]
    finally:
        await conn.close()


class Profiled:
    """A claims service on a topic and a schema of its own (removed on exit), and the CPU it and
    its PostgreSQL backends spend from :meth:`measure` on, sampled by py-spy if asked."""

    def __init__(self, name: str, py_spy: str | None) -> None:
        self.name = name
        self.py_spy = py_spy
        self.bootstrap = os.environ.get("AMIABLE_KAFKA_BOOTSTRAP", "localhost:19092")
        self.server = os.environ.get(
            "AMIABLE_DATABASE_URL", "postgresql://amiable:amiable@localhost:15432"
        )
        self.schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
        dsn = make_url(self.server).set(drivername="postgresql", database=DATABASE)
        self.dsn = dsn.render_as_string(hide_password=False)
        self.spy: subprocess.Popen | None = None
        self.before = (0.0, 0.0)
        self.backends: list[int] = []
        self.load = 0.0

    async def __aenter__(self) -> Profiled:
        self.topic = await create_topic(self.bootstrap, f"bench-{self.name}-{uuid.uuid4().hex[:8]}")
        await ensure_dlq(self.bootstrap)
        self.service = claims_service(
            self.bootstrap, self.server, self.topic, self.schema, f"profile-{self.name}-claims.log"
        )
        self.pid = self.service.process.pid
        self.positions = await Positions(self.server, DATABASE, self.schema).start()
        try:
            self.service.wait_ready()
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def measure(self) -> None:
        """From now on: CPU counted, and py-spy sampling the service."""
        self.backends = await _backends(self.dsn, self.pid)
        if self.py_spy:
            command = ["record", "--format", "raw", "-o", self.py_spy, "--rate", "200", "--pid"]
            self.spy = subprocess.Popen(  # noqa: ASYNC220 (started once, never waited on here)
                [Path(sys.executable).with_name("py-spy"), *command, str(self.pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        self.load = os.getloadavg()[0]
        self.before = self._cpu()

    def _cpu(self) -> tuple[float, float]:
        return _cpu_seconds(self.pid), sum(_cpu_seconds(b) for b in self.backends)

    async def per(self, count: int) -> tuple[float, float]:
        """Microseconds of CPU per unit of work since :meth:`measure`: the service's and its
        PostgreSQL backends'."""
        self.backends = sorted(set(self.backends) | set(await _backends(self.dsn, self.pid)))
        after = self._cpu()
        service, postgres = (
            1e6 * (b - a) / max(1, count) for a, b in zip(self.before, after, strict=True)
        )
        return service, postgres

    async def __aexit__(self, *exc) -> None:
        if self.spy is not None:
            self.spy.send_signal(2)
            self.spy.wait(30)
        await self.positions.stop()
        self.service.stop()
        await drop_schemas(self.server, DATABASE, [self.schema])
        await delete_topics(self.bootstrap, [self.topic])


async def main(rate: int, seconds: float, py_spy: str | None) -> None:
    async with Profiled("live", py_spy) as profiled:
        await profiled.measure()
        result = await live.run(
            profiled.bootstrap,
            profiled.topic,
            profiled.positions,
            rate=rate,
            seconds=seconds,
            tenant="live",
        )
        service_cpu, postgres = await profiled.per(result.appended)
        print(
            f"live {rate:,}/s for {seconds:.0f}s: appended {result.appended:,} at "
            f"{result.achieved_rate:,.0f}/s; max lag {result.max_lag * 1000:,.0f} ms "
            f"({result.max_lag_records:,} records), p99 {result.percentile(0.99) * 1000:,.0f} ms, "
            f"p50 {result.percentile(0.5) * 1000:,.0f} ms; CPU per event: service"
            f" {service_cpu:.0f} us, PostgreSQL {postgres:.0f} us"
            f" (load {profiled.load:.2f} before)",
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--py-spy", help="sample the service with py-spy into this raw file")
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.seconds, args.py_spy))
