"""A parked debtor account is honest at the API: a command on it answers 503 with the reason's
category (an exception type, no personal data, no SQL) and the claim id, instead of deciding on
a state that misses events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from amiable_events.claims import PaymentReceived
from amiable_events.envelope import Envelope
from amiable_events.producer import EventLog
from tests.support import auth, eventually

pytestmark = pytest.mark.integration

WRITE = ("claims:write", "claims:read")


def _body(today) -> dict:
    return {
        "invoice_number": "INV-P1",
        "amount": "100.00",
        "currency": "EUR",
        "issued_on": str(today - timedelta(days=54)),
        "due_on": str(today - timedelta(days=24)),
        "debtor": {
            "id": "C-parked",
            "legal_name": "Durand Industries SAS",
            "country": "FR",
            "contacts": [{"name": "Claire Martin", "email": "claire.martin@durand.example"}],
        },
    }


async def test_a_command_on_a_parked_account_answers_503_with_reason_and_claim(
    claims_service, infra, today
) -> None:
    tenant = f"parked-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=claims_service.url, timeout=30) as api:
        created = await api.post("/v1/claims", json=_body(today), headers=auth(tenant, *WRITE))
        assert created.status_code == 201, created.text
        claim_id = created.json()["id"]
        # A poison event on the log (written by another producer): its amount overflows the
        # projection's Numeric(20, 4), so applying it fails and the account is parked.
        poison = Envelope(
            id=uuid.uuid4(),
            subject=claim_id,
            time=datetime.now(UTC),
            tenant=tenant,
            debtor_id="C-parked",
            correlation_id=uuid.UUID(claim_id),
            data=PaymentReceived(
                claim_id=uuid.UUID(claim_id),
                payment_id=uuid.uuid4(),
                amount=Decimal(10) ** 27,
                currency="EUR",
                received_on=today,
                recorded_at=datetime.now(UTC),
            ),
        )
        log = EventLog(
            infra.bootstrap, topic=claims_service.env["AMIABLE_TOPIC"], client_id="test-poison"
        )
        await log.start()
        try:
            await log.append([poison])
        finally:
            await log.stop()

        async def refused() -> httpx.Response | None:
            answer = await api.post(
                f"/v1/claims/{claim_id}/payments",
                json={"amount": "10.00", "received_on": str(today)},
                headers={**auth(tenant, *WRITE), "Idempotency-Key": uuid.uuid4().hex},
            )
            return answer if answer.status_code == 503 else None

        answer = await eventually(refused, timeout=30, interval=0.2)
        problem = answer.json()
        assert answer.headers["retry-after"]
        assert problem["title"] == "Debtor account parked"
        assert problem["claim_id"] == claim_id
        assert problem["reason"].isidentifier()  # the exception type, nothing more
        assert "pii:v1:" not in answer.text and "INSERT" not in answer.text
    # The service's log holds the failure, but no sealed value and no SQL parameter.
    assert_log_clean(claims_service.log_path.read_text(errors="replace"))


def assert_log_clean(text: str) -> None:
    assert "parked account" in text
    assert "pii:v1:" not in text.replace("pii:v1:[redacted]", "")
    assert "[parameters:" not in text


async def test_a_promise_dated_9999_on_the_log_does_not_park_its_account(
    claims_service, infra, today
) -> None:
    """Finding: a promise dated 9999-12-31 answered 201 and parked the account (its timer's
    due date overflowed). One already on the log must apply."""
    from datetime import date

    from amiable_events.claims import PromiseToPayRecorded

    tenant = f"promise-{uuid.uuid4().hex[:8]}"
    body = {**_body(today), "debtor": {**_body(today)["debtor"], "id": "C-promise"}}
    async with httpx.AsyncClient(base_url=claims_service.url, timeout=30) as api:
        created = await api.post("/v1/claims", json=body, headers=auth(tenant, *WRITE))
        assert created.status_code == 201, created.text
        claim_id = created.json()["id"]
        promise = Envelope(
            id=uuid.uuid4(),
            subject=claim_id,
            time=claims_service.now(),
            tenant=tenant,
            debtor_id="C-promise",
            correlation_id=uuid.UUID(claim_id),
            data=PromiseToPayRecorded(
                claim_id=uuid.UUID(claim_id),
                promise_id=uuid.uuid4(),
                amount=Decimal("10.00"),
                promised_on=date(9999, 12, 31),
                source_channel="call",
                grace_days=3,
                recorded_at=claims_service.now(),  # the payment below falls in its window
            ),
        )
        log = EventLog(
            infra.bootstrap, topic=claims_service.env["AMIABLE_TOPIC"], client_id="test-promise"
        )
        await log.start()
        try:
            await log.append([promise])
        finally:
            await log.stop()

        async def answered() -> httpx.Response | None:
            answer = await api.post(
                f"/v1/claims/{claim_id}/payments",
                json={"amount": "10.00", "received_on": str(today)},
                headers={**auth(tenant, *WRITE), "Idempotency-Key": uuid.uuid4().hex},
            )
            parked = answer.status_code == 503 and "parked" in answer.text
            # another 503 is the read model catching up under load: ask again
            return answer if answer.status_code == 201 or parked else None

        answer = await eventually(answered, timeout=30, interval=0.2)
        assert answer.status_code == 201, answer.text


async def test_nul_characters_on_the_log_neither_park_nor_wedge_the_projection(
    claims_service, infra, today
) -> None:
    """Finding: a NUL in a legal name or an imported invoice number was appended, then parked
    its debtor account for good (PostgreSQL stores no U+0000). The API refuses NUL now; one
    already on the log (another producer) is stored as U+FFFD, and a NUL in the key, which no
    account could hold, goes to the dead-letter topic while the projection goes on."""
    from amiable_claims.domain.commands import RegisterClaim
    from amiable_claims.domain.decide import decide_registration
    from amiable_events.claims import Contact, Debtor
    from tests.claims_givens import context

    tenant = f"nul-{uuid.uuid4().hex[:8]}"
    debtor = Debtor(
        id="C-nul",
        legal_name="Durand\x00 SAS",
        country="FR",
        language="fr-FR",
        timezone="Europe/Paris",
        contacts=(Contact(email="pii:v1:sealed-email"),),
    )
    registered, _ = decide_registration(
        None,
        RegisterClaim(
            tenant=tenant,
            invoice_number="INV\x00-1",
            amount=Decimal("100.00"),
            currency="EUR",
            issued_on=today - timedelta(days=40),
            due_on=today - timedelta(days=10),
            debtor=debtor,
            description="note\x00",
        ),
        context(claims_service.now(), tenant=tenant),
    )

    def envelope(data, debtor_id: str) -> Envelope:
        return Envelope(
            id=uuid.uuid4(),
            subject=str(data.claim_id),
            time=claims_service.now(),
            tenant=tenant,
            debtor_id=debtor_id,
            correlation_id=data.claim_id,
            data=data,
        )

    poisoned_key = envelope(registered.model_copy(update={"claim_id": uuid.uuid4()}), "C\x00-x")
    log = EventLog(infra.bootstrap, topic=claims_service.env["AMIABLE_TOPIC"], client_id="nul")
    await log.start()
    try:
        await log.append([envelope(registered, "C-nul"), poisoned_key])
    finally:
        await log.stop()

    async with httpx.AsyncClient(base_url=claims_service.url, timeout=30) as api:
        headers = auth(tenant, *WRITE, "admin")

        async def readable() -> httpx.Response | None:
            answer = await api.get(f"/v1/claims/{registered.claim_id}", headers=headers)
            return answer if answer.status_code == 200 else None

        claim = (await eventually(readable, timeout=30)).json()
        assert claim["invoice_number"] == "INV\ufffd-1"
        assert claim["debtor"]["legal_name"] == "Durand\ufffd SAS"
        assert (await api.get("/admin/parked", headers=headers)).json() == {"accounts": []}
        # The projection goes on: the next claim of the same debtor registers and reads.
        after = await api.post(
            "/v1/claims",
            json={**_body(today), "debtor": {**_body(today)["debtor"], "id": "C-nul"}},
            headers=headers,
        )
        assert after.status_code == 201, after.text
