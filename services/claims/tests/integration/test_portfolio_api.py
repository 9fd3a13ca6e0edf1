"""Debtor statement, aged balance and KPIs through the API, on a frozen clock."""

from __future__ import annotations

import httpx
import pytest

from tests.support import auth

pytestmark = pytest.mark.integration


def claim(invoice: str, amount: str, due_on: str, debtor: str = "K-1", currency: str = "EUR"):
    return {
        "invoice_number": invoice,
        "amount": amount,
        "currency": currency,
        "issued_on": "2026-06-01",
        "due_on": due_on,
        "debtor": {
            "id": debtor,
            "legal_name": f"{debtor} Handels GmbH",
            "country": "DE",
            "contacts": [{"email": "buchhaltung@handel.example"}],
        },
    }


async def test_statement_aged_balance_and_kpis(fresh_topic, service_process, unique):
    topic = await fresh_topic("portfolio")
    service = (
        service_process(
            "claims",
            topic=topic,
            projection_schema=f"portfolio_{unique}",
            consumer_group=f"pf-{unique}",
            clock="frozen:2026-11-24T12:00:00+00:00",
        )
        .start()
        .wait_ready()
    )
    headers = auth(f"pf-{unique}", "claims:write", "claims:read")
    async with httpx.AsyncClient(base_url=service.url, timeout=30, headers=headers) as api:
        ids = {}
        for invoice, amount, due_on, debtor, currency in [
            ("A-1", "1000.00", "2026-12-10", "K-1", "EUR"),  # current
            ("A-2", "2000.00", "2026-11-10", "K-1", "EUR"),  # 14 days past due
            ("A-3", "3000.00", "2026-09-01", "K-1", "EUR"),  # 84 days
            ("A-4", "4000.00", "2026-07-01", "K-2", "EUR"),  # 146 days
            ("A-5", "500.00", "2026-10-20", "K-2", "USD"),  # 35 days, another currency
        ]:
            answer = await api.post(
                "/v1/claims", json=claim(invoice, amount, due_on, debtor, currency)
            )
            assert answer.status_code == 201, answer.text
            ids[invoice] = answer.json()["id"]
        paid = await api.post(
            f"/v1/claims/{ids['A-2']}/payments",
            json={"amount": "500.00", "received_on": "2026-11-24"},
        )
        assert paid.status_code == 201
        written_off = await api.post(
            f"/v1/claims/{ids['A-4']}/write-off", json={"reason": "insolvent"}
        )
        assert written_off.status_code == 200

        statement = (await api.get("/v1/debtors/K-1/statement")).json()
        assert statement["legal_name"] == "K-1 Handels GmbH"
        assert statement["open_claims"] == 3
        [eur] = statement["balances"]
        buckets = {b["label"]: b["amount"] for b in eur["aged_principal"]["buckets"]}
        assert buckets == {"0-30": "2500.00", "31-60": "0", "61-90": "3000.00", "90+": "0"}
        lines = {line["invoice_number"]: line for line in eur["claims"]}
        assert lines["A-1"]["interest"] == "0.00"  # not yet due
        assert float(lines["A-3"]["interest"]) > 0
        assert lines["A-3"]["fixed_fee"] == "40.00"
        total = sum(float(line["total"]) for line in eur["claims"])
        assert abs(float(eur["balance"]) - total) < 0.005
        assert (await api.get("/v1/debtors/NOBODY/statement")).status_code == 404

        aged = (await api.get("/v1/portfolio/aged-balance")).json()
        by_currency = {c["currency"]: c for c in aged["currencies"]}
        eur_buckets = {b["label"]: b["amount"] for b in by_currency["EUR"]["buckets"]}
        assert eur_buckets["current"] == "1000.00"
        assert eur_buckets["1-30"] == "1500.00"
        assert eur_buckets["61-90"] == "3000.00"
        assert eur_buckets["90+"] == "0"  # written off
        assert by_currency["USD"]["total"] == "500.00"

        kpis = (
            await api.get("/v1/portfolio/kpis", params={"from": "2026-11-01", "to": "2026-11-30"})
        ).json()
        eur_kpis = {c["currency"]: c for c in kpis["currencies"]}["EUR"]
        assert eur_kpis["placed_count"] == 4
        assert eur_kpis["collected_amount"] == "500.00"
        assert eur_kpis["written_off_count"] == 1
        assert eur_kpis["recovery_rate"] == "0.0500"  # 500 / 10,000 placed
        assert eur_kpis["dispute_rate"] == "0.0000"
        assert eur_kpis["cost_of_recovery"] == "0.0000"
        bad = await api.get("/v1/portfolio/kpis", params={"from": "2026-12-01", "to": "2026-11-01"})
        assert bad.status_code == 422
        spec = (await api.get("/openapi.json")).json()
        kpi_doc = spec["paths"]["/v1/portfolio/kpis"]["get"]["description"]
        assert "countback" in kpi_doc and "CEI" in kpi_doc
