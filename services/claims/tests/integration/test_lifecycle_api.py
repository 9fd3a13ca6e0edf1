"""A claim's life through the API: payments, credit notes, plans, promises, closure, amounts
due, timeline and as-of reads, on the real service, broker and database."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support import auth

pytestmark = pytest.mark.integration

SCOPES = ("claims:write", "claims:read")


def body(invoice: str, amount: str = "10000.00", due_on: str = "2026-01-15", **debtor) -> dict:
    return {
        "invoice_number": invoice,
        "amount": amount,
        "currency": "EUR",
        "issued_on": "2025-12-16",
        "due_on": due_on,
        "debtor": {
            "id": debtor.get("id", "D-1"),
            "legal_name": "Lefèvre Transports SARL",
            "country": "FR",
            "contacts": debtor.get(
                "contacts", [{"name": "Paul Roche", "email": "paul@lefevre.example"}]
            ),
        },
    }


@pytest.fixture
def tenant() -> str:
    return f"life-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def api(claims_service, tenant):
    async with httpx.AsyncClient(
        base_url=claims_service.url, timeout=30, headers=auth(tenant, *SCOPES)
    ) as client:
        yield client


async def register(api, invoice: str, **kwargs) -> dict:
    answer = await api.post("/v1/claims", json=body(invoice, **kwargs))
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_the_worked_interest_example_and_a_settling_payment(api):
    claim = await register(api, "W-1")
    url = f"/v1/claims/{claim['id']}"

    due = (await api.get(f"{url}/amount-due", params={"as_of": "2026-09-30"})).json()
    assert due["interest"] == "858.83"  # 552.58 (166 days) + 306.25 (92 days) at 12.15 %
    assert due["fixed_fee"] == "40.00"
    assert due["total"] == "10898.83"
    assert [line["kind"] for line in due["lines"]].count("interest") == 2
    assert due["rule"].startswith("FR: ECB MRO + 10 pts")

    paid = await api.post(
        f"{url}/payments", json={"amount": "10000.00", "received_on": "2026-09-30"}
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["status"] == "qualified"  # fee and interest first: principal remains
    after = (await api.get(f"{url}/amount-due", params={"as_of": "2026-09-30"})).json()
    assert after["principal_outstanding"] == "898.83"
    assert after["total"] == "898.83"

    rest = (await api.get(f"{url}/amount-due")).json()["total"]
    settled = await api.post(f"{url}/payments", json={"amount": rest, "received_on": "2026-11-24"})
    assert settled.json()["status"] == "settled"
    extra = await api.post(f"{url}/payments", json={"amount": "15.00", "received_on": "2026-11-24"})
    assert extra.status_code == 201  # a payment on a settled claim is an overpayment
    assert (await api.get(f"{url}/amount-due")).json()["overpaid"] == "15.00"

    timeline = (await api.get(f"{url}/timeline")).json()["events"]
    assert [e["type"].split(".")[2] for e in timeline] == [
        "claim-registered",
        "claim-qualified",
        "payment-received",
        "payment-received",
        "claim-settled",
        "payment-received",
    ]
    assert timeline[2]["summary"] == "Payment of 10000.00 EUR received on 2026-09-30"
    assert timeline[4]["causation_id"] == timeline[3]["event_id"]
    assert all(e["source"] == "claims" for e in timeline)

    before_settling = timeline[3]["time"]
    earlier = (await api.get(url, params={"as_of": timeline[2]["time"]})).json()
    assert earlier["status"] == "qualified"
    assert earlier["paid"] == "10000.00"
    assert (await api.get(url, params={"as_of": before_settling})).json()["status"] == "settled"
    assert (await api.get(url, params={"as_of": "2020-01-01T00:00:00Z"})).status_code == 404


async def test_a_back_dated_payment_changes_the_amount_due_for_later_dates(api):
    claim = await register(api, "B-1")
    url = f"/v1/claims/{claim['id']}"
    before = (await api.get(f"{url}/amount-due", params={"as_of": "2026-06-30"})).json()
    await api.post(f"{url}/payments", json={"amount": "5000.00", "received_on": "2026-02-01"})
    after = (await api.get(f"{url}/amount-due", params={"as_of": "2026-06-30"})).json()
    assert float(after["interest_accrued"]) < float(before["interest_accrued"])


async def test_commands_on_closed_claims_are_409_and_bad_ones_422(api, tenant):
    claim = await register(api, "C-1")
    url = f"/v1/claims/{claim['id']}"
    wrong = await api.post(
        f"{url}/payments", json={"amount": "1.00", "currency": "USD", "received_on": "2026-11-01"}
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "currency"
    assert (
        await api.post(f"{url}/payments", json={"amount": 1, "received_on": "2026-11-01"})
    ).status_code == 422

    written_off = await api.post(f"{url}/write-off", json={"reason": "debtor insolvent"})
    assert written_off.json()["status"] == "written_off"
    again = await api.post(f"{url}/cancel", json={"reason": "credit note"})
    assert again.status_code == 409
    assert again.json()["status_of_claim"] == "written_off"
    promise = await api.post(
        f"{url}/promises", json={"amount": "10.00", "promised_on": "2026-12-31", "source": "call"}
    )
    assert promise.status_code == 409

    other = await api.post(
        f"{url}/write-off", json={"reason": "x"}, headers=auth("someone-else", *SCOPES)
    )
    assert other.status_code == 404


async def test_a_rejected_claim_is_corrected_then_requalified(api):
    claim = await register(api, "R-1", contacts=[])
    assert claim["status"] == "rejected"
    assert claim["rejection_reasons"] == ["missing_debtor_contact"]
    url = f"/v1/claims/{claim['id']}"
    amended = await api.patch(
        url,
        json={
            "contacts": [{"name": "Inès Marchand", "email": "ines@lefevre.example"}],
            "purchase_order": "PO-9",
        },
    )
    assert amended.status_code == 200, amended.text
    assert amended.json()["debtor"]["contacts"][0]["email"] == "ines@lefevre.example"
    assert amended.json()["purchase_order"] == "PO-9"
    requalified = await api.post(f"{url}/requalify")
    assert requalified.json()["status"] == "qualified"
    kinds = [e["type"] for e in (await api.get(f"{url}/timeline")).json()["events"]]
    assert kinds[-2:] == ["amiable.claims.claim-amended.v1", "amiable.claims.claim-qualified.v1"]


async def test_a_look_alike_claim_is_rejected_as_a_duplicate(api):
    first = await register(api, "L-1", amount="700.00")
    second = await register(api, "L-1bis", amount="700.00")
    assert second["status"] == "rejected"
    assert second["rejection_reasons"] == ["duplicate"]
    assert first["status"] == "qualified"


async def test_plans_promises_credit_notes_and_acknowledgements(api):
    claim = await register(api, "P-1", amount="1200.00", due_on="2026-10-15")
    url = f"/v1/claims/{claim['id']}"
    total = (await api.get(f"{url}/amount-due")).json()["total"]
    bad = await api.post(
        f"{url}/payment-plan", json={"installments": [{"due_on": "2026-12-15", "amount": "100.00"}]}
    )
    assert bad.status_code == 422
    assert "balance due is" in bad.json()["errors"][0]["reason"]
    half = f"{float(total) / 2:.2f}"
    rest = f"{float(total) - float(half):.2f}"
    plan = await api.post(
        f"{url}/payment-plan",
        json={
            "installments": [
                {"due_on": "2026-12-15", "amount": half},
                {"due_on": "2027-01-15", "amount": rest},
            ]
        },
    )
    assert plan.status_code == 201, plan.text
    assert [i["paid"] for i in plan.json()["plan"]["installments"]] == [False, False]
    second = await api.post(
        f"{url}/payment-plan", json={"installments": [{"due_on": "2027-03-01", "amount": total}]}
    )
    assert second.status_code == 409
    assert "already running" in second.json()["detail"]

    promise = await api.post(
        f"{url}/promises", json={"amount": half, "promised_on": "2026-12-10", "source": "email"}
    )
    assert promise.json()["promises"][0]["state"] == "open"
    kept = await api.post(f"{url}/payments", json={"amount": half, "received_on": "2026-11-24"})
    assert kept.json()["promises"][0]["state"] == "kept"
    assert kept.json()["plan"]["installments"][0]["paid"] is True

    credit = await api.post(
        f"{url}/adjustments", json={"amount": "50.00", "credit_note_reference": "AV-77"}
    )
    assert credit.status_code == 201
    assert credit.json()["credits"][0]["credit_note_reference"] == "AV-77"
    ack = await api.post(f"{url}/acknowledgements", json={"acknowledged_on": "2026-11-20"})
    assert ack.json()["prescription_date"] == "2031-11-24"  # the part payment came later


async def test_a_retried_payment_with_the_same_idempotency_key_is_recorded_once(api):
    claim = await register(api, "I-1", amount="900.00")
    url = f"/v1/claims/{claim['id']}/payments"
    body = {"amount": "300.00", "received_on": "2026-11-20", "reference": "VIR-77"}
    first = await api.post(url, json=body, headers={"Idempotency-Key": "pay-VIR-77"})
    retry = await api.post(url, json=body, headers={"Idempotency-Key": "pay-VIR-77"})
    other = await api.post(url, json=body, headers={"Idempotency-Key": "pay-VIR-78"})
    assert first.status_code == retry.status_code == other.status_code == 201
    assert first.json()["paid"] == retry.json()["paid"] == "300.00"
    assert other.json()["paid"] == "600.00"
    timeline = (await api.get(f"/v1/claims/{claim['id']}/timeline")).json()["events"]
    assert [e["type"] for e in timeline].count("amiable.claims.payment-received.v1") == 2
