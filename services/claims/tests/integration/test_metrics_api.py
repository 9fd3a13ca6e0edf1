"""The claims process's /metrics on the real stack: events applied by type, requests by route
template (no claim id anywhere), and the tenant's recovery KPIs read from the read model."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support import auth

pytestmark = pytest.mark.integration

WRITE = ("claims:write", "claims:read")


def claim_body(today) -> dict:
    return {
        "invoice_number": "INV-M1",
        "amount": "12500.00",
        "currency": "EUR",
        "issued_on": str(today - timedelta(days=54)),
        "due_on": str(today - timedelta(days=24)),
        "debtor": {"id": "C-42", "legal_name": "Durand Industries SAS", "country": "FR"},
    }


def samples(page: str) -> dict[tuple[str, frozenset], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(page)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels) -> float | None:
    return found.get((name, frozenset(labels.items())))


async def test_metrics_name_routes_and_figures_never_ids(claims_service):
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    today = claims_service.today
    async with httpx.AsyncClient(base_url=claims_service.url, timeout=15) as api:
        created = await api.post("/v1/claims", json=claim_body(today), headers=auth(tenant, *WRITE))
        assert created.status_code == 201, created.text
        claim_id = created.json()["id"]
        assert (await api.get(f"/v1/claims/{claim_id}", headers=auth(tenant, *WRITE))).is_success
        page = (await api.get("/metrics")).text

    found = samples(page)
    assert claim_id not in page
    assert (
        value(
            found,
            "amiable_http_requests_total",
            service="claims",
            route="/v1/claims/{claim_id}",
            method="GET",
            status="200",
        )
        == 1
    )
    registered = value(
        found,
        "amiable_events_applied_total",
        service="claims",
        type="amiable.claims.claim-registered.v1",
    )
    assert registered is not None and registered >= 1
    # 12,500 EUR due 24 days ago, placed today
    aged = {"tenant": tenant, "currency": "EUR"}
    assert value(found, "amiable_claims_aged_balance", **aged, bucket="1-30") == 12500
    assert value(found, "amiable_claims_aged_claims", **aged, bucket="1-30") == 1
    assert value(found, "amiable_claims_aged_balance", **aged, bucket="90+") == 0
    assert value(found, "amiable_claims_recovery_rate", **aged) == 0
    assert value(found, "amiable_claims_dispute_rate", **aged) == 0
    assert value(found, "amiable_claims_dso_days", **aged) is not None
    # nothing collected yet: a ratio over zero is left out, not shown as 0
    assert value(found, "amiable_claims_cost_of_recovery", **aged) is None
