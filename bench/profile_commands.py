"""``POST /v1/claims`` against a running claims service under wrk (``bench.load``), or one
``POST /v1/claims:import`` of ``--import-rows`` CSV rows, with the CPU the service and its
PostgreSQL backends spent per request (per row). Small enough to run under a profiler::

    uv run --frozen python -m bench.profile_commands --concurrency 16 --seconds 20
    uv run --frozen python -m bench.profile_commands --py-spy /tmp/commands.txt
    uv run --frozen python -m bench.profile_commands --import-rows 20000 --py-spy /tmp/import.txt

Works on a topic and a schema of its own and removes them at the end; needs the local stack.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.__main__ import MB, RssSampler, claims_service, describe, timed_import, wrk_load
from bench.log import LogEnd, Positions
from bench.profile_live import _backends, _cpu_seconds
from tests.support import create_topic, delete_topics, drop_schemas, ensure_dlq

DATABASE = "amiable_claims"


async def main(concurrency: int, seconds: int, py_spy: str | None, import_rows: int) -> None:
    bootstrap = os.environ.get("AMIABLE_KAFKA_BOOTSTRAP", "localhost:19092")
    server = os.environ.get("AMIABLE_DATABASE_URL", "postgresql://amiable:amiable@localhost:15432")
    topic = await create_topic(bootstrap, f"bench-cmd-{uuid.uuid4().hex[:8]}")
    await ensure_dlq(bootstrap)
    schema = f"bench_cmd_{uuid.uuid4().hex[:8]}"
    service = claims_service(bootstrap, server, topic, schema, "profile-commands-claims.log")
    dsn = make_url(server).set(drivername="postgresql", database=DATABASE)
    dsn = dsn.render_as_string(hide_password=False)
    spy = None
    positions = await Positions(server, DATABASE, schema).start()
    log_end = await LogEnd(bootstrap, topic).start()
    try:
        service.wait_ready()
        url = f"{service.url}/v1/claims"
        # Warm up: connections, keys, the first compiled statements.
        await asyncio.to_thread(wrk_load, url, f"warm-{uuid.uuid4().hex[:6]}", concurrency, 2)
        pid = service.process.pid
        backends = await _backends(dsn, pid)
        if py_spy:
            command = ["record", "--format", "raw", "-o", py_spy, "--rate", "200", "--pid"]
            spy = subprocess.Popen(  # noqa: ASYNC220 (started once, never waited on here)
                [Path(sys.executable).with_name("py-spy"), *command, str(pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        memory = RssSampler(pid)
        memory.start()
        load = os.getloadavg()[0]
        before = _cpu_seconds(pid), sum(_cpu_seconds(b) for b in backends)
        if import_rows:
            seconds, answered = await timed_import(service.url, import_rows, positions, log_end)
            count = import_rows
            figure = (
                f"import of {count:,} rows: {count / seconds:,.0f} rows/s until readable"
                f" ({seconds:.1f}s; answered after {answered:.1f}s)"
            )
        else:
            tenant = f"cmd-{uuid.uuid4().hex[:6]}"
            result = await asyncio.to_thread(wrk_load, url, tenant, concurrency, seconds)
            count = result.requests
            figure = f"POST /v1/claims c{concurrency} for {seconds}s: {describe(result)}"
        memory.stop()
        backends = sorted(set(backends) | set(await _backends(dsn, pid)))
        after = _cpu_seconds(pid), sum(_cpu_seconds(b) for b in backends)
        service_cpu, postgres = (
            1e6 * (b - a) / max(1, count) for a, b in zip(before, after, strict=True)
        )
        print(
            f"{figure}; CPU per {'row' if import_rows else 'request'}: service"
            f" {service_cpu:,.0f} us, PostgreSQL {postgres:,.0f} us; service peak RSS"
            f" {memory.peak / MB:,.0f} MB (load {load:.2f})",
            flush=True,
        )
    finally:
        await positions.stop()
        await log_end.stop()
        if spy is not None:
            spy.send_signal(2)
            spy.wait(30)
        service.stop()
        await drop_schemas(server, DATABASE, [schema])
        await delete_topics(bootstrap, [topic])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--py-spy", help="sample the service with py-spy into this raw file")
    parser.add_argument("--import-rows", type=int, default=0, help="import this many rows")
    args = parser.parse_args()
    asyncio.run(main(args.concurrency, args.seconds, args.py_spy, args.import_rows))
