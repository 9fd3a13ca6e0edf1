"""Dependencies down: the broker or PostgreSQL of a stack of the module's own (the shared
stack's tooling, its own state folder and ports) is killed, the claims service answers 503 with
Retry-After quickly (never hangs, never 500), reads keep working while PostgreSQL is up, and the
service recovers by itself once the stack's own start function (``stack.up``, idempotent)
restarts what is down. A stack of its own: killing the shared one would make concurrent test
sessions believe it is down, start it, and stop it when they end.

Slow (a stack boots in about 20 s): every such test lives in this one module.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from amiable_events.producer import EventLog
from tests.factories import registered
from tests.support import (
    FROZEN_AT,
    TEST_JWT_SECRET,
    ServiceProcess,
    auth,
    eventually,
    free_port,
    frozen,
)

pytestmark = pytest.mark.integration

WRITE = ("claims:write", "claims:read")


def _body(invoice: str, today, debtor: str = "C-42") -> dict:
    return {
        "invoice_number": invoice,
        "amount": "100.00",
        "currency": "EUR",
        "issued_on": str(today - timedelta(days=54)),
        "due_on": str(today - timedelta(days=24)),
        "debtor": {
            "id": debtor,
            "legal_name": "Durand Industries SAS",
            "country": "FR",
            "contacts": [{"name": "Claire Martin", "email": "claire.martin@durand.example"}],
        },
    }


def _quiet(message: str) -> None:
    return None


@pytest.fixture(scope="module")
def own_stack():
    """Kafka + PostgreSQL of this module's own, stopped and deleted at the end."""
    from amiable_cli import stack

    shared = stack.StackConfig.from_env()
    root = Path(tempfile.mkdtemp(prefix="amdown-", dir="/tmp"))
    root.chmod(0o755)  # the postgres user must reach its data folder
    # every port its own: the shared stack's mail sink and SMS fake hold the default ones
    config = stack.StackConfig(
        state_dir=root,
        kafka_port=free_port(),
        postgres_port=free_port(),
        smtp_port=free_port(),
        sms_port=free_port(),
    )
    if shared.kafka_lib.exists():  # the jars already resolved: no Maven run
        shutil.copytree(shared.kafka_lib, config.kafka_lib)
    try:
        stack.up(config, log=_quiet)
        yield stack, config
    finally:
        try:
            stack.down(config, log=_quiet)
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def service(own_stack, tmp_path_factory):
    _, config = own_stack
    env = {
        **os.environ,
        "AMIABLE_KAFKA_BOOTSTRAP": config.kafka_bootstrap,
        "AMIABLE_DATABASE_URL": config.database_url,
        "AMIABLE_ENV": "test",
        "AMIABLE_JWT_SECRET": TEST_JWT_SECRET,
        "AMIABLE_CLOCK": frozen(FROZEN_AT),
        "OTEL_SDK_DISABLED": "true",
    }
    log_path = tmp_path_factory.mktemp("down") / "claims.log"
    process = ServiceProcess("claims", free_port(), env, log_path).start().wait_ready()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def today(service):
    return service.today


async def test_postgres_killed_then_restarted_the_service_recovers_by_itself(
    service, own_stack, today
) -> None:
    stack, config = own_stack
    tenant = f"pg-{uuid.uuid4().hex[:8]}"
    arriving = registered(1, tenant=tenant, debtor="D-9")
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as api:
        before = await api.post(
            "/v1/claims", json=_body("INV-1", today), headers=auth(tenant, *WRITE)
        )
        assert before.status_code == 201, before.text
        pid = stack.status(config).postgres_pid
        assert pid is not None
        try:
            os.kill(pid, signal.SIGKILL)
            await eventually(lambda: stack.status(config).postgres_pid is None, timeout=10)
            # While PostgreSQL is down a command answers 503 with Retry-After, quickly.
            started = time.monotonic()
            down = await api.post(
                "/v1/claims", json=_body("INV-2", today), headers=auth(tenant, *WRITE)
            )
            elapsed = time.monotonic() - started
            assert down.status_code == 503, down.text
            assert down.headers["retry-after"]
            assert down.headers["content-type"] == "application/problem+json"
            assert elapsed < 10, elapsed
            print(f"postgres down: 503 in {elapsed:.2f}s")
            # An event arrives while PostgreSQL is down: the runner fails to apply it (a raw
            # ConnectionRefusedError, not a DBAPIError, once killed the runner for good).
            log = EventLog(config.kafka_bootstrap, client_id="test-down")
            await log.start()
            try:
                await log.append([arriving])
            finally:
                await log.stop()
            await eventually(lambda: _runner_failed(service), timeout=20)
        finally:
            stack.up(config, log=_quiet)

        await report_recovery(api, tenant, today, "postgres", timeout=60)

        async def applied() -> bool:
            answer = await api.get(f"/v1/claims/{arriving.subject}", headers=auth(tenant, *WRITE))
            return answer.status_code == 200

        await eventually(applied, timeout=60, interval=0.5)
        ready = await eventually(lambda: _ready(api), timeout=60, interval=0.5)
        assert ready
        health = await api.get("/healthz")
        assert health.status_code == 200, health.text
    # The outage failed key store and projection statements: no parameter, no key, no
    # sealed value in the log, and one line per failed request, no traceback.
    text = service.log_path.read_text(errors="replace")
    assert "[parameters:" not in text
    assert "pii:v1:" not in text.replace("pii:v1:[redacted]", "")
    assert "Exception in ASGI application" not in text


def _runner_failed(service: ServiceProcess) -> bool:
    return "projection claims: retrying batch" in service.log_path.read_text(errors="replace")


async def _ready(api: httpx.AsyncClient) -> bool:
    return (await api.get("/readyz")).status_code == 200


async def test_broker_stopped_commands_answer_503_quickly_then_recover(
    service, own_stack, today
) -> None:
    stack, config = own_stack
    tenant = f"kafka-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=service.url, timeout=60) as api:
        before = await api.post(
            "/v1/claims", json=_body("INV-1", today), headers=auth(tenant, *WRITE)
        )
        assert before.status_code == 201, before.text
        claim_id = before.json()["id"]
        pid = stack.status(config).kafka_pid
        assert pid is not None
        try:
            os.kill(pid, signal.SIGKILL)
            await eventually(lambda: stack.status(config).kafka_pid is None, timeout=10)
            for invoice in ("INV-2", "INV-3"):
                started = time.monotonic()
                down = await api.post(
                    "/v1/claims", json=_body(invoice, today), headers=auth(tenant, *WRITE)
                )
                elapsed = time.monotonic() - started
                assert down.status_code == 503, down.text
                assert down.headers["retry-after"]
                assert elapsed < 4, elapsed
                print(f"broker down: 503 in {elapsed:.2f}s")
            # Reads keep working while PostgreSQL is up.
            read = await api.get(f"/v1/claims/{claim_id}", headers=auth(tenant, *WRITE))
            assert read.status_code == 200, read.text
        finally:
            stack.up(config, log=_quiet)

        await report_recovery(api, tenant, today, "broker", timeout=90)
        # Nothing half-written: the refused invoice numbers are not there.
        listed = await api.get("/v1/claims", headers=auth(tenant, *WRITE))
        assert listed.status_code == 200
        invoices = {item["invoice_number"] for item in listed.json()["items"]}
        assert "INV-1" in invoices


async def report_recovery(api, tenant: str, today, what: str, *, timeout: float) -> None:
    """Until a registration succeeds again after ``what`` restarted; prints how long it took."""

    async def registers() -> bool:
        answer = await api.post(
            "/v1/claims",
            json=_body(f"INV-{uuid.uuid4().hex[:6]}", today),
            headers=auth(tenant, *WRITE),
        )
        return answer.status_code == 201

    restarted = time.monotonic()
    await eventually(registers, timeout=timeout, interval=0.5)
    print(f"{what} restarted: a registration succeeds after {time.monotonic() - restarted:.2f}s")
