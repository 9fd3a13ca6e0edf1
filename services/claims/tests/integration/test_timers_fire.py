"""Durable timers through the real service: a plan and a promise agreed under one clock, the
service restarted later under a clock past their grace periods, and the timers fire once."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from tests.support import FROZEN_AT, auth, eventually, frozen

pytestmark = pytest.mark.integration

#: The first clock; the later ones, and every date of the test, are computed from it.
START = FROZEN_AT.replace(hour=10)
TODAY = START.date()


def days(n: int, day: date = TODAY) -> str:
    return str(day + timedelta(days=n))


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
    first = service_process("claims", clock=frozen(START), **settings).start().wait_ready()
    async with httpx.AsyncClient(base_url=first.url, timeout=30, headers=headers) as api:
        created = await api.post(
            "/v1/claims",
            json={
                "invoice_number": "T-1",
                "amount": "3000.00",
                "currency": "EUR",
                "issued_on": days(-84),
                "due_on": days(-54),
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
                    {"due_on": days(7), "amount": third},
                    {"due_on": days(38), "amount": third},
                    {"due_on": days(69), "amount": last},
                ]
            },
        )
        assert plan.status_code == 201, plan.text
        promise = await api.post(
            f"{url}/promises",
            json={"amount": "100.00", "promised_on": days(4), "source": "call"},
        )
        assert promise.status_code == 201
        timeline = (await api.get(f"{url}/timeline")).json()["events"]
        assert len(timeline) == 4  # nothing fired under the first clock
        # issue 7, the actor: what a request caused is its token's subject's (tests sign "dev")
        assert {e["actor"] for e in timeline} == {"dev"}
    first.stop()

    # past both instalments' and the promise's grace periods, before the third instalment
    later = service_process(
        "claims", clock=frozen(START + timedelta(days=56, hours=14)), **settings
    )
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
        assert claim["plan"]["defaulted_on"] == days(38 + 6)  # the second miss, after 5 days' grace
        assert [i["missed"] for i in claim["plan"]["installments"]] == [True, True, False]
        assert claim["promises"][0]["state"] == "broken"
        # interest runs again from the default: more is due than when the plan was agreed
        due = (await api.get(f"{url}/amount-due")).json()
        assert float(due["total"]) > float(total)
        timeline = (await api.get(f"{url}/timeline")).json()["events"]
        summaries = [e["summary"] for e in timeline]
        assert f"Instalment 1 due {days(7)} missed" in summaries
        # ... and what a timer fired is the service's
        actors = {e["type"].split(".")[2]: e["actor"] for e in timeline}
        assert actors["installment-missed"] == actors["promise-broken"] == "service:claims"
        assert actors["claim-registered"] == actors["payment-plan-agreed"] == "dev"
    later.stop()
    # a third start fires nothing more: every timer fired or was cancelled
    again = service_process(
        "claims", clock=frozen(START + timedelta(days=96, hours=14)), **settings
    )
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
