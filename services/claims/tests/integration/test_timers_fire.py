"""Durable timers through the real service: a plan and a promise agreed under one clock, the
service restarted later under a clock past their grace periods, and the timers fire once."""

from __future__ import annotations

import httpx
import pytest

from tests.support import auth, eventually

pytestmark = pytest.mark.integration


async def test_missed_instalments_and_a_broken_promise_fire_after_a_restart(
    fresh_topic, service_process, unique
):
    topic = await fresh_topic("timers")
    settings = {
        "topic": topic,
        "projection_schema": f"timers_{unique}",
        "consumer_group": f"timers-{unique}",
        "timer_interval": "0.2",
    }
    headers = auth(f"timers-{unique}", "claims:write", "claims:read")
    first = (
        service_process("claims", clock="frozen:2026-11-24T10:00:00+00:00", **settings)
        .start()
        .wait_ready()
    )
    async with httpx.AsyncClient(base_url=first.url, timeout=30, headers=headers) as api:
        created = await api.post(
            "/v1/claims",
            json={
                "invoice_number": "T-1",
                "amount": "3000.00",
                "currency": "EUR",
                "issued_on": "2026-09-01",
                "due_on": "2026-10-01",
                "debtor": {
                    "id": "D-T",
                    "legal_name": "Berger Logistique SA",
                    "country": "FR",
                    "contacts": [{"email": "compta@berger.example"}],
                },
            },
        )
        url = f"/v1/claims/{created.json()['id']}"
        total = (await api.get(f"{url}/amount-due")).json()["total"]
        third = f"{float(total) / 3:.2f}"
        last = f"{float(total) - 2 * float(third):.2f}"
        plan = await api.post(
            f"{url}/payment-plan",
            json={
                "installments": [
                    {"due_on": "2026-12-01", "amount": third},
                    {"due_on": "2027-01-01", "amount": third},
                    {"due_on": "2027-02-01", "amount": last},
                ]
            },
        )
        assert plan.status_code == 201, plan.text
        promise = await api.post(
            f"{url}/promises",
            json={"amount": "100.00", "promised_on": "2026-11-28", "source": "call"},
        )
        assert promise.status_code == 201
        timeline = (await api.get(f"{url}/timeline")).json()["events"]
        assert len(timeline) == 4  # nothing fired under the first clock
    first.stop()

    later = service_process("claims", clock="frozen:2027-01-20T00:00:00+00:00", **settings)
    later.start().wait_ready()
    async with httpx.AsyncClient(base_url=later.url, timeout=30, headers=headers) as api:

        async def fired():
            events = (await api.get(f"{url}/timeline")).json()["events"]
            types = [e["type"].split(".")[2] for e in events]
            return (
                types if "payment-plan-defaulted" in types and "promise-broken" in types else None
            )

        types = await eventually(fired, timeout=30)
        assert types.count("installment-missed") == 1
        assert types.count("payment-plan-defaulted") == 1
        assert types.count("promise-broken") == 1
        claim = (await api.get(url)).json()
        assert claim["plan"]["defaulted_on"] == "2027-01-07"
        assert [i["missed"] for i in claim["plan"]["installments"]] == [True, True, False]
        assert claim["promises"][0]["state"] == "broken"
        # interest runs again from the default: more is due than when the plan was agreed
        due = (await api.get(f"{url}/amount-due")).json()
        assert float(due["total"]) > float(total)
        timeline = (await api.get(f"{url}/timeline")).json()["events"]
        summaries = [e["summary"] for e in timeline]
        assert "Instalment 1 due 2026-12-01 missed" in summaries
    later.stop()
    # a third start fires nothing more: every timer fired or was cancelled
    again = service_process("claims", clock="frozen:2027-03-01T00:00:00+00:00", **settings)
    again.start().wait_ready()
    async with httpx.AsyncClient(base_url=again.url, timeout=30, headers=headers) as api:
        await eventually(lambda: ticks(again) >= 3, timeout=10)
        events = (await api.get(f"{url}/timeline")).json()["events"]
        assert len(events) == len(timeline)


def ticks(service) -> float:
    """Passes the service's timer loop has made, from its metrics."""
    for line in httpx.get(f"{service.url}/metrics", timeout=5).text.splitlines():
        if line.startswith('amiable_timer_ticks_total{service="claims"}'):
            return float(line.split()[-1])
    return 0.0
