"""kill -9 in the middle of the projection's batches, then restart: every event is applied
exactly once, and a rebuild from the log gives the digest of what the restart left; the claims
service's own rebuild gives its live digest."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from amiable_events.catalog import REGISTRY
from amiable_events.claims import PaymentReceived
from amiable_events.db import create_engine
from amiable_events.envelope import Envelope
from amiable_events.ids import keyed_id
from amiable_events.producer import EventLog
from amiable_events.projection import rebuild
from tests.factories import T0, registered
from tests.support import ROOT, auth, drop_schemas, eventually, operator_auth

pytestmark = pytest.mark.integration

CLAIMS = 100
PAYMENTS_PER_CLAIM = 200  # 20,000 payments after 100 registrations
PROCESS = Path(__file__).with_name("paying_process.py")
#: Every event of the crash test carries this one trace, so that what the projection stores does
#: not depend on whether the test process happens to trace (an earlier test may have installed a
#: tracer provider); the test below gives each event a trace of its own.
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _load_process_module():
    spec = importlib.util.spec_from_file_location("paying_process", PROCESS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


paying = _load_process_module()


def payment_amount(n: int, k: int) -> Decimal:
    return Decimal(f"{(n * 7 + k) % 90 + 1}.{(n + k * 13) % 100:02d}")


def registration(n: int, tenant: str, traceparent: str | None = TRACEPARENT) -> Envelope:
    return replace(registered(n, tenant=tenant), traceparent=traceparent)


def payment(n: int, k: int, tenant: str, traceparent: str | None = TRACEPARENT) -> Envelope:
    claim = registered(n, tenant=tenant)
    return Envelope(
        id=keyed_id("test-payment", tenant, str(n), str(k)),
        traceparent=traceparent,
        subject=claim.subject,
        time=T0,
        tenant=tenant,
        debtor_id=claim.debtor_id,
        correlation_id=claim.correlation_id,
        data=PaymentReceived(
            claim_id=claim.data.claim_id,
            payment_id=keyed_id("test-payment-id", tenant, str(n), str(k)),
            amount=payment_amount(n, k),
            currency="EUR",
            received_on=claim.data.due_on,
            recorded_at=T0,
        ),
    )


async def test_kill_minus_9_mid_batch_then_restart_applies_every_event_once(
    infra, fresh_topic, unique, tmp_path
):
    topic = await fresh_topic("crash")
    tenant = f"crash-{unique}"
    log = EventLog(infra.bootstrap, topic=topic, client_id="crash-test")
    await log.start()
    try:
        await log.append([registration(n, tenant) for n in range(CLAIMS)])
        for k in range(0, PAYMENTS_PER_CLAIM, 20):  # interleaved: every batch holds many claims
            await log.append(
                [payment(n, j, tenant) for j in range(k, k + 20) for n in range(CLAIMS)]
            )
    finally:
        await log.stop()
    events = CLAIMS * (1 + PAYMENTS_PER_CLAIM)
    expected = {
        registered(n, tenant=tenant).data.claim_id: sum(
            payment_amount(n, k) for k in range(PAYMENTS_PER_CLAIM)
        )
        for n in range(CLAIMS)
    }
    schema = f"crash_{unique}"
    env = {
        **os.environ,
        "BOOTSTRAP": infra.bootstrap,
        "DATABASE_URL": infra.database_url,
        "TOPIC": topic,
        "SCHEMA": schema,
        "GROUP": f"crash-{unique}",
        "OTEL_SDK_DISABLED": "true",
    }
    engine = create_engine(infra.database_url, "amiable_claims")
    store = paying.store(engine, schema)
    processes: list[subprocess.Popen] = []

    def start(name: str) -> subprocess.Popen:
        with (tmp_path / f"{name}.log").open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, str(PROCESS)],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        return process

    async def applied() -> int:
        try:
            return sum((await store.positions()).values())
        except Exception:  # the schema does not exist before the process created it
            return 0

    async def more_than(threshold: int) -> bool:
        return await applied() > threshold

    try:
        first = start("first")
        await eventually(lambda: more_than(2_000), timeout=60, interval=0.01)
        first.kill()  # SIGKILL: no shutdown code runs
        assert first.wait(10) == -signal.SIGKILL
        at_kill = await applied()
        assert 0 < at_kill < events, "the process must die part-way through the log"

        start("restart")
        await eventually(lambda: more_than(events - 1), timeout=120)

        async with store.transaction() as conn:
            totals = {
                row.claim_id: (row.paid, row.payments)
                for row in await conn.execute(select(paying.paid_totals))
            }
            applied_events = store.tables["applied_events"]
            assert await conn.scalar(select(func.count()).select_from(applied_events)) == events
        assert {claim: paid for claim, (paid, _) in totals.items()} == expected
        assert {count for _, count in totals.values()} == {PAYMENTS_PER_CLAIM}

        for process in processes:
            process.terminate()
            process.wait(20)
        live = await store.digest()
        rebuilt = await rebuild(
            paying.projector(),
            engine,
            REGISTRY,
            bootstrap=infra.bootstrap,
            topic=topic,
            live_schema=schema,
            swap=False,
        )
        assert rebuilt.events == events
        assert rebuilt.digest["tables"] == live["tables"]  # names the table that differs
        assert rebuilt.digest["digest"] == live["digest"]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(10)
        await engine.dispose()
        await drop_schemas(infra.database_url, "amiable_claims", [schema])


def own_trace(*parts: int) -> str:
    trace = keyed_id("trace", *map(str, parts)).hex
    return f"00-{trace}-{trace[:16]}-01"


async def test_the_projection_does_not_depend_on_batch_boundaries(infra, fresh_topic, unique):
    """The projection is a function of the log: replayed in batches of one event or of 5,000,
    it gives the same digest, with every event carrying a trace of its own as in production."""
    topic = await fresh_topic("batches")
    tenant = f"batches-{unique}"
    log = EventLog(infra.bootstrap, topic=topic, client_id="batches-test")
    await log.start()
    try:
        await log.append([registration(n, tenant, own_trace(n)) for n in range(10)])
        await log.append(
            [payment(n, k, tenant, own_trace(n, k)) for k in range(3) for n in range(10)]
        )
    finally:
        await log.stop()
    engine = create_engine(infra.database_url, "amiable_claims")
    schemas = [f"one_{unique}", f"many_{unique}"]
    try:
        digests = [
            (
                await rebuild(
                    paying.projector(),
                    engine,
                    REGISTRY,
                    bootstrap=infra.bootstrap,
                    topic=topic,
                    live_schema=schema,
                    swap=False,
                    max_records=size,
                )
            ).digest
            for schema, size in zip(schemas, (1, 5000), strict=True)
        ]
        assert digests[0]["tables"] == digests[1]["tables"]
    finally:
        await engine.dispose()
        await drop_schemas(infra.database_url, "amiable_claims", [f"{s}_rebuild" for s in schemas])


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
        "issued_on": str(service.today - timedelta(days=54)),
        "due_on": str(service.today - timedelta(days=24)),
        "debtor": {
            "id": "D1",
            "legal_name": "Acme GmbH",
            "country": "DE",
            "contacts": [{"name": "Jan", "email": "jan@acme.example"}],
        },
    }
    async with httpx.AsyncClient(base_url=service.url, timeout=15) as api:
        for n in range(30):
            answer = await api.post(
                "/v1/claims", json={**body, "invoice_number": f"R-{n}"}, headers=headers
            )
            assert answer.status_code == 201
        live = (await api.get("/admin/state-digest", headers=operator_auth())).json()
        assert live["tables"]["claims"]["rows"] == 30
        assert (
            await api.get("/admin/state-digest", headers=auth(tenant, "claims:read"))
        ).status_code == 403
        # the whole projection's digest spans every tenant: a tenant's admin may not have it
        assert (await api.get("/admin/state-digest", headers=headers)).status_code == 403

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

        after = (await api.get("/admin/state-digest", headers=operator_auth())).json()
        assert after["digest"] == live["digest"]
        # the live service goes on over the swapped-in tables
        answer = await api.post(
            "/v1/claims", json={**body, "invoice_number": "R-after"}, headers=headers
        )
        assert answer.status_code == 201
        assert (await api.get(answer.headers["location"], headers=headers)).status_code == 200
        assert (await api.get("/admin/parked", headers=headers)).json() == {"accounts": []}
