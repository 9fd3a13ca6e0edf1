"""Issue 7, ids and idempotency on the live service: a key is scoped to tenant, claim and
command; a replay is marked; a credit note credits a claim once; and ids never collide across
tenants, nor does another tenant's event change a claim."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from amiable_events.claims import PaymentReceived
from amiable_events.db import create_engine
from amiable_events.envelope import Envelope
from amiable_events.producer import EventLog
from tests.support import auth, eventually

pytestmark = pytest.mark.integration

SCOPES = ("claims:write", "claims:read")


def claim_body(invoice: str, due_on: str, debtor_id: str = "D-1") -> dict:
    return {
        "invoice_number": invoice,
        "amount": "1000.00",
        "currency": "EUR",
        "issued_on": str(datetime.fromisoformat(due_on).date() - timedelta(days=30)),
        "due_on": due_on,
        "debtor": {
            "id": debtor_id,
            "legal_name": "Lefèvre Transports SARL",
            "country": "FR",
            "contacts": [{"name": "Paul Roche", "email": "paul@lefevre.example"}],
        },
    }


@pytest.fixture
def tenant() -> str:
    return f"idem-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def api(claims_service, tenant):
    async with httpx.AsyncClient(
        base_url=claims_service.url, timeout=30, headers=auth(tenant, *SCOPES)
    ) as client:
        yield client


@pytest.fixture
def due_on(claims_service) -> str:
    return str(claims_service.today - timedelta(days=20))


async def register(api, invoice: str, due_on: str, **headers) -> dict:
    answer = await api.post("/v1/claims", json=claim_body(invoice, due_on), headers=headers)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_a_key_reused_on_another_claim_records_that_payment(api, due_on, claims_service):
    """The lost payment: key K pays 100.00 on claim 1, then K pays 250.00 on claim 2. Both are
    recorded; neither answer is a replay."""
    one = await register(api, "P-1", due_on)
    two = await register(api, "P-2", due_on)
    received_on = str(claims_service.today)
    first = await api.post(
        f"/v1/claims/{one['id']}/payments",
        json={"amount": "100.00", "received_on": received_on},
        headers={"Idempotency-Key": "K"},
    )
    second = await api.post(
        f"/v1/claims/{two['id']}/payments",
        json={"amount": "250.00", "received_on": received_on},
        headers={"Idempotency-Key": "K"},
    )
    assert first.status_code == second.status_code == 201, second.text
    assert first.json()["paid"] == "100.00"
    assert second.json()["paid"] == "250.00"
    assert "idempotent-replayed" not in first.headers
    assert "idempotent-replayed" not in second.headers


async def test_the_same_key_and_body_is_a_marked_replay_another_body_a_422(
    api, due_on, claims_service
):
    """Same key + same body: the first answer, marked ``Idempotent-Replayed: true``, nothing
    recorded twice; same key + another body: 422 naming the key; the key on another command of
    the same claim is another request."""
    claim = await register(api, "R-1", due_on)
    url = f"/v1/claims/{claim['id']}"
    body = {"amount": "300.00", "received_on": str(claims_service.today)}
    first = await api.post(f"{url}/payments", json=body, headers={"Idempotency-Key": "pay-1"})
    retry = await api.post(f"{url}/payments", json=body, headers={"Idempotency-Key": "pay-1"})
    assert first.status_code == retry.status_code == 201
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.json() == first.json()
    other = await api.post(
        f"{url}/payments",
        json={**body, "amount": "301.00"},
        headers={"Idempotency-Key": "pay-1"},
    )
    assert other.status_code == 422, other.text
    assert "Idempotency-Key" in other.text
    credit = await api.post(
        f"{url}/adjustments",
        json={"amount": "10.00", "credit_note_reference": "AV-9"},
        headers={"Idempotency-Key": "pay-1"},
    )
    assert credit.status_code == 201, credit.text
    assert "idempotent-replayed" not in credit.headers
    assert (await api.get(url)).json()["paid"] == "300.00"


async def test_a_client_retry_without_a_key_records_nothing_twice(api, due_on, claims_service):
    """Promises, payments, acknowledgements, plans and closing commands retried without an
    Idempotency-Key: the retry is a marked replay and the log holds each fact once; a payment
    that differs (another reference) or carries its own key is another payment."""
    claim = await register(api, "U-1", due_on)
    url = f"/v1/claims/{claim['id']}"
    today = claims_service.today
    requests = [
        ("payments", {"amount": "100.00", "received_on": str(today)}),
        (
            "promises",
            {"amount": "200.00", "promised_on": str(today + timedelta(days=9)), "source": "call"},
        ),
        ("acknowledgements", {"acknowledged_on": str(today)}),
    ]
    for path, body in requests:
        first = await api.post(f"{url}/{path}", json=body)
        retry = await api.post(f"{url}/{path}", json=body)
        assert (first.status_code, retry.status_code) == (201, 201), retry.text
        assert "idempotent-replayed" not in first.headers
        assert retry.headers["idempotent-replayed"] == "true", path
        assert retry.json() == first.json()
    another = {"amount": "100.00", "received_on": str(today), "reference": "VIR-2"}
    assert (await api.post(f"{url}/payments", json=another)).status_code == 201
    keyed = {"amount": "100.00", "received_on": str(today)}
    assert (
        await api.post(f"{url}/payments", json=keyed, headers={"Idempotency-Key": "second"})
    ).status_code == 201
    assert (await api.get(url)).json()["paid"] == "300.00"

    for attempt in range(2):
        answer = await api.post(f"{url}/write-off", json={"reason": "insolvent"})
        assert answer.status_code == 200, answer.text
        assert answer.headers.get("idempotent-replayed") == (None, "true")[attempt]
    events = [e["type"] for e in (await api.get(f"{url}/timeline")).json()["events"]]
    counts = {
        kind: events.count(f"amiable.claims.{kind}.v1")
        for kind in (
            "payment-received",
            "promise-to-pay-recorded",
            "debt-acknowledged",
            "claim-written-off",
        )
    }
    assert counts == {
        "payment-received": 3,
        "promise-to-pay-recorded": 1,
        "debt-acknowledged": 1,
        "claim-written-off": 1,
    }


async def test_a_credit_note_reference_credits_a_claim_once(api, due_on):
    """Duplicate credit-note reference: another amount is a 409 naming the reference; the same
    request again (no key) records nothing; another claim may carry the reference."""
    claim = await register(api, "C-1", due_on)
    other_claim = await register(api, "C-2", due_on)
    url = f"/v1/claims/{claim['id']}/adjustments"
    first = await api.post(url, json={"amount": "100.00", "credit_note_reference": "AV-1"})
    assert first.status_code == 201, first.text
    again = await api.post(url, json={"amount": "100.00", "credit_note_reference": "AV-1"})
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    other = await api.post(url, json={"amount": "50.00", "credit_note_reference": "AV-1"})
    assert other.status_code == 409, other.text
    assert other.json()["credit_note_reference"] == "AV-1"
    assert "AV-1" in other.json()["detail"]
    elsewhere = await api.post(
        f"/v1/claims/{other_claim['id']}/adjustments",
        json={"amount": "50.00", "credit_note_reference": "AV-1"},
    )
    assert elsewhere.status_code == 201, elsewhere.text
    timeline = (await api.get(f"/v1/claims/{claim['id']}/timeline")).json()["events"]
    assert [e["type"] for e in timeline].count("amiable.claims.claim-adjusted.v1") == 1


async def test_keyed_ids_never_collide_across_tenants(claims_service, due_on):
    """The cross-tenant id collision: tenant ``<t>/claim`` with key ``k`` and tenant ``<t>``
    with key ``claim/k`` named one claim id when parts were joined with ``/``."""
    base = f"x-{uuid.uuid4().hex[:8]}"
    claims = []
    for tenant, key in ((f"{base}/claim", "k"), (base, "claim/k")):
        async with httpx.AsyncClient(
            base_url=claims_service.url, timeout=30, headers=auth(tenant, *SCOPES)
        ) as api:
            claim = await register(api, f"X-{len(claims)}", due_on, **{"Idempotency-Key": key})
            claims.append((tenant, claim))
    assert claims[0][1]["id"] != claims[1][1]["id"]
    for tenant, claim in claims:
        async with httpx.AsyncClient(
            base_url=claims_service.url, timeout=30, headers=auth(tenant, *SCOPES)
        ) as api:
            read = await api.get(f"/v1/claims/{claim['id']}")
            assert read.status_code == 200
            assert read.json()["invoice_number"] == claim["invoice_number"]


async def test_another_tenants_event_on_a_claim_id_never_changes_the_claim(
    claims_service, infra, api, tenant, due_on
):
    """Every projection checks the event's tenant against the row: a PaymentReceived of
    another tenant whose subject is this tenant's claim is applied (on its own tenant's
    timeline) but changes nothing on the claim."""
    claim = await register(api, "T-1", due_on)
    claim_id = uuid.UUID(claim["id"])
    intruder = f"{tenant}-other"
    now = datetime.now(UTC)
    forged = Envelope(
        id=uuid.uuid4(),
        subject=str(claim_id),
        time=now,
        tenant=intruder,
        debtor_id="D-1",
        correlation_id=uuid.uuid4(),
        data=PaymentReceived(
            claim_id=claim_id,
            payment_id=uuid.uuid4(),
            amount=Decimal("1000.00"),
            currency="EUR",
            received_on=claims_service.today,
            recorded_at=now,
        ),
    )
    log = EventLog(infra.bootstrap, topic=claims_service.env["AMIABLE_TOPIC"], client_id="forger")
    await log.start()
    try:
        await log.append([forged])
    finally:
        await log.stop()
    schema = claims_service.env["AMIABLE_PROJECTION_SCHEMA"]
    engine = create_engine(infra.database_url, "amiable_claims")
    try:

        async def applied():
            async with engine.connect() as conn:
                return await conn.scalar(
                    text(f'SELECT tenant FROM "{schema}".claim_events WHERE event_id = :id'),
                    {"id": forged.id},
                )

        assert await eventually(applied) == intruder
    finally:
        await engine.dispose()
    after = (await api.get(f"/v1/claims/{claim_id}")).json()
    assert after["paid"] == "0.00"
    assert after["status"] == claim["status"]
    timeline = (await api.get(f"/v1/claims/{claim_id}/timeline")).json()["events"]
    assert forged.id not in {uuid.UUID(e["event_id"]) for e in timeline}
    async with httpx.AsyncClient(
        base_url=claims_service.url, timeout=30, headers=auth(intruder, *SCOPES)
    ) as theirs:
        assert (await theirs.get(f"/v1/claims/{claim_id}")).status_code == 404
