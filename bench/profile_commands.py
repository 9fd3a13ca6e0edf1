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
import uuid

from bench.__main__ import MB, RssSampler, describe, timed_import, wrk_load
from bench.log import LogEnd
from bench.profile_live import Profiled

DATABASE = "amiable_claims"


async def main(concurrency: int, seconds: int, py_spy: str | None, import_rows: int) -> None:
    async with Profiled("cmd", py_spy) as profiled:
        log_end = await LogEnd(profiled.bootstrap, profiled.topic).start()
        try:
            url = f"{profiled.service.url}/v1/claims"
            # Warm up: connections, keys, the first prepared statements.
            await asyncio.to_thread(wrk_load, url, f"warm-{uuid.uuid4().hex[:6]}", concurrency, 2)
            memory = RssSampler(profiled.pid)
            memory.start()
            await profiled.measure()
            if import_rows:
                seconds, answered = await timed_import(
                    profiled.service.url, import_rows, profiled.positions, log_end
                )
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
            service_cpu, postgres = await profiled.per(count)
        finally:
            await log_end.stop()
    print(
        f"{figure}; CPU per {'row' if import_rows else 'request'}: service"
        f" {service_cpu:,.0f} us, PostgreSQL {postgres:,.0f} us; service peak RSS"
        f" {memory.peak / MB:,.0f} MB (load {profiled.load:.2f})",
        flush=True,
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--py-spy", help="sample the service with py-spy into this raw file")
    parser.add_argument("--import-rows", type=int, default=0, help="import this many rows")
    args = parser.parse_args()
    asyncio.run(main(args.concurrency, args.seconds, args.py_spy, args.import_rows))
