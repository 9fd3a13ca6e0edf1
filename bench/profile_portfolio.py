"""The portfolio reads of a claims service on one large tenant: ``GET /v1/portfolio/kpis``,
``GET /v1/portfolio/aged-balance`` and ``GET /v1/debtors/debtor-0/statement``, each timed
(median of ``--runs``) with the service's CPU per read, and the service's RSS (its peak while it
applies the seed, and while it answers the reads). Small enough to run under a profiler::

    uv run --frozen python -m bench.profile_portfolio                     # 100,000 claims
    uv run --frozen python -m bench.profile_portfolio --claims 20000 --runs 1
    uv run --frozen python -m bench.profile_portfolio --py-spy /tmp/portfolio.txt  # the service

The tenant's ``--claims`` claims (50 debtors: debtor-0 has a fiftieth of them) are issued over
the 14 months before today in three currencies and registered 40 to 60 days after issue (or
today, the latest: the youngest are not due yet); a fifth get a payment (one in four of those
before the claim was registered), one in 17 a credit note, one in 10 is closed (settled after a
full payment, written off or cancelled), so every figure has real work to do. Every date is
computed from today (UTC) and every read names its dates, so two runs on the same day answer the
same bytes: ``--answers DIR`` writes each answer there to compare two versions of the code (its
sha256 is printed either way).

This machine's speed moves by a factor of two from one minute to the next (2 shared cores): the
time of a fixed Python loop is printed before and after the reads, read the timings with it.

Works on a topic, a schema and a service process of its own and removes them at the end; uses
the local stack (``amiable stack up``), starting it only if it is down (and then stopping it).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx

from amiable_events.claims import (
    ClaimAdjusted,
    ClaimCancelled,
    ClaimRegistered,
    ClaimSettled,
    ClaimWrittenOff,
    Debtor,
    PaymentReceived,
)
from amiable_events.envelope import Envelope
from amiable_events.ids import keyed_id
from amiable_events.producer import EventLog
from bench.__main__ import DATABASE, MB, RssSampler, claims_service
from bench.log import SEED_BATCH, LogEnd, Positions
from bench.profile_live import _cpu_seconds
from tests.support import create_topic, delete_topics, drop_schemas, token

TODAY = datetime.now(UTC).date()
TENANT = "profile-portfolio"
#: currency, share of the claims (per 100), how an amount is written
CURRENCIES = (("EUR", 90), ("USD", 8), ("JPY", 2))


def _currency(n: int) -> str:
    slot = n % 100
    for currency, share in CURRENCIES:
        if slot < share:
            return currency
        slot -= share
    raise AssertionError(n)


def _amount(n: int, currency: str) -> Decimal:
    if currency == "JPY":
        return Decimal(20_000 + 37 * (n % 5000))
    return Decimal(150 + n % 4000) + Decimal(n % 100) / 100


def _at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, clock_time(hour, 30), tzinfo=UTC)


def _envelope(n: int, step: str, debtor_id: str, claim_id: uuid.UUID, data, moment) -> Envelope:
    return Envelope(
        id=keyed_id("profile-portfolio-event", TENANT, str(n), step),
        subject=str(claim_id),
        time=moment,
        tenant=TENANT,
        debtor_id=debtor_id,
        correlation_id=claim_id,
        data=data,
    )


def claim_events(n: int, debtors: int) -> tuple[Envelope, list[Envelope]]:
    """Claim ``n``'s registration, and what happens to it afterwards (in log order)."""
    claim_id = keyed_id("profile-portfolio-claim", TENANT, str(n))
    debtor_id = f"debtor-{n % debtors}"
    currency = _currency(n)
    amount = _amount(n, currency)
    issued_on = TODAY - timedelta(days=(n * 7) % 420)
    due_on = issued_on + timedelta(days=30)
    registered_on = min(TODAY, issued_on + timedelta(days=40 + n % 21))
    registered = _envelope(
        n,
        "registered",
        debtor_id,
        claim_id,
        ClaimRegistered(
            claim_id=claim_id,
            invoice_number=f"PF-{n:07d}",
            amount=amount,
            currency=currency,
            issued_on=issued_on,
            due_on=due_on,
            debtor=Debtor(
                id=debtor_id,
                legal_name=f"Debtor {debtor_id} SAS",
                country="FR",
                language="fr-FR",
                timezone="Europe/Paris",
            ),
            registered_at=_at(registered_on),
        ),
        _at(registered_on),
    )
    later = []
    unit = Decimal(1) if currency == "JPY" else Decimal("0.01")
    if n % 17 == 3:
        credit = (amount / 10).quantize(unit)
        on = registered_on + timedelta(days=n % 30)
        later.append(
            _envelope(
                n,
                "credit",
                debtor_id,
                claim_id,
                ClaimAdjusted(
                    claim_id=claim_id,
                    amount=credit,
                    credit_note_reference=f"CN-{n}",
                    adjusted_on=min(on, TODAY),
                    adjusted_at=_at(min(on, TODAY), 11),
                ),
                _at(min(on, TODAY), 11),
            )
        )
    closing = n % 10 == 7
    if n % 5 == 1 or (closing and n % 30 == 7):
        # a quarter of the payments were received before the claim was registered
        before = n % 20 == 1
        on = registered_on - timedelta(days=5) if before else registered_on + timedelta(days=n % 45)
        on = min(on, TODAY)
        paid = amount if closing else (amount / 4).quantize(unit)
        later.append(
            _envelope(
                n,
                "payment",
                debtor_id,
                claim_id,
                PaymentReceived(
                    claim_id=claim_id,
                    payment_id=keyed_id("profile-portfolio-payment", TENANT, str(n)),
                    amount=paid,
                    currency=currency,
                    received_on=on,
                    recorded_at=_at(max(on, registered_on), 10),
                ),
                _at(max(on, registered_on), 10),
            )
        )
    if closing:
        on = min(TODAY, registered_on + timedelta(days=20 + n % 40))
        kind = (n // 10) % 3
        if kind == 0:
            data = ClaimSettled(claim_id=claim_id, settled_on=on, overpaid=Decimal(0))
        elif kind == 1:
            data = ClaimWrittenOff(claim_id=claim_id, reason="insolvent", written_off_at=_at(on))
        else:
            data = ClaimCancelled(claim_id=claim_id, reason="disputed", cancelled_at=_at(on))
        later.append(_envelope(n, "closed", debtor_id, claim_id, data, _at(on, 12)))
    return registered, later


async def seed(bootstrap: str, topic: str, claims: int, debtors: int) -> int:
    """Append the tenant's events (registrations first: a claim's later events follow its
    registration in its account's partition); the number of events."""
    registrations, later = [], []
    for n in range(claims):
        first, rest = claim_events(n, debtors)
        registrations.append(first)
        later += rest
    log = EventLog(bootstrap, topic=topic, client_id="bench-portfolio")
    await log.start()
    try:
        events = registrations + later
        for start in range(0, len(events), SEED_BATCH):
            await log.append(events[start : start + SEED_BATCH])
    finally:
        await log.stop()
    return len(events)


def reads(debtor: str) -> list[tuple[str, str, dict[str, str]]]:
    """The three reads, every date named (the same answer all day long)."""
    return [
        (
            "GET /v1/portfolio/kpis",
            "/v1/portfolio/kpis",
            {"from": str(TODAY - timedelta(days=90)), "to": str(TODAY)},
        ),
        ("GET /v1/portfolio/aged-balance", "/v1/portfolio/aged-balance", {"as_of": str(TODAY)}),
        (
            f"GET /v1/debtors/{debtor}/statement",
            f"/v1/debtors/{debtor}/statement",
            {"as_of": str(TODAY)},
        ),
    ]


def loop_ms() -> float:
    """Milliseconds of a fixed Python loop (3,000,000 additions): how fast the machine is now."""
    started = time.perf_counter()
    total = 0
    for n in range(3_000_000):
        total += n
    return (time.perf_counter() - started) * 1000


async def settle(dsn: str, schema: str, timeout: float = 300) -> float:
    """Wait until no autovacuum worker is on ``schema``'s tables (the seed's bulk inserts set
    them off, and on 2 cores they take one from the reads); the seconds it took."""
    started = time.monotonic()
    conn = await asyncpg.connect(dsn)
    try:
        while time.monotonic() - started < timeout:
            busy = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE backend_type = 'autovacuum worker' AND query LIKE '%' || $1 || '%'",
                schema,
            )
            if not busy:
                break
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    return time.monotonic() - started


def py_spy(pid: int, output: str) -> subprocess.Popen:
    """py-spy sampling the service (its threads too) until stopped: raw stacks to ``output``."""
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--format",
            "raw",
            "--threads",
            "--rate",
            "250",
            "--output",
            output,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )


async def main(args) -> None:
    from amiable_cli import stack

    sys.stdout.reconfigure(line_buffering=True)
    config = stack.StackConfig.from_env()
    started_stack = not stack.is_up(config)
    status = stack.up(config, log=lambda _: None)
    bootstrap, database_url = status.bootstrap, status.database_url
    suffix = uuid.uuid4().hex[:8]
    topic = await create_topic(bootstrap, f"bench-portfolio-{suffix}")
    schema = f"bench_portfolio_{suffix}"
    service = claims_service(bootstrap, database_url, topic, schema, "bench-portfolio.log")
    memory = RssSampler(service.process.pid)
    memory.start()
    positions = await Positions(database_url, DATABASE, schema).start()
    log_end = await LogEnd(bootstrap, topic).start()
    answers = Path(args.answers) if args.answers else None
    if answers:
        answers.mkdir(parents=True, exist_ok=True)
    try:
        print(
            f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; {args.claims:,} claims of"
            f" {TENANT}, {args.debtors} debtors, today {TODAY}"
        )
        memory.phase = "seeding"
        started = time.perf_counter()
        events = await seed(bootstrap, topic, args.claims, args.debtors)
        appended = time.perf_counter() - started
        await positions.wait_applied(await log_end.ends())
        applied = time.perf_counter() - started
        print(f"seeded {events:,} events: appended in {appended:.1f}s, applied in {applied:.1f}s")
        memory.phase = "idle"
        await asyncio.sleep(1)
        if args.settle:
            waited = await settle(positions.dsn, schema)
            print(f"autovacuum done with the schema after {waited:.1f}s")
        memory.phase = "reads"
        print(f"a fixed Python loop: {loop_ms():,.0f} ms, load {os.getloadavg()[0]:.2f}")
        spy = py_spy(service.process.pid, args.py_spy) if args.py_spy else None
        headers = {"Authorization": f"Bearer {token(TENANT, 'claims:read')}"}
        async with httpx.AsyncClient(base_url=service.url, timeout=900, headers=headers) as api:
            for name, path, params in reads("debtor-0"):
                times, digests = [], set()
                cpu = _cpu_seconds(service.process.pid)
                for _ in range(args.runs):
                    began = time.perf_counter()
                    answer = await api.get(path, params=params)
                    times.append(time.perf_counter() - began)
                    answer.raise_for_status()
                    digests.add(hashlib.sha256(answer.content).hexdigest())
                if answers:
                    slug = path.strip("/").replace("/", "_")
                    (answers / f"{slug}.json").write_bytes(answer.content)
                cpu = (_cpu_seconds(service.process.pid) - cpu) / args.runs
                print(
                    f"{name}: median {statistics.median(times) * 1000:,.1f} ms"
                    f" ({', '.join(f'{t * 1000:,.1f}' for t in times)} ms;"
                    f" service CPU {cpu * 1000:,.0f} ms a read;"
                    f" {len(answer.content):,} bytes, sha256 {'/'.join(sorted(digests))[:16]})"
                )
        print(f"a fixed Python loop: {loop_ms():,.0f} ms, load {os.getloadavg()[0]:.2f}")
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its output when interrupted
            spy.wait(60)
            print(f"py-spy: {args.py_spy}")
        print(
            f"service RSS: {memory.by_phase.get('seeding', 0) / MB:,.0f} MB peak while applying"
            f" the seed, {memory.by_phase.get('idle', 0) / MB:,.0f} MB before the reads,"
            f" {memory.by_phase.get('reads', 0) / MB:,.0f} MB peak during the reads"
        )
    finally:
        memory.stop()
        service.stop()
        await positions.stop()
        await log_end.stop()
        await drop_schemas(database_url, DATABASE, [schema, f"{schema}_old"])
        await delete_topics(bootstrap, [topic])
        if started_stack:
            stack.down(config, log=lambda _: None)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--claims", type=int, default=100_000, help="claims of the tenant")
    parser.add_argument("--debtors", type=int, default=50, help="debtors they are spread over")
    parser.add_argument("--runs", type=int, default=3, help="runs of each read (the median)")
    parser.add_argument("--answers", help="write each read's answer into this directory")
    parser.add_argument(
        "--settle",
        action="store_true",
        help="before the reads, wait for autovacuum to be done with the seeded tables",
    )
    parser.add_argument(
        "--py-spy", help="sample the service with py-spy during the reads into FILE (raw)"
    )
    asyncio.run(main(parser.parse_args()))
