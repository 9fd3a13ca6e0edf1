"""Issue 7, part A, on a real claims process: each input that answered 500 (findings 1 to 7 of
the issue) now answers a 4xx problem+json naming the field, and leaves nothing behind: the
debtor's next claim is registered as usual."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import httpx
import jwt
import pytest

from tests.support import TEST_JWT_SECRET, auth

pytestmark = pytest.mark.integration

WRITE = ("claims:write", "claims:read")


@pytest.fixture
def tenant() -> str:
    return f"tenant-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def api(claims_service):
    async with httpx.AsyncClient(base_url=claims_service.url, timeout=15) as client:
        yield client


def claim(today, invoice: str = "INV-1", debtor: dict | None = None, **changes) -> dict:
    body = {
        "invoice_number": invoice,
        "amount": "1200.00",
        "currency": "EUR",
        "issued_on": str(today - timedelta(days=40)),
        "due_on": str(today - timedelta(days=10)),
        "debtor": {
            "id": "C-1",
            "legal_name": "Durand SAS",
            "country": "FR",
            "contacts": [{"name": "Claire Martin", "email": "claire@durand.example"}],
            **(debtor or {}),
        },
    }
    body.update(changes)
    return body


def assert_refused(answer: httpx.Response, field: str, status: int = 422) -> None:
    """A problem+json answer of ``status`` whose errors name ``field``."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == status
    assert field in [error["field"] for error in problem["errors"]], problem


def signed(**claims) -> dict[str, str]:
    token = jwt.encode({"exp": int(time.time()) + 600, **claims}, TEST_JWT_SECRET, "HS256")
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "claims",
    [
        {"tenant": "acme", "scope": 7},
        {"tenant": "acme", "scope": None},
        {"tenant": "ac\x00me", "scope": "claims:read"},
    ],
    ids=["scope-number", "scope-null", "tenant-nul"],
)
async def test_finding_1_a_token_claim_of_the_wrong_type_is_401(api, claims):
    answer = await api.get("/v1/claims", headers=signed(**claims))
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"due_on": "9995-01-01"}, "due_on"),
        ({"due_on": "9999-12-31"}, "due_on"),
        ({"issued_on": "0001-01-01"}, "issued_on"),
        ({"amount": "1" * 17}, "amount"),
        ({"invoice_number": "INV\x00-1"}, "invoice_number"),
        ({"invoice_number": "INV\u202e1-VNI"}, "invoice_number"),
        ({"debtor": {"id": "C\x00-1"}}, "debtor.id"),
        ({"debtor": {"legal_name": "Durand\x00 SAS"}}, "debtor.legal_name"),
        ({"debtor": {"timezone": "Europe/" + "x" * 300}}, "debtor.timezone"),
        ({"debtor": {"timezone": "Mars/Olympus_Mons"}}, "debtor.timezone"),
        (
            {"late_payment_terms": {"interest": {"kind": "fixed", "rate": "1" + "0" * 40}}},
            "late_payment_terms.interest.rate",
        ),
        ({"late_payment_terms": {"fixed_fee": "1" + "0" * 30}}, "late_payment_terms.fixed_fee"),
    ],
    ids=[
        "due-9995",
        "due-9999",
        "issued-year-1",
        "amount-17-digits",
        "nul-invoice",
        "bidi-invoice",
        "nul-debtor-id",
        "nul-legal-name",
        "long-timezone",
        "unknown-timezone",
        "40-digit-contract-rate",
        "30-digit-contract-fee",
    ],
)
async def test_finding_2_a_registration_out_of_bounds_is_422_and_parks_nothing(
    api, today, tenant, changes, field
):
    debtor = changes.pop("debtor", None)
    answer = await api.post(
        "/v1/claims", json=claim(today, debtor=debtor, **changes), headers=auth(tenant, *WRITE)
    )
    assert_refused(answer, field)

    # The debtor's account is not parked: the next claim for it is registered and readable.
    ok = await api.post("/v1/claims", json=claim(today), headers=auth(tenant, *WRITE))
    assert ok.status_code == 201, ok.text
    read = await api.get(ok.headers["location"], headers=auth(tenant, *WRITE))
    assert read.status_code == 200


async def test_findings_3_and_5_payments_promises_and_reads_out_of_bounds_are_422(
    api, today, tenant
):
    headers = auth(tenant, *WRITE)
    created = await api.post("/v1/claims", json=claim(today), headers=headers)
    assert created.status_code == 201, created.text
    url = created.headers["location"]

    huge = await api.post(
        f"{url}/payments",
        json={"amount": "1" + "0" * 27, "received_on": str(today)},
        headers=headers,
    )
    assert_refused(huge, "amount")
    # The poison promise of the issue: it answered 201 and parked the account.
    promise = await api.post(
        f"{url}/promises",
        json={"amount": "10.00", "promised_on": "9999-12-31", "source": "call"},
        headers=headers,
    )
    assert_refused(promise, "promised_on")

    due = await api.get(f"{url}/amount-due", params={"as_of": "9999-12-31"}, headers=headers)
    assert_refused(due, "as_of")
    statement = await api.get(
        "/v1/debtors/C-1/statement", params={"as_of": "9999-12-31"}, headers=headers
    )
    assert_refused(statement, "as_of")
    past = await api.get(url, params={"as_of": "0001-01-01T00:00:00+14:00"}, headers=headers)
    assert_refused(past, "as_of")

    # Nothing was parked: a payment on the claim is recorded and its figures are computed.
    paid = await api.post(
        f"{url}/payments", json={"amount": "200.00", "received_on": str(today)}, headers=headers
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["paid"] == "200.00"
    assert (await api.get(f"{url}/amount-due", headers=headers)).status_code == 200


async def test_finding_4_a_claim_due_before_the_rate_table_is_refused_with_the_reason(
    api, today, tenant
):
    """The ECB table starts in 2016: such a claim is refused at registration (its figures
    could never be computed), naming the date window."""
    answer = await api.post(
        "/v1/claims",
        json=claim(today, issued_on="2015-11-01", due_on="2015-12-31", governing_law="IT"),
        headers=auth(tenant, *WRITE),
    )
    assert_refused(answer, "due_on")
    reasons = [e["reason"] for e in answer.json()["errors"] if e["field"] == "due_on"]
    assert reasons == ["must be from 2017-01-01 to 2099-12-31"]


async def test_finding_6_kpi_periods_out_of_bounds_are_422(api, tenant):
    headers = auth(tenant, *WRITE)
    answer = await api.get("/v1/portfolio/kpis", params={"from": "0001-01-01"}, headers=headers)
    assert_refused(answer, "from")
    answer = await api.get("/v1/portfolio/kpis", params={"to": "9999-12-31"}, headers=headers)
    assert_refused(answer, "to")
    answer = await api.get(
        "/v1/portfolio/aged-balance", params={"as_of": "9999-12-31"}, headers=headers
    )
    assert_refused(answer, "as_of")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-base64!",
        "WyJ4Il0",  # base64 of ["x"], the old cursor shape
        "0001.zz",
        "99999999999999999999.00000000000000000000000000000000",
        "1\x00.00000000000000000000000000000000",
    ],
    ids=["garbage", "old-shape", "not-hex", "too-far", "nul"],
)
async def test_finding_7_a_forged_cursor_is_422(api, tenant, cursor):
    answer = await api.get("/v1/claims", params={"cursor": cursor}, headers=auth(tenant, *WRITE))
    assert_refused(answer, "cursor")


async def test_the_cursor_the_service_gives_pages_through_every_claim(api, today, tenant):
    headers = auth(tenant, *WRITE)
    for n in range(3):
        body = claim(today, invoice=f"INV-{n}", debtor={"id": f"C-{n}"})
        assert (await api.post("/v1/claims", json=body, headers=headers)).status_code == 201
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/v1/claims", params=params, headers=headers)).json()
        seen += [item["invoice_number"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Every claim once (the frozen clock registers them at one instant: then by id).
    assert sorted(seen) == ["INV-0", "INV-1", "INV-2"]
