"""``amiable demo run`` as a test: a small seeded portfolio (25 claims, two moved months at four
days a real second) played through the public APIs of the five services, each a process on a
topic, schemas and consumer groups of the test's own. Every claim asked for is registered; a
payment settles a claim, a debtor disputes, dunning plans steps and communications sends
messages; played again, the demo changes nothing (no payment twice); the KPIs printed are the
claims service's KPI route's figures."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from amiable_cli.demo_run import Endpoints, kpi_table, play, print_outcome
from amiable_demo.generate import generate
from amiable_demo.play import demo_plan, end_of, schedule
from amiable_events.clock import FrozenClock, clock_from_setting
from amiable_events.communications import CommunicationSent
from amiable_events.disputes import DisputeOpened
from amiable_events.dunning import DunningStepDue
from amiable_events.service import declared
from tests.support import token

pytestmark = pytest.mark.e2e

FOUR_DAYS_A_SECOND = 345_600
SERVICES = ("claims", "risk", "dunning", "communications", "disputes")


async def test_a_small_demo_plays_through_the_whole_chain_and_prints_the_kpis(
    fresh_topic, service_process, unique, infra
):
    topic = await fresh_topic("demo")
    setting = f"accelerated:{datetime.now(UTC).isoformat()}:{FOUR_DAYS_A_SECOND}"
    common = {"topic": topic, "clock": setting, "timer_interval": "0.2", "send_interval": "0.2"}
    services = {
        name: service_process(
            name,
            consumer_group=f"demo{name[:3]}-{unique}",
            projection_schema=f"demo{name[:3]}_{unique}",
            **common,
        )
        for name in SERVICES
    }
    # Started side by side: one after the other would spend the test's budget. Each imports
    # every declared service (about 10 s of CPU): on a busy machine that takes minutes.
    await asyncio.gather(*(asyncio.to_thread(s.start, timeout=240) for s in services.values()))
    clock = clock_from_setting(setting)
    tenant = f"demo-{unique}"
    plan = demo_plan(claims=25, seed=1, start=clock.now().date(), months=2, tenant=tenant)
    actions = schedule(generate(plan))
    scopes = [s for service in declared().values() for s in service.all_scopes]
    signed = token(tenant, *dict.fromkeys(scopes))
    lines: list[str] = []
    endpoints = Endpoints(**{name: s.url for name, s in services.items()})

    outcome = await play(
        plan,
        actions,
        clock=clock,
        token=signed,
        endpoints=endpoints,
        bootstrap=infra.bootstrap,
        topic=topic,
        progress=lines.append,
    )
    printed: list[str] = []
    print_outcome(outcome, printed.append)

    tally = outcome.tally
    assert outcome.refused == [], outcome.refused
    assert tally.registered == plan.claims
    assert tally.settled >= 1
    assert tally.by_type[DisputeOpened.type] >= 1
    assert tally.by_type[DunningStepDue.type] >= 1
    assert tally.by_type[CommunicationSent.type] >= 1
    assert set(tally.by_service) == set(SERVICES)
    assert lines[-1].endswith(f"{tally.disputes_open} disputes open")
    assert f"claims {plan.claims} registered" in lines[-1]
    headers = {"Authorization": f"Bearer {signed}"}
    async with httpx.AsyncClient(base_url=services["claims"].url, headers=headers) as api:

        async def payments() -> list[tuple[str, str]]:
            listed = (await api.get("/v1/claims", params={"limit": 200})).json()["items"]
            return sorted((c["id"], p["payment_id"]) for c in listed for p in c["payments"])

        # Started again, the demo replays every action it made and changes nothing.
        paid = await payments()
        again = await play(
            plan,
            actions,
            clock=FrozenClock(end_of(plan)),
            token=signed,
            endpoints=endpoints,
            bootstrap=infra.bootstrap,
            topic=topic,
            progress=lambda line: None,
        )
        assert again.refused == [] and again.done == len(actions)
        assert paid and await payments() == paid

        # What was printed is what the KPI route answers for the demo's period.
        others = ("dunning", "communications", "disputes", "risk")
        await asyncio.gather(*(asyncio.to_thread(services[name].stop) for name in others))
        period = {"from": plan.start.isoformat(), "to": plan.end.isoformat()}
        kpis = (await api.get("/v1/portfolio/kpis", params=period)).json()
        aged = (await api.get("/v1/portfolio/aged-balance", params={"as_of": period["to"]})).json()
        claims = (await api.get("/v1/claims", params={"limit": 200})).json()["items"]
    table = kpi_table(kpis, aged)
    assert printed[: len(table)] == table
    assert len(claims) == plan.claims
    # Placed in the period: a registration made late on the last moved day may land on the next
    # (a real quarter second is a moved day here).
    placed = sum(row["placed_count"] for row in kpis["currencies"])
    assert plan.claims - 2 <= placed <= plan.claims
    settled = [c for c in claims if c["status"] == "settled"]
    assert settled and all(c["payments"] for c in settled)
