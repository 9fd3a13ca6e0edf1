"""Debtor statement, aged balance and KPIs through the API, on a frozen clock: every date is
computed from the service's today."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from tests.support import auth

pytestmark = pytest.mark.integration


def days(day: date, n: int) -> str:
    return str(day + timedelta(days=n))


def claim(
    invoice: str, amount: str, due_on: str, issued_on: str, debtor: str, currency: str = "EUR"
):
    return {
        "invoice_number": invoice,
        "amount": amount,
        "currency": currency,
        "issued_on": issued_on,
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
        )
        .start()
        .wait_ready()
    )
    today = service.today
    issued_on = days(today, -176)
    headers = auth(f"pf-{unique}", "claims:write", "claims:read")
    async with httpx.AsyncClient(base_url=service.url, timeout=30, headers=headers) as api:
        ids = {}
        for invoice, amount, due_on, debtor, currency in [
            ("A-1", "1000.00", days(today, 16), "K-1", "EUR"),  # current
            ("A-2", "2000.00", days(today, -14), "K-1", "EUR"),  # 14 days past due
            ("A-3", "3000.00", days(today, -84), "K-1", "EUR"),  # 84 days
            ("A-4", "4000.00", days(today, -146), "K-2", "EUR"),  # 146 days
            ("A-5", "500.00", days(today, -35), "K-2", "USD"),  # 35 days, another currency
        ]:
            answer = await api.post(
                "/v1/claims", json=claim(invoice, amount, due_on, issued_on, debtor, currency)
            )
            assert answer.status_code == 201, answer.text
            ids[invoice] = answer.json()["id"]
        paid = await api.post(
            f"/v1/claims/{ids['A-2']}/payments",
            json={"amount": "500.00", "received_on": str(today)},
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

        # a period around today: the four EUR claims were placed and the payment received today
        period = {"from": days(today, -23), "to": days(today, 6)}
        kpis = (await api.get("/v1/portfolio/kpis", params=period)).json()
        eur_kpis = {c["currency"]: c for c in kpis["currencies"]}["EUR"]
        assert eur_kpis["placed_count"] == 4
        assert eur_kpis["collected_amount"] == "500.00"
        assert eur_kpis["written_off_count"] == 1
        assert eur_kpis["recovery_rate"] == "0.0500"  # 500 / 10,000 placed
        assert eur_kpis["dispute_rate"] == "0.0000"
        assert eur_kpis["cost_of_recovery"] == "0.0000"
        backwards = {"from": days(today, 7), "to": days(today, -23)}
        bad = await api.get("/v1/portfolio/kpis", params=backwards)
        assert bad.status_code == 422
        spec = (await api.get("/openapi.json")).json()
        kpi_doc = spec["paths"]["/v1/portfolio/kpis"]["get"]["description"]
        assert "countback" in kpi_doc and "CEI" in kpi_doc
