"""A claim's life through the API: payments, credit notes, plans, promises, closure, amounts
due, timeline and as-of reads, on the real service, broker and database.

The whole module runs twice, with the service's clock frozen at two instants a year apart, and
makes the same assertions: every date that must lie before or after the service's today is
computed from it. The worked interest example is a fixed historical one (EUR 10,000 due
2026-01-15, read as of 2026-09-30): both instants lie after it.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import httpx
import pytest

from tests.support import FROZEN_AT, auth, eventually, frozen

#: Two instants a year apart, both after the worked example's 2026-09-30.
CLOCKS = [FROZEN_AT, FROZEN_AT + timedelta(days=365)]

pytestmark = [
    pytest.mark.integration,
    pytest.mark.parametrize(
        "claims_service", CLOCKS, indirect=True, ids=[f"today={c.date()}" for c in CLOCKS]
    ),
]

SCOPES = ("claims:write", "claims:read")


def days(day: date, n: int) -> str:
    return str(day + timedelta(days=n))


def body(
    invoice: str,
    amount: str = "10000.00",
    due_on: str = "2026-01-15",
    issued_on: str = "2025-12-16",
    **debtor,
) -> dict:
    return {
        "invoice_number": invoice,
        "amount": amount,
        "currency": "EUR",
        "issued_on": issued_on,
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


async def test_the_worked_interest_example_and_a_settling_payment(
    api, claims_service, service_process, today
):
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

    # A day later: the clock of a service moves only when the test moves it, so a second process
    # over the module's log (its own schema) reads the clock one day on.
    tomorrow = today + timedelta(days=1)
    later = service_process(
        "claims",
        topic=claims_service.env["AMIABLE_TOPIC"],
        projection_schema=f"later_{uuid.uuid4().hex[:10]}",
        consumer_group=f"later-{uuid.uuid4().hex[:10]}",
        clock=frozen(claims_service.now() + timedelta(days=1)),
    )
    later.start().wait_ready()
    async with httpx.AsyncClient(base_url=later.url, timeout=30, headers=api.headers) as api:

        async def caught_up():
            answer = await api.get(url)
            return answer.status_code == 200 and answer.json()["paid"] == "10000.00"

        await eventually(caught_up)
        rest = (await api.get(f"{url}/amount-due")).json()["total"]
        assert float(rest) > 898.83  # a day's more interest on the principal left
        settled = await api.post(
            f"{url}/payments", json={"amount": rest, "received_on": str(tomorrow)}
        )
        assert settled.json()["status"] == "settled"
        extra = await api.post(
            f"{url}/payments", json={"amount": "15.00", "received_on": str(tomorrow)}
        )
        assert extra.status_code == 201  # a payment on a settled claim is an overpayment
        assert (await api.get(f"{url}/amount-due")).json()["overpaid"] == "15.00"
        await _the_timeline_and_as_of_reads(api, url)


async def _the_timeline_and_as_of_reads(api, url: str) -> None:
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

    before_settling = timeline[3]["time"]  # the day after the first payment
    assert timeline[2]["time"] < before_settling
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


async def test_commands_on_closed_claims_are_409_and_bad_ones_422(api, tenant, today):
    claim = await register(api, "C-1")
    url = f"/v1/claims/{claim['id']}"
    wrong = await api.post(
        f"{url}/payments",
        json={"amount": "1.00", "currency": "USD", "received_on": days(today, -23)},
    )
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "currency"
    assert (
        await api.post(f"{url}/payments", json={"amount": 1, "received_on": days(today, -23)})
    ).status_code == 422

    written_off = await api.post(f"{url}/write-off", json={"reason": "debtor insolvent"})
    assert written_off.json()["status"] == "written_off"
    again = await api.post(f"{url}/cancel", json={"reason": "credit note"})
    assert again.status_code == 409
    assert again.json()["status_of_claim"] == "written_off"
    promise = await api.post(
        f"{url}/promises",
        json={"amount": "10.00", "promised_on": days(today, 37), "source": "call"},
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


async def test_plans_promises_credit_notes_and_acknowledgements(api, today):
    claim = await register(
        api, "P-1", amount="1200.00", issued_on=days(today, -70), due_on=days(today, -40)
    )
    url = f"/v1/claims/{claim['id']}"
    total = (await api.get(f"{url}/amount-due")).json()["total"]
    bad = await api.post(
        f"{url}/payment-plan",
        json={"installments": [{"due_on": days(today, 21), "amount": "100.00"}]},
    )
    assert bad.status_code == 422
    assert "balance due is" in bad.json()["errors"][0]["reason"]
    half = f"{float(total) / 2:.2f}"
    rest = f"{float(total) - float(half):.2f}"
    plan = await api.post(
        f"{url}/payment-plan",
        json={
            "installments": [
                {"due_on": days(today, 21), "amount": half},
                {"due_on": days(today, 52), "amount": rest},
            ]
        },
    )
    assert plan.status_code == 201, plan.text
    assert [i["paid"] for i in plan.json()["plan"]["installments"]] == [False, False]
    second = await api.post(
        f"{url}/payment-plan",
        json={"installments": [{"due_on": days(today, 97), "amount": total}]},
    )
    assert second.status_code == 409
    assert "already running" in second.json()["detail"]

    promise = await api.post(
        f"{url}/promises", json={"amount": half, "promised_on": days(today, 16), "source": "email"}
    )
    assert promise.json()["promises"][0]["state"] == "open"
    kept = await api.post(f"{url}/payments", json={"amount": half, "received_on": str(today)})
    assert kept.json()["promises"][0]["state"] == "kept"
    assert kept.json()["plan"]["installments"][0]["paid"] is True

    credit = await api.post(
        f"{url}/adjustments", json={"amount": "50.00", "credit_note_reference": "AV-77"}
    )
    assert credit.status_code == 201
    assert credit.json()["credits"][0]["credit_note_reference"] == "AV-77"
    ack = await api.post(f"{url}/acknowledgements", json={"acknowledged_on": days(today, -4)})
    # five years (FR) from the latest interruption: the part payment and the plan, today
    assert ack.json()["prescription_date"] == str(today.replace(year=today.year + 5))


async def test_a_retried_payment_with_the_same_idempotency_key_is_recorded_once(api, today):
    claim = await register(api, "I-1", amount="900.00")
    url = f"/v1/claims/{claim['id']}/payments"
    body = {"amount": "300.00", "received_on": days(today, -4), "reference": "VIR-77"}
    first = await api.post(url, json=body, headers={"Idempotency-Key": "pay-VIR-77"})
    retry = await api.post(url, json=body, headers={"Idempotency-Key": "pay-VIR-77"})
    other = await api.post(url, json=body, headers={"Idempotency-Key": "pay-VIR-78"})
    assert first.status_code == retry.status_code == other.status_code == 201
    assert first.json()["paid"] == retry.json()["paid"] == "300.00"
    assert other.json()["paid"] == "600.00"
    timeline = (await api.get(f"/v1/claims/{claim['id']}/timeline")).json()["events"]
    assert [e["type"] for e in timeline].count("amiable.claims.payment-received.v1") == 2
