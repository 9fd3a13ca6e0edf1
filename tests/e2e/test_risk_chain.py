"""Claims and risk as processes on one log, talking only through it: a debtor's score, segment
and reasons follow its claims and payments made through the claims API; collective proceedings
recorded through the risk API stop the fixed fee on the debtor's claims."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from tests.support import auth, eventually

pytestmark = pytest.mark.e2e

CLAIMS = ("claims:write", "claims:read")
RISK = ("risk:read", "risk:write")


def claim_body(today, invoice: str, debtor: str, *, due_days_ago: int) -> dict:
    return {
        "invoice_number": invoice,
        "amount": "2000.00",
        "currency": "EUR",
        "issued_on": str(today - timedelta(days=due_days_ago + 30)),
        "due_on": str(today - timedelta(days=due_days_ago)),
        "debtor": {
            "id": debtor,
            "legal_name": "Durand Industries SAS",
            "country": "FR",
            "contacts": [{"name": "Claire Martin", "email": "claire@durand.example"}],
        },
    }


async def test_risk_follows_claims_and_proceedings_stop_the_fixed_fee(
    fresh_topic, service_process, unique
):
    topic = await fresh_topic("chain")
    settings = {"topic": topic, "projection_schema": f"chain_{unique}"}
    claims = service_process("claims", consumer_group=f"claims-{unique}", **settings).start()
    risk = service_process("risk", consumer_group=f"risk-{unique}", **settings).start()
    tenant, today = f"chain-{unique}", claims.today
    writer, risk_headers = auth(tenant, *CLAIMS), auth(tenant, *RISK)
    async with (
        httpx.AsyncClient(base_url=claims.url, timeout=15) as claims_api,
        httpx.AsyncClient(base_url=risk.url, timeout=15) as risk_api,
    ):
        for service in (claims, risk):
            service.wait_ready()

        async def risk_of(debtor: str, ready):
            answer = await risk_api.get(f"/v1/debtors/{debtor}/risk", headers=risk_headers)
            return answer.json() if answer.status_code == 200 and ready(answer.json()) else None

        created = await claims_api.post(
            "/v1/claims", json=claim_body(today, "F-1", "D-1", due_days_ago=45), headers=writer
        )
        assert created.status_code == 201, created.text
        claim_id = created.json()["id"]
        before = await eventually(lambda: risk_of("D-1", lambda body: True))
        assert before["features"]["oldest_days_past_due"] == 45
        assert before["segment"] == "new_customer"

        due = (await claims_api.get(f"/v1/claims/{claim_id}/amount-due", headers=writer)).json()
        assert due["fixed_fee"] == "40.00"
        paid = await claims_api.post(
            f"/v1/claims/{claim_id}/payments",
            json={"amount": due["total"], "received_on": str(today)},
            headers=writer,
        )
        assert paid.status_code in (200, 201), paid.text
        after = await eventually(
            lambda: risk_of("D-1", lambda body: body["features"]["open_count"] == 0)
        )
        assert after["features"]["days_late"] == [45]
        assert after["score"] != before["score"]
        assert [r["code"] for r in after["reasons"]] != [r["code"] for r in before["reasons"]]

        proceeding = {
            "kind": "receivership",
            "opened_on": str(today - timedelta(days=20)),
            "reference": "TC Paris 2026R00077",
        }
        recorded = await risk_api.post(
            "/v1/debtors/D-1/insolvency", json=proceeding, headers=risk_headers
        )
        assert recorded.status_code == 200, recorded.text
        assert recorded.json()["segment"] == "insolvency"

        # a claim registered on the debtor in proceedings, its fee falling due after the
        # opening, never adds it (a fee due before the opening would stay); another debtor's
        # claim does
        new = await claims_api.post(
            "/v1/claims", json=claim_body(today, "F-2", "D-1", due_days_ago=10), headers=writer
        )
        other = await claims_api.post(
            "/v1/claims", json=claim_body(today, "F-3", "D-2", due_days_ago=10), headers=writer
        )
        assert new.status_code == other.status_code == 201

        async def fee(claim: str) -> str:
            answer = await claims_api.get(f"/v1/claims/{claim}/amount-due", headers=writer)
            return answer.json()["fixed_fee"]

        async def waived():
            return await fee(new.json()["id"]) == "0.00"

        await eventually(waived)
        assert await fee(other.json()["id"]) == "40.00"
