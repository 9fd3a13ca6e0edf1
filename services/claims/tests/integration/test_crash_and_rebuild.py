"""kill -9 of the claims service in the middle of its batches, then restart: every event is
applied exactly once; a rebuild then gives the live digest."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx
import pytest
from sqlalchemy import func, select, text

from amiable_claims.main import projection_store
from amiable_claims.projection import claims, debtor_accounts
from amiable_claims.settings import ClaimsSettings
from amiable_events.db import create_engine
from amiable_events.producer import EventLog
from tests.factories import registered
from tests.support import ROOT, auth, eventually

pytestmark = pytest.mark.integration

EVENTS = 20_000


async def test_kill_minus_9_mid_batch_then_restart_applies_every_event_once(
    infra, fresh_topic, service_process, unique
):
    topic = await fresh_topic("crash")
    tenant = f"crash-{unique}"
    log = EventLog(infra.bootstrap, topic=topic, client_id="crash-test")
    await log.start()
    try:
        for start in range(0, EVENTS, 2000):
            await log.append([registered(n, tenant=tenant) for n in range(start, start + 2000)])
    finally:
        await log.stop()
    schema = f"crash_{unique}"
    settings = {"topic": topic, "projection_schema": schema, "consumer_group": f"crash-{unique}"}
    engine = create_engine(infra.database_url, "amiable_claims")
    store = projection_store(ClaimsSettings(projection_schema=schema), engine)

    async def applied() -> int:
        try:
            return sum((await store.positions()).values())
        except Exception:  # the schema does not exist before the service created it
            return 0

    try:
        first = service_process("claims", **settings).start()
        await eventually(lambda: _more_than(applied, 2_000), timeout=60, interval=0.01)
        first.kill()
        at_kill = await applied()
        assert 0 < at_kill < EVENTS, "the service must die part-way through the log"

        service_process("claims", **settings).start()
        await eventually(lambda: _more_than(applied, EVENTS - 1), timeout=120)

        async with store.transaction() as conn:
            assert await conn.scalar(select(func.count()).select_from(claims)) == EVENTS
            assert (
                await conn.scalar(select(func.sum(debtor_accounts.c.claims_registered))) == EVENTS
            )
            applied_events = store.tables["applied_events"]
            assert await conn.scalar(select(func.count()).select_from(applied_events)) == EVENTS
    finally:
        async with engine.begin() as conn:
            for name in (schema, f"{schema}_rebuild"):
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        await engine.dispose()


async def _more_than(applied, threshold: int) -> bool:
    return await applied() > threshold


async def test_amiable_rebuild_gives_the_live_state_digest(
    infra, fresh_topic, service_process, unique
):
    topic = await fresh_topic("rebuild")
    tenant = f"rebuild-{unique}"
    settings = {
        "topic": topic,
        "projection_schema": f"rebuild_{unique}",
        "consumer_group": f"rebuild-{unique}",
    }
    service = service_process("claims", **settings).start()
    headers = auth(tenant, "claims:write", "claims:read", "admin")
    body = {
        "amount": "100.00",
        "currency": "EUR",
        "issued_on": "2026-10-01",
        "due_on": "2026-10-31",
        "debtor": {
            "id": "D1",
            "legal_name": "Acme GmbH",
            "country": "DE",
            "contacts": [{"name": "Jan", "email": "jan@acme.example"}],
        },
    }
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=15) as api:
            for n in range(30):
                answer = await api.post(
                    "/v1/claims", json={**body, "invoice_number": f"R-{n}"}, headers=headers
                )
                assert answer.status_code == 201
            live = (await api.get("/admin/state-digest", headers=headers)).json()
            assert live["tables"]["claims"]["rows"] == 30
            assert (
                await api.get("/admin/state-digest", headers=auth(tenant, "claims:read"))
            ).status_code == 403

            env = {**service.env}
            result = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "amiable_cli.main", "rebuild", "claims"],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 0, result.stderr
            assert "rebuilt claims: 60 events" in result.stdout  # registered + qualified
            assert f"digest {live['digest']}" in result.stdout

            after = (await api.get("/admin/state-digest", headers=headers)).json()
            assert after["digest"] == live["digest"]
            # the live service goes on over the swapped-in tables
            answer = await api.post(
                "/v1/claims", json={**body, "invoice_number": "R-after"}, headers=headers
            )
            assert answer.status_code == 201
            assert (await api.get(answer.headers["location"], headers=headers)).status_code == 200
            assert (await api.get("/admin/parked", headers=headers)).json() == {"accounts": []}
    finally:
        engine = create_engine(infra.database_url, "amiable_claims")
        async with engine.begin() as conn:
            for name in (settings["projection_schema"], f"{settings['projection_schema']}_rebuild"):
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        await engine.dispose()
