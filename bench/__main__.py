"""``make bench``: every figure of issue 8 next to its target, each ratio against a baseline
measured in the same run (bench/README.md says what each one measures and how).

- rebuild: the claims projection's replay rate against a raw aiokafka ``getmany`` of the same
  events and against the ``eventsourcing`` library's PostgreSQL projection (``bench.peer``);
- risk, dunning, communications and disputes rebuilds: their projections' replay rates on a
  generated history (``bench.consumers``)
  against a raw ``getmany`` of it;
- live apply: a paced append at 5,000 then 2,500 events/s into a running claims service
  (``bench.live``): the projection's largest lag, the p99 from acknowledged to readable;
- commands: ``POST /v1/claims`` at concurrency 16 and 64 (wrk, ``bench.load``) on a 20k-event
  log, at 16 again on a 1M-event log, and a bare Starlette echo endpoint (``bench.echo``) under
  the same load;
- import: 50,000 CSV rows, from the request until every row is readable;
- portfolio reads: KPIs, aged balance and a debtor statement of a tenant with 100,000 claims;
- memory: the service process's peak RSS through all of it.

Starts the local stack if it is not up (and stops it again); works on topics, schemas and
processes of its own and removes them at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from amiable_claims.adapters.projector import ClaimsProjector
from amiable_claims.main import policy
from amiable_claims.settings import ClaimsSettings
from bench import consumers, live, load, peer
from bench.log import LogEnd, Positions, append_registered, raw_read, rebuild_rate
from tests.claims_givens import portfolio_csv
from tests.support import (
    ROOT,
    TEST_JWT_SECRET,
    ServiceProcess,
    create_topic,
    delete_topics,
    drop_schemas,
    free_port,
    token,
)

#: The bench's service runs on the system clock: its invoices are dated from today.
TODAY = datetime.now(UTC).date()
DATABASE = "amiable_claims"
MB = 1_000_000


@dataclass(frozen=True)
class Figure:
    name: str
    measured: str
    target: str
    #: None: a figure printed for context, with no target of its own.
    met: bool | None


class Report:
    def __init__(self) -> None:
        self.figures: list[Figure] = []

    def add(self, name: str, measured: str, target: str = "", met: bool | None = None) -> None:
        self.figures.append(Figure(name, measured, target, met))
        if met is None:
            print(f"  {name}: {measured}" + (f"  [{target}]" if target else ""))
        else:
            print(f"  {name}: {measured}  [target {target}: {'met' if met else 'MISSED'}]")

    def table(self) -> str:
        rows = [("figure", "measured", "target", "")] + [
            (f.name, f.measured, f.target, "" if f.met is None else ("met" if f.met else "MISSED"))
            for f in self.figures
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        lines = [
            " | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
        ]
        lines.insert(1, "-+-".join("-" * w for w in widths))
        return "\n".join(line.rstrip() for line in lines)


class RssSampler(threading.Thread):
    """The service process's resident memory, sampled every 10 ms from /proc (Linux): its peak
    over the process's life and the bench phase it peaked in."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.status = Path(f"/proc/{pid}/status")
        self.phase = "start"
        self.peak = self._rss()
        self.peak_phase = self.phase
        #: The peak of each phase, in the order the phases came: where the memory grows.
        self.by_phase: dict[str, int] = {}
        self._done = threading.Event()

    def _rss(self) -> int:
        """Bytes."""
        try:
            for line in self.status.read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        except FileNotFoundError:
            pass  # the process has exited
        return 0

    def run(self) -> None:
        while not self._done.wait(0.01):
            rss = self._rss()
            phase = self.phase
            self.by_phase[phase] = max(self.by_phase.get(phase, 0), rss)
            if rss > self.peak:
                self.peak, self.peak_phase = rss, phase

    def stop(self) -> None:
        self._done.set()
        self.join()


def machine() -> str:
    memory = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal:")
    )
    return f"{os.cpu_count()} cores, {memory / 2**30:.0f} GiB RAM, Python {sys.version.split()[0]}"


def load_average() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def claim_body() -> str:
    """``POST /v1/claims``'s body for wrk: ``{n}`` and ``{debtor}`` are filled per request."""
    return json.dumps(
        {
            "invoice_number": "B-{n}",
            "amount": "1200.00",
            "currency": "EUR",
            "issued_on": str(TODAY - timedelta(days=54)),
            "due_on": str(TODAY - timedelta(days=24)),
            "debtor": {
                "id": "D-{debtor}",
                "legal_name": "Bench SAS",
                "country": "FR",
                "contacts": [
                    {"name": "Ana", "email": "ana@bench.example", "phone": "+33600000000"}
                ],
            },
        }
    )


def _log_path(name: str) -> Path:
    path = Path(os.environ.get("AMIABLE_STATE_DIR", ROOT / ".amiable")) / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path / name


def ms(seconds: float) -> str:
    return f"{1000 * seconds:,.1f} ms"


async def bench_rebuild(
    args, report: Report, bootstrap: str, database_url: str, topic: str, schemas: list[str]
) -> None:
    """Append, raw read, rebuild; then the peer. Names the schemas it makes in ``schemas``
    before it makes them."""
    appended = await append_registered(bootstrap, topic, args.events, tenant="bench")
    report.add(f"append {args.events:,} ClaimRegistered", f"{args.events / appended:,.0f} events/s")
    read = await raw_read(bootstrap, topic, args.events)
    raw_rate = args.events / read
    report.add("raw aiokafka getmany of them", f"{raw_rate:,.0f} events/s")
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    schemas.append(schema)
    projector = ClaimsProjector(policy(ClaimsSettings(env="test", jwt_secret=TEST_JWT_SECRET)))
    rate = await rebuild_rate(projector, database_url, DATABASE, bootstrap, topic, schema)
    report.add(
        "rebuild / raw getmany",
        f"{rate / raw_rate:.3f} ({rate:,.0f} / {raw_rate:,.0f} events/s)",
        ">= 0.25 (aim 0.5)",
        rate / raw_rate >= 0.25,
    )
    found = await asyncio.to_thread(peer.run, database_url, DATABASE, args.peer_events)
    report.add(
        "rebuild / eventsourcing replay",
        f"{rate / found.replay_rate:.1f} ({rate:,.0f} / {found.replay_rate:,.0f} events/s,"
        f" peer on {found.events:,} events)",
        ">= 30",
        rate / found.replay_rate >= 30,
    )
    report.add(
        "eventsourcing append",
        f"{found.append_rate:,.0f} events/s ({peer.PER_TRANSACTION} per transaction)",
        "none (the issue quotes 1,828)",
    )


def wrk_load(url: str, tenant: str, concurrency: int, seconds: int) -> load.LoadResult:
    return load.run(
        load.Load(
            url=url,
            body=claim_body(),
            headers={"Authorization": f"Bearer {token(tenant, 'claims:write', 'claims:read')}"},
            concurrency=concurrency,
            seconds=seconds,
        )
    )


def describe(result: load.LoadResult) -> str:
    failed = f", {result.failed:,} failed {result.errors}" if result.failed else ""
    return (
        f"{result.rate:,.0f} req/s, p50 {ms(result.p50)}, p99 {ms(result.p99)}"
        f" ({result.requests:,} requests{failed})"
    )


def bench_echo(args) -> dict[int, load.LoadResult]:
    """The bare Starlette endpoint under the same load, in its own uvicorn process (blocking)."""
    port = free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "uvicorn", "bench.echo:app", "--host", "127.0.0.1"),
            *("--port", str(port), "--loop", "uvloop", "--http", "httptools"),
            *("--no-access-log", "--log-level", "warning"),
        ],
        cwd=ROOT,
    )
    url = f"http://127.0.0.1:{port}/echo"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(url, content=b"{}", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the echo server did not start") from None
                time.sleep(0.1)
        out = {}
        for concurrency in (16, 64):
            out[concurrency] = wrk_load(url, "bench-echo", concurrency, args.load_seconds)
            print(f"  echo, concurrency {concurrency}: {describe(out[concurrency])}")
        return out
    finally:
        server.terminate()
        server.wait(20)


async def timed_import(
    url: str, rows: int, positions: Positions, log_end: LogEnd
) -> tuple[float, float]:
    """One ``POST /v1/claims:import`` of ``rows`` CSV rows (1 % invalid, some duplicates; the
    answer's counts are checked): seconds until every row is readable, and until the answer."""
    body, expected = portfolio_csv(rows, issued_on=TODAY - timedelta(days=84))
    async with httpx.AsyncClient(base_url=url, timeout=900) as api:
        started = time.perf_counter()
        answer = await api.post(
            "/v1/claims:import",
            content=body.encode(),
            headers={
                "Authorization": f"Bearer {token('bench-import', 'claims:write')}",
                "Content-Type": "text/csv",
            },
        )
        answered = time.perf_counter() - started
        answer.raise_for_status()
        await positions.wait_applied(await log_end.ends())
        seconds = time.perf_counter() - started
    counts = {k: answer.json()[k] for k in expected}
    if counts != expected:
        raise RuntimeError(f"the import counted {counts}, not {expected}")
    return seconds, answered


async def commands(url: str, log_end: LogEnd, label: str, concurrency: int, seconds: int):
    size = await log_end.size()
    # A tenant of its own per run: the log's size is what changes between runs, not the
    # tenant's own claims.
    tenant = f"bench-{label}-c{concurrency}-{uuid.uuid4().hex[:6]}"
    result = await asyncio.to_thread(wrk_load, f"{url}/v1/claims", tenant, concurrency, seconds)
    print(f"  POST /v1/claims, concurrency {concurrency}, {size:,}-event log: {describe(result)}")
    return result


def claims_service(
    bootstrap: str, database_url: str, topic: str, schema: str, log: str
) -> ServiceProcess:
    """A claims service on the bench's topic, with a schema and a consumer group of its own."""
    env = {
        **os.environ,
        "AMIABLE_KAFKA_BOOTSTRAP": bootstrap,
        "AMIABLE_DATABASE_URL": database_url,
        "AMIABLE_ENV": "test",
        "AMIABLE_JWT_SECRET": TEST_JWT_SECRET,
        "AMIABLE_TOPIC": topic,
        "AMIABLE_PROJECTION_SCHEMA": schema,
        "AMIABLE_CONSUMER_GROUP": schema,
        "OTEL_SDK_DISABLED": "true",
    }
    return ServiceProcess("claims", free_port(), env, _log_path(log)).start()


async def log_size_latency(
    args,
    report: Report,
    bootstrap: str,
    database_url: str,
    big_url: str,
    big_end: LogEnd,
    topics: list[str],
    schemas: list[str],
) -> None:
    """c16 latency on the big log against a small one, measured in alternating rounds: a
    second claims service (same code) on a topic of ``--small-log`` events serves the small
    log, so that both are measured over the same minutes and the machine's load, which drifts
    over a run, weighs on both alike."""
    topic = await create_topic(bootstrap, f"bench-small-{uuid.uuid4().hex[:8]}")
    topics.append(topic)
    schema = f"bench_small_{uuid.uuid4().hex[:8]}"
    schemas.append(schema)
    await append_registered(bootstrap, topic, args.small_log, tenant="bench-seed")
    twin = claims_service(bootstrap, database_url, topic, schema, "bench-claims-small.log")
    positions = await Positions(database_url, DATABASE, schema).start()
    small_end = await LogEnd(bootstrap, topic).start()
    try:
        await positions.wait_applied(await small_end.ends())
        seconds = max(5, args.load_seconds // args.rounds)
        # The big log's service has served for minutes; a round on the new one first, not
        # counted, so that its first requests (connection pools, caches) do not count either.
        await commands(twin.url, small_end, "warm-up", 16, seconds)
        big, small = [], []
        for _ in range(args.rounds):
            big.append(await commands(big_url, big_end, "big", 16, seconds))
            small.append(await commands(twin.url, small_end, "small", 16, seconds))
    finally:
        twin.stop()
        await positions.stop()
        await small_end.stop()
    failed = sum(r.failed for r in big + small)
    p50 = {k: statistics.median(r.p50 for r in rs) for k, rs in (("big", big), ("small", small))}
    p99 = {k: statistics.median(r.p99 for r in rs) for k, rs in (("big", big), ("small", small))}
    report.add(
        f"POST c16 p50, {args.big_log:,}-event log / {args.small_log:,}",
        f"{p50['big'] / p50['small']:.2f} (p50 {ms(p50['big'])} / {ms(p50['small'])};"
        f" p99 x{p99['big'] / p99['small']:.2f}; {args.rounds} alternating rounds of {seconds}s"
        + (f"; {failed:,} failed" if failed else "")
        + ")",
        "<= 1.15",
        not failed and p50["big"] / p50["small"] <= 1.15,
    )


async def bench_service(
    args,
    report: Report,
    bootstrap: str,
    database_url: str,
    topic: str,
    echo: dict,
    topics: list[str],
    schemas: list[str],
) -> None:
    schema = f"bench_api_{uuid.uuid4().hex[:8]}"
    schemas.append(schema)
    service = claims_service(bootstrap, database_url, topic, schema, "bench-claims.log")
    memory = RssSampler(service.process.pid)
    memory.start()
    positions = await Positions(database_url, DATABASE, schema).start()
    log_end = await LogEnd(bootstrap, topic).start()
    try:
        memory.phase = "seeding the 20k-event log"
        await append_registered(bootstrap, topic, args.small_log, tenant="bench-seed")
        await positions.wait_applied(await log_end.ends())

        memory.phase = "commands"
        small = {
            c: await commands(service.url, log_end, "small", c, args.load_seconds) for c in (16, 64)
        }
        c16, c64 = small[16], small[64]
        ok16, ok64 = not c16.failed, not c64.failed
        failed = {c: f", {r.failed:,} failed" if r.failed else "" for c, r in small.items()}
        report.add(
            "POST /v1/claims c16 p50",
            f"{ms(c16.p50)} ({c16.rate:,.0f} req/s, {c16.requests:,} requests{failed[16]})",
            "<= 15 ms",
            ok16 and c16.p50 <= 0.015,
        )
        report.add("POST /v1/claims c16 p99", ms(c16.p99), "<= 50 ms", ok16 and c16.p99 <= 0.050)
        report.add(
            "POST /v1/claims c64 rate",
            f"{c64.rate:,.0f} req/s (p50 {ms(c64.p50)}, p99 {ms(c64.p99)}{failed[64]})",
            ">= 500 req/s",
            ok64 and c64.rate >= 500,
        )
        for c in (16, 64):
            report.add(
                f"POST /v1/claims / echo, c{c}",
                f"{small[c].rate / echo[c].rate:.4f} (echo {echo[c].rate:,.0f} req/s,"
                f" p50 {ms(echo[c].p50)})",
                "none (the issue: 0.005 before)",
            )

        for rate, tenant in ((5000, "bench-live-5000"), (2500, "bench-live-2500")):
            memory.phase = f"live apply at {rate:,} events/s"
            found = await live.run(
                bootstrap, topic, positions, rate=rate, seconds=args.live_seconds, tenant=tenant
            )
            print(
                f"  live at {rate:,} events/s: {found.appended:,} appended in"
                f" {found.append_seconds:.1f}s ({found.achieved_rate:,.0f} events/s),"
                f" p50 {ms(found.percentile(0.5))}, p99 {ms(found.percentile(0.99))},"
                f" max {ms(found.max_lag)}, max lag {found.max_lag_records:,} records,"
                f" {found.polls:,} polls"
            )
            # An append that fell short of its rate did not test the rate.
            paced = found.achieved_rate >= 0.95 * rate
            short = "" if paced else f"; the append reached only {found.achieved_rate:,.0f}/s"
            if rate == 5000:
                report.add(
                    f"live {rate:,}/s for {args.live_seconds:.0f}s: max lag",
                    f"{found.max_lag:,.3f} s ({found.max_lag_records:,} records){short}",
                    "< 1 s",
                    paced and found.max_lag < 1,
                )
            else:
                p99 = found.percentile(0.99)
                report.add(
                    f"live {rate:,}/s for {args.live_seconds:.0f}s: p99 ack->readable",
                    f"{ms(p99)} (p50 {ms(found.percentile(0.5))}){short}",
                    "<= 100 ms",
                    paced and p99 <= 0.100,
                )

        memory.phase = "portfolio"
        tenant = "bench-portfolio"
        await append_registered(bootstrap, topic, args.portfolio_claims, tenant=tenant)
        await positions.wait_applied(await log_end.ends())
        async with httpx.AsyncClient(base_url=service.url, timeout=900) as api:
            headers = {"Authorization": f"Bearer {token(tenant, 'claims:read')}"}
            for name, path in (
                ("GET portfolio KPIs", "/v1/portfolio/kpis"),
                ("GET aged balance", "/v1/portfolio/aged-balance"),
                ("GET debtor statement", "/v1/debtors/debtor-0/statement"),
            ):
                times = []
                for _ in range(args.read_runs):
                    started = time.perf_counter()
                    answer = await api.get(path, headers=headers)
                    times.append(time.perf_counter() - started)
                    answer.raise_for_status()
                median = statistics.median(times)
                report.add(
                    f"{name} ({args.portfolio_claims:,} claims)",
                    f"{ms(median)} (median of {', '.join(ms(t) for t in times)})",
                    "<= 200 ms",
                    median <= 0.200,
                )

        if args.big_log:
            memory.phase = "growing the log"
            size = await log_end.size()
            if size < args.big_log:
                await append_registered(bootstrap, topic, args.big_log - size, tenant="bench-bulk")
            await positions.wait_applied(await log_end.ends())
            memory.phase = "commands on the big log"
            await log_size_latency(
                args, report, bootstrap, database_url, service.url, log_end, topics, schemas
            )

        memory.phase = "import"
        seconds, answered = await timed_import(service.url, args.import_rows, positions, log_end)
        report.add(
            f"import {args.import_rows:,} CSV rows until readable",
            f"{args.import_rows / seconds:,.0f} rows/s ({seconds:.1f}s;"
            f" answered after {answered:.1f}s)",
            ">= 10,000 rows/s",
            args.import_rows / seconds >= 10_000,
        )
    finally:
        memory.stop()
        service.stop()
        await positions.stop()
        await log_end.stop()
    print(
        "  RSS peak by phase: "
        + ", ".join(f"{phase} {rss / MB:,.0f} MB" for phase, rss in memory.by_phase.items())
    )
    report.add(
        "claims service peak RSS",
        f"{memory.peak / MB:,.0f} MB (during {memory.peak_phase})",
        "<= 250 MB",
        memory.peak <= 250 * MB,
    )


async def main(args) -> None:
    from amiable_cli import stack

    # Each figure as it comes, also when the output goes to a file.
    sys.stdout.reconfigure(line_buffering=True)

    config = stack.StackConfig.from_env()
    started_stack = not stack.is_up(config)
    status = stack.up(config, log=lambda _: None)
    bootstrap, database_url = status.bootstrap, status.database_url
    topics: list[str] = []
    schemas: list[str] = []
    consumer_schemas: list[str] = []
    report = Report()
    print(f"machine: {machine()}; {load_average()}")
    try:
        topics.append(await create_topic(bootstrap, f"bench-{uuid.uuid4().hex[:8]}"))
        await bench_rebuild(args, report, bootstrap, database_url, topics[0], schemas)
        if args.risk_claims:
            topics.append(await create_topic(bootstrap, f"bench-consumers-{uuid.uuid4().hex[:8]}"))
            await consumers.bench_consumer_rebuilds(
                args, report, bootstrap, database_url, topics[-1], consumer_schemas
            )
        echo = await asyncio.to_thread(bench_echo, args)
        api_topic = await create_topic(bootstrap, f"bench-api-{uuid.uuid4().hex[:8]}")
        topics.append(api_topic)
        await bench_service(args, report, bootstrap, database_url, api_topic, echo, topics, schemas)
        print(f"\nmachine: {machine()}; {load_average()} at the end")
        print(report.table())
    finally:
        await drop_schemas(database_url, DATABASE, schemas + [f"{s}_old" for s in schemas])
        for database in consumers.DATABASES:
            await drop_schemas(
                database_url,
                database,
                consumer_schemas + [f"{s}_old" for s in consumer_schemas],
            )
        await delete_topics(bootstrap, topics)
        if started_stack:
            stack.down(config, log=lambda _: None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000, help="events the rebuild replays")
    parser.add_argument(
        "--peer-events",
        type=int,
        default=20_000,
        help="events the eventsourcing peer appends and replays",
    )
    parser.add_argument("--load-seconds", type=int, default=20, help="seconds of each wrk run")
    parser.add_argument(
        "--small-log", type=int, default=20_000, help="events on the log for the first command runs"
    )
    parser.add_argument(
        "--live-seconds", type=float, default=60, help="seconds of each paced append"
    )
    parser.add_argument("--portfolio-claims", type=int, default=100_000)
    parser.add_argument(
        "--read-runs", type=int, default=3, help="runs of each portfolio read (median)"
    )
    parser.add_argument(
        "--big-log",
        type=int,
        default=1_000_000,
        help="grow the log to this many events, then POST at concurrency 16 again (0: skip)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=4,
        help="alternating c16 runs on the big and the small log (--load-seconds split over them)",
    )
    parser.add_argument("--import-rows", type=int, default=50_000)
    parser.add_argument(
        "--risk-claims",
        type=int,
        default=20_000,
        help="claims of the generated history the consumers' projections rebuild (0: skip)",
    )
    asyncio.run(main(parser.parse_args()))
