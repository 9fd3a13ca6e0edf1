"""``make bench``: the claim log's read rate vs the projection's rebuild rate, and the intake API
(``POST /v1/claims`` throughput and latency; ``POST /v1/claims:import`` rate on 50,000 CSV rows,
1 % of them invalid, some duplicates, counted exactly, and the service's peak resident memory
during that import against the k8s memory limit: a measurement kept out of the test suite).

Prints figures only. Starts the local stack if it is not up (and stops it again), works on a
topic and schemas of its own and removes them at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import yaml
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text

from amiable_claims.adapters.projector import ClaimsProjector
from amiable_claims.main import policy
from amiable_claims.settings import ClaimsSettings
from amiable_events.catalog import REGISTRY
from amiable_events.db import create_engine
from amiable_events.producer import EventLog
from amiable_events.projection import rebuild, topic_partitions
from tests.claims_givens import portfolio_csv
from tests.factories import registered
from tests.support import ROOT, TEST_JWT_SECRET, ServiceProcess, auth, create_topic, free_port

#: The bench's service runs on the system clock: its invoices are dated from today.
TODAY = datetime.now(UTC).date()


async def produce(bootstrap: str, topic: str, count: int) -> float:
    log = EventLog(bootstrap, topic=topic, client_id="bench")
    await log.start()
    started = time.perf_counter()
    try:
        for start in range(0, count, 5000):
            await log.append(
                [registered(n, tenant="bench") for n in range(start, min(count, start + 5000))]
            )
    finally:
        await log.stop()
    return time.perf_counter() - started


async def raw_read(bootstrap: str, topic: str, count: int) -> float:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        isolation_level="read_committed",
        max_poll_records=5000,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        started = time.perf_counter()
        seen = 0
        while seen < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            seen += sum(len(records) for records in batch.values())
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def intake(
    bootstrap: str, database_url: str, topic: str, requests: int, concurrency: int, import_rows: int
):
    schema = f"bench_api_{uuid.uuid4().hex[:8]}"
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
    service = ServiceProcess("claims", free_port(), env, _log_path("bench-claims.log")).start()
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as api:
            await _wait_ready(api)
            latencies: list[float] = []
            counter = iter(range(requests))
            statuses: dict[int, int] = {}

            async def worker(worker_id: int):
                headers = auth(f"bench-{worker_id % 8}", "claims:write", "claims:read")
                for n in counter:
                    body = _claim(n)
                    started = time.perf_counter()
                    answer = await api.post("/v1/claims", json=body, headers=headers)
                    latencies.append(time.perf_counter() - started)
                    statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

            started = time.perf_counter()
            await asyncio.gather(*(worker(i) for i in range(concurrency)))
            elapsed = time.perf_counter() - started

            body, expected = portfolio_csv(import_rows, issued_on=TODAY - timedelta(days=84))
            memory = RssSampler(service.process.pid)
            memory.start()
            import_started = time.perf_counter()
            try:
                answer = await api.post(
                    "/v1/claims:import",
                    content=body.encode(),
                    headers={**auth("bench-import", "claims:write"), "Content-Type": "text/csv"},
                    timeout=900,
                )
            finally:
                memory.stop()
            import_seconds = time.perf_counter() - import_started
            counts = {k: answer.json()[k] for k in expected}
            assert counts == expected, (counts, expected)
        return elapsed, sorted(latencies), statuses, schema, (import_seconds, counts, memory)
    finally:
        service.stop()


class RssSampler(threading.Thread):
    """The service process's resident memory, sampled every 10 ms from /proc (Linux): its
    value when sampling starts and its peak while it runs."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.status = Path(f"/proc/{pid}/status")
        self.before_mib = self.peak_mib = self._rss_mib()
        self._done = threading.Event()

    def _rss_mib(self) -> float:
        for line in self.status.read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS in {self.status}")

    def run(self) -> None:
        while not self._done.wait(0.01):
            self.peak_mib = max(self.peak_mib, self._rss_mib())

    def stop(self) -> None:
        self._done.set()
        self.join()


def k8s_memory_limit_mib() -> int:
    """The claims container's memory limit in the k8s base manifests: the import's target."""
    manifest = yaml.safe_load(
        (ROOT / "deploy/k8s/base/services/claims/deployment.yaml").read_text()
    )
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    limit = container["resources"]["limits"]["memory"]
    return int(limit.removesuffix("Mi"))


async def _wait_ready(api: httpx.AsyncClient) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (await api.get("/readyz")).status_code == 200:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError("claims service never became ready")


def _claim(n: int) -> dict:
    return {
        "invoice_number": f"B-{n:07d}",
        "amount": "1200.00",
        "currency": "EUR",
        "issued_on": str(TODAY - timedelta(days=54)),
        "due_on": str(TODAY - timedelta(days=24)),
        "debtor": {
            "id": f"D-{n % 500}",
            "legal_name": "Bench SAS",
            "country": "FR",
            "contacts": [{"name": "Ana", "email": "ana@bench.example", "phone": "+33600000000"}],
        },
    }


def _log_path(name: str):
    path = Path(os.environ.get("AMIABLE_STATE_DIR", ".amiable")) / "bench"
    path.mkdir(parents=True, exist_ok=True)
    return path / name


def percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


async def main(events: int, requests: int, concurrency: int, import_rows: int) -> None:
    from amiable_cli import stack

    config = stack.StackConfig.from_env()
    started_stack = not stack.is_up(config)
    status = stack.up(config, log=lambda _: None)
    bootstrap, database_url = status.bootstrap, status.database_url
    topic = await create_topic(bootstrap, f"bench-{uuid.uuid4().hex[:8]}")
    engine = create_engine(database_url, "amiable_claims")
    schemas = []
    try:
        produced = await produce(bootstrap, topic, events)
        print(f"machine           {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        print(
            f"append            {events:,} ClaimRegistered in {produced:.2f}s"
            f" = {events / produced:,.0f} events/s"
        )
        read = await raw_read(bootstrap, topic, events)
        print(f"raw getmany       {events:,} events in {read:.2f}s = {events / read:,.0f} events/s")
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        schemas += [schema, f"{schema}_rebuild"]
        result = await rebuild(
            ClaimsProjector(policy(ClaimsSettings())),
            engine,
            REGISTRY,
            bootstrap=bootstrap,
            topic=topic,
            live_schema=schema,
        )
        rate = result.events / result.seconds
        print(
            f"rebuild           {result.events:,} events in {result.seconds:.2f}s"
            f" = {rate:,.0f} events/s"
        )
        print(f"ratio             raw read is {result.seconds / read:.1f}x faster than rebuild")
        elapsed, latencies, statuses, api_schema, (import_seconds, counts, memory) = await intake(
            bootstrap, database_url, topic, requests, concurrency, import_rows
        )
        schemas.append(api_schema)
        print(
            f"POST /v1/claims   {requests:,} requests, concurrency {concurrency}: "
            f"{requests / elapsed:,.0f} req/s, p50 {1000 * statistics.median(latencies):.1f} ms, "
            f"p99 {1000 * percentile(latencies, 0.99):.1f} ms, statuses {statuses}"
        )
        print(
            f"POST :import     {import_rows:,} CSV rows in {import_seconds:.1f}s = "
            f"{import_rows / import_seconds:,.0f} rows/s ({counts})"
        )
        limit = k8s_memory_limit_mib()
        print(
            f"import memory     peak RSS {memory.peak_mib:,.0f} MiB "
            f"(+{memory.peak_mib - memory.before_mib:,.0f} MiB over {memory.before_mib:,.0f} MiB "
            f"before the import); target: under the k8s limit of {limit} MiB: "
            + ("met" if memory.peak_mib < limit else "MISSED")
        )
    finally:
        async with engine.begin() as conn:
            for schema in schemas:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()
        if started_stack:
            stack.down(config, log=lambda _: None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--import-rows", type=int, default=50_000)
    args = parser.parse_args()
    asyncio.run(main(args.events, args.requests, args.concurrency, args.import_rows))
