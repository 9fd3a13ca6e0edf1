"""The claims API on a real service process, real Kafka and real PostgreSQL; the service's clock
is frozen and every date is computed from it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from tests.support import auth

pytestmark = pytest.mark.integration

WRITE = ("claims:write", "claims:read")


@pytest.fixture
def claim_body(today):
    """A claim issued 54 days and due 24 days before the service's today."""

    def make(invoice: str = "INV-1", **changes) -> dict:
        return _claim_body(invoice, today, **changes)

    return make


def _claim_body(invoice: str, today, **changes) -> dict:
    body = {
        "invoice_number": invoice,
        "amount": "12500.00",
        "currency": "EUR",
        "issued_on": str(today - timedelta(days=54)),
        "due_on": str(today - timedelta(days=24)),
        "purchase_order": "PO-778",
        "debtor": {
            "id": "C-42",
            "legal_name": "Durand Industries SAS",
            "registration_id": "732829320",
            "country": "FR",
            "contacts": [
                {
                    "name": "Claire Martin",
                    "email": "claire.martin@durand.example",
                    "phone": "+33612345678",
                    "role": "accounts payable",
                }
            ],
            "postal_address": {
                "lines": ["12 rue de la Paix"],
                "postal_code": "75002",
                "city": "Paris",
                "country": "FR",
            },
        },
    }
    body.update(changes)
    return body


@pytest.fixture
def tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def api(claims_service):
    async with httpx.AsyncClient(base_url=claims_service.url, timeout=15) as client:
        yield client


async def test_a_registered_claim_is_returned_by_get(api, claim_body, tenant):
    created = await api.post("/v1/claims", json=claim_body(), headers=auth(tenant, *WRITE))

    assert created.status_code == 201, created.text
    claim = created.json()
    assert created.headers["location"] == f"/v1/claims/{claim['id']}"
    assert claim["status"] == "qualified"
    assert claim["rejection_reasons"] == []
    assert claim["amount"] == claim["outstanding"] == "12500.00"
    assert claim["debtor"]["language"] == "fr-FR"
    assert claim["debtor"]["timezone"] == "Europe/Paris"
    assert claim["debtor"]["contacts"][0]["email"] == "claire.martin@durand.example"
    assert claim["debtor"]["postal_address"]["city"] == "Paris"

    fetched = await api.get(created.headers["location"], headers=auth(tenant, "claims:read"))
    assert fetched.status_code == 200
    assert fetched.json() == claim


async def test_without_a_valid_token_it_is_401(api, claim_body, tenant):
    missing = await api.post("/v1/claims", json=claim_body())
    forged = await api.post(
        "/v1/claims", json=claim_body(), headers={"Authorization": "Bearer not.a.jwt"}
    )
    assert missing.status_code == forged.status_code == 401
    assert missing.headers["content-type"] == "application/problem+json"


async def test_without_the_write_scope_it_is_403(api, claim_body, tenant):
    answer = await api.post("/v1/claims", json=claim_body(), headers=auth(tenant, "claims:read"))
    assert answer.status_code == 403
    assert "claims:write" in answer.json()["detail"]


async def test_another_tenants_claim_is_404(api, claim_body, tenant):
    created = await api.post("/v1/claims", json=claim_body(), headers=auth(tenant, *WRITE))
    other = await api.get(created.headers["location"], headers=auth("someone-else", *WRITE))
    assert other.status_code == 404
    assert other.json()["title"] == "Claim not found"


async def test_a_second_claim_with_the_same_invoice_number_is_409(api, claim_body, tenant):
    first = await api.post("/v1/claims", json=claim_body("INV-9"), headers=auth(tenant, *WRITE))
    again = await api.post("/v1/claims", json=claim_body("INV-9"), headers=auth(tenant, *WRITE))
    assert again.status_code == 409
    assert again.json()["existing_claim_id"] == first.json()["id"]


async def test_bad_fields_are_422_each_with_its_reason(api, claim_body, tenant):
    body = claim_body(amount=12.5, currency="EUX")
    body["debtor"]["contacts"][0]["email"] = "not-an-email"
    body["debtor"]["contacts"][0]["phone"] = "0612345678"
    body["debtor"]["country"] = "XX"
    answer = await api.post("/v1/claims", json=body, headers=auth(tenant, *WRITE))

    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    fields = {error["field"]: error["reason"] for error in answer.json()["errors"]}
    assert set(fields) == {
        "amount",
        "currency",
        "debtor.country",
        "debtor.contacts.0.email",
        "debtor.contacts.0.phone",
    }
    assert "decimal string" in fields["amount"]
    assert "ISO 4217" in fields["currency"]


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        (
            lambda today: {"due_on": str(today - timedelta(days=60))},
            "due_on",
            "must be on or after issued_on",
        ),
        (lambda today: {"amount": "10.001"}, "amount", "EUR has at most 2 decimal digits"),
        (lambda today: {"amount": "0"}, "amount", "must be greater than 0"),
    ],
    ids=["due-before-issued", "three-decimals", "zero"],
)
async def test_rules_across_fields_are_422(api, claim_body, today, tenant, changes, field, reason):
    body = claim_body(**changes(today))
    answer = await api.post("/v1/claims", json=body, headers=auth(tenant, *WRITE))
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": field, "reason": reason}]


async def test_a_country_with_several_zones_needs_a_timezone(api, claim_body, tenant):
    body = claim_body()
    body["debtor"].update(country="US", registration_id=None)
    answer = await api.post("/v1/claims", json=body, headers=auth(tenant, *WRITE))
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "debtor.timezone"
    body["debtor"]["timezone"] = "America/Chicago"
    assert (
        await api.post("/v1/claims", json=body, headers=auth(tenant, *WRITE))
    ).status_code == 201


async def test_a_retried_post_with_the_same_idempotency_key_gets_the_first_answer(
    api, claim_body, tenant
):
    headers = {**auth(tenant, *WRITE), "Idempotency-Key": f"retry-{tenant}"}
    first = await api.post("/v1/claims", json=claim_body("INV-7"), headers=headers)
    retry = await api.post("/v1/claims", json=claim_body("INV-7"), headers=headers)
    other = await api.post("/v1/claims", json=claim_body("INV-8"), headers=headers)

    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["idempotent-replayed"] == "true"
    assert other.status_code == 422
    listing = await api.get("/v1/claims", headers=auth(tenant, "claims:read"))
    assert [c["invoice_number"] for c in listing.json()["items"]] == ["INV-7"]


async def test_listing_filters_and_pages_with_a_cursor(api, claim_body, tenant):
    for n in range(5):
        body = claim_body(f"INV-{n}")
        body["debtor"]["id"] = "A" if n % 2 == 0 else "B"
        assert (
            await api.post("/v1/claims", json=body, headers=auth(tenant, *WRITE))
        ).status_code == 201
    headers = auth(tenant, "claims:read")

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/claims", params=params, headers=headers)).json()
        seen += [c["invoice_number"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Registration order: on the frozen clock the five share one registered_at, so the order is
    # the claim ids'; pages of two walk it exactly as one page of a hundred does.
    whole = (await api.get("/v1/claims", params={"limit": 100}, headers=headers)).json()
    assert seen == [c["invoice_number"] for c in whole["items"]]
    assert sorted(seen) == [f"INV-{n}" for n in range(5)]

    only_a = (await api.get("/v1/claims", params={"debtor_id": "A"}, headers=headers)).json()
    assert [c["invoice_number"] for c in only_a["items"]] == [
        invoice for invoice in seen if invoice in {"INV-0", "INV-2", "INV-4"}
    ]
    bad = await api.get("/v1/claims", params={"status": "paid"}, headers=headers)
    assert bad.status_code == 422
    assert (
        await api.get("/v1/claims", params={"cursor": "zz"}, headers=headers)
    ).status_code == 422


async def test_no_email_in_clear_in_the_raw_kafka_record(
    api, claim_body, tenant, infra, claims_service
):
    created = await api.post("/v1/claims", json=claim_body(), headers=auth(tenant, *WRITE))
    claim_id = created.json()["id"].encode()

    consumer = AIOKafkaConsumer(bootstrap_servers=infra.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        topic = claims_service.env["AMIABLE_TOPIC"]  # the module's own log
        partitions = [
            TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or range(12)
        ]
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, max(0, ends[tp] - 50))
        record = None
        while record is None:
            batch = await consumer.getmany(timeout_ms=1000)
            assert batch, "the claim's record was not found near the end of the log"
            for records in batch.values():
                for candidate in records:
                    headers = dict(candidate.headers)
                    registered = headers["ce_type"] == b"amiable.claims.claim-registered.v1"
                    if registered and headers.get("ce_subject") == claim_id:
                        record = candidate
    finally:
        await consumer.stop()

    raw = record.value + b"".join(value for _, value in record.headers)
    for secret in (b"claire.martin@durand.example", b"Claire Martin", b"+33612345678", b"rue"):
        assert secret not in raw
    assert b"pii:v1:" in record.value
    assert b"Durand Industries SAS" in record.value  # a company name is not personal data


async def test_health_readiness_and_docs(api):
    assert (await api.get("/healthz")).json() == {"status": "ok"}
    ready = await api.get("/readyz")
    assert ready.status_code == 200 and ready.json()["ready"] is True
    spec = (await api.get("/openapi.json")).json()
    assert {"registerClaim", "getClaim", "listClaims"} <= {
        op["operationId"] for path in spec["paths"].values() for op in path.values()
    }
    assert (await api.get("/docs")).status_code == 200
    metrics = (await api.get("/metrics")).text
    assert 'amiable_parked_accounts{service="claims"} 0.0' in metrics
    assert any(
        line.startswith("amiable_http_requests_total{") and 'route="/healthz"' in line
        for line in metrics.splitlines()
    )


async def test_concurrent_registrations_of_one_invoice_create_one_claim(api, claim_body, tenant):
    headers = auth(tenant, *WRITE)
    answers = await asyncio.gather(
        *(api.post("/v1/claims", json=claim_body("INV-RACE"), headers=headers) for _ in range(6))
    )
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201, 409, 409, 409, 409, 409]
    [created] = [a.json()["id"] for a in answers if a.status_code == 201]
    assert {a.json()["existing_claim_id"] for a in answers if a.status_code == 409} == {created}


async def test_concurrent_retries_with_one_idempotency_key_get_one_claim(api, claim_body, tenant):
    headers = {**auth(tenant, *WRITE), "Idempotency-Key": f"burst-{tenant}"}
    answers = await asyncio.gather(
        *(api.post("/v1/claims", json=claim_body("INV-BURST"), headers=headers) for _ in range(5))
    )
    assert [a.status_code for a in answers] == [201] * 5
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 4
