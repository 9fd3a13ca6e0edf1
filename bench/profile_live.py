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
from bench.log import Positions
from tests.support import (
    ROOT,
    TEST_JWT_SECRET,
    ServiceProcess,
    create_topic,
    delete_topics,
    drop_schemas,
    ensure_dlq,
    free_port,
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


async def main(rate: int, seconds: float, py_spy: str | None) -> None:
    bootstrap = os.environ.get("AMIABLE_KAFKA_BOOTSTRAP", "localhost:19092")
    server = os.environ.get("AMIABLE_DATABASE_URL", "postgresql://amiable:amiable@localhost:15432")
    topic = await create_topic(bootstrap, f"bench-live-{uuid.uuid4().hex[:8]}")
    await ensure_dlq(bootstrap)
    schema = f"bench_live_{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "AMIABLE_KAFKA_BOOTSTRAP": bootstrap,
        "AMIABLE_DATABASE_URL": server,
        "AMIABLE_ENV": "test",
        "AMIABLE_JWT_SECRET": TEST_JWT_SECRET,
        "AMIABLE_TOPIC": topic,
        "AMIABLE_PROJECTION_SCHEMA": schema,
        "AMIABLE_CONSUMER_GROUP": schema,
        "OTEL_SDK_DISABLED": "true",
    }
    log_path = ROOT / ".amiable" / "bench" / "profile-live-claims.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    service = ServiceProcess("claims", free_port(), env, log_path).start()
    dsn = make_url(server).set(drivername="postgresql", database=DATABASE)
    dsn = dsn.render_as_string(hide_password=False)
    positions = await Positions(server, DATABASE, schema).start()
    spy = None
    try:
        service.wait_ready()
        pid = service.process.pid
        backends = await _backends(dsn, pid)
        if py_spy:
            command = ["record", "--format", "raw", "-o", py_spy, "--rate", "200", "--pid"]
            spy = subprocess.Popen(  # noqa: ASYNC220 (started once, never waited on here)
                [Path(sys.executable).with_name("py-spy"), *command, str(pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        load = os.getloadavg()[0]
        before = _cpu_seconds(pid), sum(_cpu_seconds(b) for b in backends)
        result = await live.run(
            bootstrap, topic, positions, rate=rate, seconds=seconds, tenant="live"
        )
        backends = sorted(set(backends) | set(await _backends(dsn, pid)))
        after = _cpu_seconds(pid), sum(_cpu_seconds(b) for b in backends)
        service_cpu, postgres = (
            1e6 * (b - a) / result.appended for a, b in zip(before, after, strict=True)
        )
        print(
            f"live {rate:,}/s for {seconds:.0f}s: appended {result.appended:,} at "
            f"{result.achieved_rate:,.0f}/s; max lag {result.max_lag * 1000:,.0f} ms "
            f"({result.max_lag_records:,} records), p99 {result.percentile(0.99) * 1000:,.0f} ms, "
            f"p50 {result.percentile(0.5) * 1000:,.0f} ms; CPU per event: "
            f"service {service_cpu:.0f} us, PostgreSQL {postgres:.0f} us (load {load:.2f} before)",
            flush=True,
        )
    finally:
        if spy is not None:
            spy.send_signal(2)
            spy.wait(30)
        await positions.stop()
        service.stop()
        await drop_schemas(server, DATABASE, [schema])
        await delete_topics(bootstrap, [topic])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--py-spy", help="sample the service with py-spy into this raw file")
    args = parser.parse_args()
    asyncio.run(main(args.rate, args.seconds, args.py_spy))
