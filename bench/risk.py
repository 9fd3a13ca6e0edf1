"""The risk projection's replay rate: a generated history (``amiable_demo``, the claims events
of ``--risk-claims`` claims across debtors of every behaviour) appended to a topic of its own,
read back by a raw ``getmany`` loop, then rebuilt by the risk projection as ``amiable rebuild
risk`` rebuilds it."""

from __future__ import annotations

import time

from amiable_demo.generate import Plan, generate
from amiable_events.producer import EventLog
from amiable_risk.main import SERVICE
from amiable_risk.settings import RiskSettings
from bench.log import raw_read, rebuild_rate
from tests.support import TEST_JWT_SECRET

DATABASE = SERVICE.database
CHUNK = 5_000


async def append_history(bootstrap: str, topic: str, envelopes: list) -> float:
    """Seconds to append ``envelopes`` in runs of about ``CHUNK``, a command's events (the
    ones after the first have a cause) never split between two appends."""
    log = EventLog(bootstrap, topic=topic, client_id="bench-risk")
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


async def bench_risk_rebuild(
    args, report, bootstrap: str, database_url: str, topic: str, schemas: list[str]
) -> None:
    """Generate, append, raw read, rebuild; names the schema (in ``amiable_risk``) it makes in
    ``schemas`` before it makes it."""
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
    settings = RiskSettings(env="test", jwt_secret=TEST_JWT_SECRET)
    schema = f"bench_risk_{topic.rsplit('-', 1)[-1]}"
    schemas.append(schema)
    projector = SERVICE.projector(settings)
    rate = await rebuild_rate(projector, database_url, DATABASE, bootstrap, topic, schema)
    report.add(
        "risk rebuild / raw getmany",
        f"{rate / raw_rate:.3f} ({rate:,.0f} / {raw_rate:,.0f} events/s)",
        "none (issue 9 reports it)",
    )
