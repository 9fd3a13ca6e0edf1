"""Governing law and contractual terms through the API: registration records them, amount-due
shows the rule, its source and the terms. Claims are due 2026-01-15 and read as of
2026-09-30 (the worked example of docs/late-fees.md), before the frozen clock's today."""

from __future__ import annotations

import os
import uuid

import httpx
import pytest

from tests.support import auth

pytestmark = pytest.mark.integration

WRITE = ("claims:write", "claims:read")
LONDON = f"london-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module", autouse=True)
def tenant_laws():
    """The module's service starts with a per-tenant law: LONDON's claims are under GB law."""
    before = os.environ.get("AMIABLE_TENANT_GOVERNING_LAW")
    os.environ["AMIABLE_TENANT_GOVERNING_LAW"] = f'{{"{LONDON}": "GB"}}'
    yield
    if before is None:
        os.environ.pop("AMIABLE_TENANT_GOVERNING_LAW")
    else:
        os.environ["AMIABLE_TENANT_GOVERNING_LAW"] = before


@pytest.fixture
async def api(claims_service):
    async with httpx.AsyncClient(base_url=claims_service.url, timeout=15) as client:
        yield client


def body(invoice: str, currency: str = "EUR", **changes) -> dict:
    """EUR 10,000 due 2026-01-15 on an Indian debtor."""
    return {
        "invoice_number": invoice,
        "amount": "10000.00",
        "currency": currency,
        "issued_on": "2026-01-01",
        "due_on": "2026-01-15",
        "debtor": {
            "id": f"IN-{invoice}",
            "legal_name": "Mehta Traders Pvt Ltd",
            "country": "IN",
            "contacts": [{"email": "ap@mehta.example"}],
        },
        **changes,
    }


async def amount_due(api, tenant: str, claim_id: str) -> dict:
    answer = await api.get(
        f"/v1/claims/{claim_id}/amount-due",
        params={"as_of": "2026-09-30"},
        headers=auth(tenant, "claims:read"),
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


async def register(api, tenant: str, payload: dict) -> str:
    created = await api.post("/v1/claims", json=payload, headers=auth(tenant, *WRITE))
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def test_an_indian_debtor_under_the_creditors_french_law(api):
    tenant = f"paris-{uuid.uuid4().hex[:8]}"
    due = await amount_due(api, tenant, await register(api, tenant, body("INV-FR")))
    assert (due["interest"], due["fixed_fee"], due["total"]) == ("858.83", "40.00", "10898.83")
    assert due["rule"] == "FR: ECB MRO + 10 pts, half-year reference rate, actual/365"
    assert (due["governing_law"], due["governing_law_source"], due["rule_entry"]) == (
        "FR",
        "service_default",
        "FR",
    )
    assert due["rule_source"].startswith("Code de commerce L441-10")
    assert due["late_payment_terms"] is None


async def test_the_tenants_law_and_a_claims_own_law(api):
    """LONDON's default is GB: GBP 10,000 -> Bank Rate 3.75% (31 Dec 2025) + 8 = 11.75%,
    166 days 534.38 + 92 days 296.16 = 830.54, fixed sum GBP 100. A claim naming DE law:
    Basiszinssatz 1.27% + 9 = 10.27% -> 467.07 + 258.86 = 725.93, EUR 40."""
    gb = await amount_due(api, LONDON, await register(api, LONDON, body("INV-GB", "GBP")))
    assert (gb["governing_law"], gb["governing_law_source"]) == ("GB", "tenant")
    assert (gb["interest"], gb["fixed_fee"], gb["total"]) == ("830.54", "100.00", "10930.54")

    de = await amount_due(
        api, LONDON, await register(api, LONDON, body("INV-DE", governing_law="DE"))
    )
    assert (de["governing_law"], de["governing_law_source"]) == ("DE", "claim")
    assert (de["interest"], de["fixed_fee"], de["total"]) == ("725.93", "40.00", "10765.93")


async def test_no_statute_with_contractual_terms(api):
    """US law, 12% and USD 50 by contract: 258 days: 10000 x 12% x 258/365 = 848.2191...,
    as two half-year lines: 166 days 545.75 + 92 days 302.47 = 848.22."""
    tenant = f"ny-{uuid.uuid4().hex[:8]}"
    terms = {"interest": {"kind": "fixed", "rate": "12"}, "fixed_fee": "50.00"}
    claim_id = await register(
        api, tenant, body("INV-US", "USD", governing_law="US", late_payment_terms=terms)
    )
    due = await amount_due(api, tenant, claim_id)
    assert (due["interest"], due["fixed_fee"], due["total"]) == ("848.22", "50.00", "10898.22")
    assert (due["governing_law"], due["rule_entry"]) == ("US", "none")
    assert due["late_payment_terms"] == {
        "interest": {"kind": "fixed", "rate": "12", "margin": None, "reference": None},
        "fixed_fee": "50.00",
    }


async def test_a_bad_law_or_terms_are_422_naming_the_field(api):
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    bad_law = await api.post(
        "/v1/claims", json=body("INV-X", governing_law="XX"), headers=auth(tenant, *WRITE)
    )
    assert bad_law.status_code == 422
    assert bad_law.json()["errors"][0]["field"] == "governing_law"
    no_reference = await api.post(
        "/v1/claims",
        json=body(
            "INV-Y",
            governing_law="none",
            late_payment_terms={"interest": {"kind": "reference_plus", "margin": "4"}},
        ),
        headers=auth(tenant, *WRITE),
    )
    assert no_reference.status_code == 422, no_reference.text
    assert no_reference.json()["errors"] == [
        {
            "field": "late_payment_terms.interest.reference",
            "reason": "required: no statutory reference rate under law none",
        }
    ]


async def test_a_csv_import_names_the_governing_law(api):
    tenant = f"t-{uuid.uuid4().hex[:8]}"
    csv = (
        "invoice_number,amount,currency,issued_on,due_on,debtor_id,debtor_legal_name,"
        "debtor_country,contact_email,governing_law\n"
        "INV-C1,10000.00,EUR,2026-01-01,2026-01-15,IN-1,Mehta,IN,ap@mehta.example,DE\n"
        "INV-C2,10000.00,EUR,2026-01-01,2026-01-15,IN-2,Mehta,IN,ap@mehta.example,\n"
    )
    imported = await api.post(
        "/v1/claims:import",
        content=csv,
        headers={**auth(tenant, *WRITE), "content-type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    rows = imported.json()["rows"]
    assert [row["status"] for row in rows] == ["created", "created"]
    de, fr = [await amount_due(api, tenant, str(row["claim_id"])) for row in rows]
    assert (de["governing_law"], de["governing_law_source"], de["total"]) == (
        "DE",
        "claim",
        "10765.93",
    )
    assert (fr["governing_law"], fr["governing_law_source"], fr["total"]) == (
        "FR",
        "service_default",
        "10898.83",
    )
