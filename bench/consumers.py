"""The replay rates of the services that consume claims' events (risk, dunning, communications,
disputes): a generated history (``amiable_demo``, the events of ``--risk-claims`` claims across
debtors of every behaviour, disputes included) appended to a topic of its own, read back by a
raw ``getmany`` loop, then rebuilt by each service's projection as ``amiable rebuild
<service>`` rebuilds it."""

from __future__ import annotations

import time

from amiable_communications.main import SERVICE as COMMUNICATIONS
from amiable_demo.generate import Plan, generate
from amiable_disputes.main import SERVICE as DISPUTES
from amiable_dunning.main import SERVICE as DUNNING
from amiable_events.producer import EventLog
from amiable_risk.main import SERVICE as RISK
from bench.log import raw_read, rebuild_rate
from tests.support import TEST_JWT_SECRET

#: Each service rebuilt, with the settings it is built with here
SERVICES = (RISK, DUNNING, COMMUNICATIONS, DISPUTES)
DATABASES = tuple(service.database for service in SERVICES)
CHUNK = 5_000


async def append_history(bootstrap: str, topic: str, envelopes: list) -> float:
    """Seconds to append ``envelopes`` in runs of about ``CHUNK``, a command's events (the
    ones after the first have a cause) never split between two appends."""
    log = EventLog(bootstrap, topic=topic, client_id="bench-consumers")
    await log.start()
    started = time.perf_counter()
    try:
        first = 0
        while first < len(envelopes):
            last = min(first + CHUNK, len(envelopes))
            while last < len(envelopes) and envelopes[last].causation_id is not None:
                last += 1
            await log.append(envelopes[first:last])
            first = last
        return time.perf_counter() - started
    finally:
        await log.stop()


async def bench_consumer_rebuilds(
    args, report, bootstrap: str, database_url: str, topic: str, schemas: list[str]
) -> None:
    """Generate, append, raw read, rebuild each service; names the schema it makes (one name, in
    each service's database) in ``schemas`` before it makes it."""
    started = time.perf_counter()
    envelopes = generate(Plan(claims=args.risk_claims, seed=1)).envelopes
    made = time.perf_counter() - started
    count = len(envelopes)
    appended = await append_history(bootstrap, topic, envelopes)
    report.add(
        f"generate + append {args.risk_claims:,} claims",
        f"{count:,} events: made in {made:.1f} s, appended at {count / appended:,.0f} events/s",
    )
    raw_rate = count / await raw_read(bootstrap, topic, count)
    report.add("raw aiokafka getmany of them", f"{raw_rate:,.0f} events/s")
    schema = f"bench_consumers_{topic.rsplit('-', 1)[-1]}"
    schemas.append(schema)
    for service in SERVICES:
        settings = service.settings(env="test", jwt_secret=TEST_JWT_SECRET)
        projector = service.projector(settings)
        rate = await rebuild_rate(
            projector, database_url, service.database, bootstrap, topic, schema
        )
        report.add(
            f"{service.name} rebuild / raw getmany",
            f"{rate / raw_rate:.3f} ({rate:,.0f} / {raw_rate:,.0f} events/s)",
            "none (issues 9 to 12 report it)",
        )
