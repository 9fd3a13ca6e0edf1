"""The consumer starter (examples/consumer) on the real log: the claims service registers two
claims of one debtor and is paid one of them in full; the starter's consumer, in a group of its
own, decodes the binary-mode records with the CloudEvents SDK until its projection shows the
one claim still open."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from claims_consumer.consumer import Settings, consume
from claims_consumer.projection import Projection
from tests.e2e.test_claim_intake import amiable
from tests.support import eventually

pytestmark = pytest.mark.e2e


def _claim(invoice: str, amount: str, today) -> dict:
    return {
        "invoice_number": invoice,
        "amount": amount,
        "currency": "EUR",
        "issued_on": str(today - timedelta(days=45)),  # the service's frozen clock's today
        "due_on": str(today - timedelta(days=15)),
        "debtor": {
            "id": "K-77",
            "legal_name": "Roux Menuiserie SAS",
            "country": "FR",
            "contacts": [{"name": "Paul Roux", "email": "p.roux@roux.example"}],
        },
    }


async def test_the_starter_projects_the_claims_services_log(
    infra, fresh_topic, service_process, unique
):
    topic = await fresh_topic("e2e-starter")
    service = service_process(
        "claims", topic=topic, projection_schema=f"e2e_{unique}", consumer_group=f"e2e-{unique}"
    ).start()
    tenant = f"e2e-{unique}"
    token = (
        await amiable(
            "token",
            "--tenant",
            tenant,
            "--scope",
            "claims:write",
            "--scope",
            "claims:read",
            env=service.env,
        )
    ).strip()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=service.url, timeout=15) as api:
        assert (await api.get("/readyz")).status_code == 200
        paid, left = [
            (
                await api.post(
                    "/v1/claims", json=_claim(invoice, amount, service.today), headers=headers
                )
            ).json()
            for invoice, amount in (("F-2026-201", "1800.00"), ("F-2026-202", "950.00"))
        ]
        due = (await api.get(f"/v1/claims/{paid['id']}/amount-due", headers=headers)).json()
        payment = {"amount": due["total"], "received_on": str(service.today), "method": "transfer"}
        settled = await api.post(f"/v1/claims/{paid['id']}/payments", json=payment, headers=headers)
        assert settled.status_code == 201, settled.text
        assert settled.json()["status"] == "settled"
        timelines = [
            (await api.get(f"/v1/claims/{c['id']}/timeline", headers=headers)).json()
            for c in (paid, left)
        ]
    event_ids = {entry["event_id"] for timeline in timelines for entry in timeline["events"]}
    assert len(event_ids) == 6  # registered and qualified twice, the payment, the settlement

    projection = Projection()
    done = asyncio.Event()
    settings = Settings(bootstrap=infra.bootstrap, topic=topic, group_id=f"starter-{unique}")
    consuming = asyncio.create_task(consume(settings, projection, until=lambda _: done.is_set()))
    try:
        account = f"{tenant}:K-77"
        open_claims = await eventually(
            lambda: event_ids <= projection.applied and projection.open_claims().get(account),
            timeout=60,
        )
    finally:
        done.set()
        await asyncio.wait_for(consuming, timeout=30)
    assert [(c.claim_id, c.outstanding) for c in open_claims] == [(left["id"], Decimal("950.00"))]
    assert projection.ignored == {"amiable.claims.claim-qualified.v1": 2}  # not needed here
