"""The system as an operator runs it: processes started with the `amiable` command, a token from
`amiable token`, a claim registered and read back, and the log read with `amiable events tail`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta

import httpx
import pytest

from tests.support import ROOT

pytestmark = pytest.mark.e2e


async def amiable(*args: str, env: dict[str, str]) -> str:
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "amiable_cli.main", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


async def test_register_read_back_and_tail_the_log(fresh_topic, service_process, unique):
    topic = await fresh_topic("e2e")
    service = service_process(
        "claims", topic=topic, projection_schema=f"e2e_{unique}", consumer_group=f"e2e-{unique}"
    ).start()
    token = (
        await amiable(
            "token",
            "--tenant",
            f"e2e-{unique}",
            "--scope",
            "claims:write",
            "--scope",
            "claims:read",
            env=service.env,
        )
    ).strip()
    headers = {"Authorization": f"Bearer {token}"}
    body = {
        "invoice_number": "F-2026-118",
        "amount": "4800.00",
        "currency": "EUR",
        "issued_on": str(service.today - timedelta(days=70)),  # the frozen clock's today
        "due_on": str(service.today - timedelta(days=40)),
        "debtor": {
            "id": "K-9",
            "legal_name": "Müller Maschinenbau GmbH",
            "country": "DE",
            "contacts": [{"name": "Jana Weber", "email": "j.weber@mueller.example"}],
        },
    }
    async with httpx.AsyncClient(base_url=service.url, timeout=15) as api:
        ready = await api.get("/readyz")
        assert ready.status_code == 200, ready.text
        created = await api.post("/v1/claims", json=body, headers=headers)
        assert created.status_code == 201, created.text
        fetched = await api.get(created.headers["location"], headers=headers)
    claim = fetched.json()
    assert claim == created.json()
    assert claim["debtor"]["language"] == "de-DE"
    assert claim["debtor"]["contacts"][0]["email"] == "j.weber@mueller.example"

    tail = await amiable("events", "tail", "--from-beginning", env=service.env)
    assert "amiable.claims.claim-registered.v1" in tail
    assert f"ce_subject: {claim['id']}" in tail
    assert f"ce_tenant: e2e-{unique}" in tail
    assert "traceparent" not in tail  # tracing is off in this process: no context to pass
    assert "j.weber@mueller.example" not in tail
    assert "pii:v1:" in tail

    assert (await amiable("unpark", "claims", env=service.env)).strip() == "nothing parked"
    rebuilt = await amiable("rebuild", "claims", env=service.env)
    assert "rebuilt claims: 2 events" in rebuilt  # registered + qualified
