"""Issue 7, duplicate invoice numbers across replicas: two claims processes on one log and one
read model (replicas), each sent at once a POST /v1/claims and a one-row import with the same
invoice number. The reservation in PostgreSQL gives exactly one claim per number."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from collections import Counter
from datetime import timedelta

import httpx
import pytest

from amiable_events.db import create_engine
from tests.claims_givens import HEADER
from tests.support import auth

pytestmark = pytest.mark.integration

ROUNDS = 12


def row(invoice: str, issued_on, debtor: str) -> list[str]:
    return [
        invoice,
        "1200.00",
        "EUR",
        str(issued_on),
        str(issued_on + timedelta(days=30)),
        debtor,
        "Durand SAS",
        "FR",
        "Service comptable",
        "compta@durand.example",
        "+33123456789",
    ]


def one_row_csv(values: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerow(values)
    return out.getvalue().encode()


def claim_body(values: list[str]) -> dict:
    invoice, amount, currency, issued_on, due_on, debtor, name, country, _, email, _ = values
    return {
        "invoice_number": invoice,
        "amount": amount,
        "currency": currency,
        "issued_on": issued_on,
        "due_on": due_on,
        "debtor": {
            "id": debtor,
            "legal_name": name,
            "country": country,
            "contacts": [{"name": "Claire Martin", "email": email}],
        },
    }


async def test_concurrent_post_and_import_on_two_processes_give_one_claim_per_number(
    fresh_topic, service_process, unique
):
    topic = await fresh_topic("unique")
    replica = {
        "topic": topic,
        "projection_schema": f"unique_{unique}",
        "consumer_group": f"unique-{unique}",
    }
    first = service_process("claims", **replica).start().wait_ready()
    second = service_process("claims", **replica).start().wait_ready()
    tenant = f"uniq-{unique}"
    headers = auth(tenant, "claims:write", "claims:read")
    issued_on = first.today - timedelta(days=60)
    outcomes: Counter[str] = Counter()
    async with (
        httpx.AsyncClient(base_url=first.url, timeout=60, headers=headers) as one,
        httpx.AsyncClient(base_url=second.url, timeout=60, headers=headers) as two,
    ):
        for n in range(ROUNDS):
            # Each debtor differs, so the registrations take different account locks too.
            values = row(f"DUP-{n:03d}", issued_on, f"D-{n}")
            csv_headers = {"Content-Type": "text/csv"}
            answers = await asyncio.gather(
                one.post("/v1/claims", json=claim_body(values)),
                two.post("/v1/claims:import", content=one_row_csv(values), headers=csv_headers),
                two.post("/v1/claims", json=claim_body(values)),
                one.post("/v1/claims:import", content=one_row_csv(values), headers=csv_headers),
            )
            created = set()  # the claims the answers say they created
            for answer in answers:
                if answer.request.url.path.endswith(":import"):
                    assert answer.status_code == 200, answer.text
                    [result] = answer.json()["rows"]
                    outcomes[f"import {result['status']}"] += 1
                    if result["status"] == "created":
                        created.add(result["claim_id"])
                else:
                    assert answer.status_code in (201, 409), answer.text
                    outcomes[f"post {answer.status_code}"] += 1
                    if answer.status_code == 201:
                        created.add(answer.json()["id"])
            # Two imports of one row name one claim (its id derives from the invoice number)
            # and append the same events, which the projection applies once.
            assert len(created) == 1, [a.text for a in answers]
        listed = (await one.get("/v1/claims", params={"limit": 200})).json()["items"]
    numbers = Counter(claim["invoice_number"] for claim in listed)
    assert numbers == Counter({f"DUP-{n:03d}": 1 for n in range(ROUNDS)})
    print("outcomes over", ROUNDS, "rounds:", dict(outcomes))


async def test_a_reservation_whose_claim_never_reached_the_log_is_taken_over(infra):
    """A crash between the reservation and the append: the reservation names a claim the read
    model never gets; once stale it is taken over (here with no grace period)."""
    from amiable_claims.adapters.reservations import InvoiceReservations

    engine = create_engine(infra.database_url, "amiable_claims")
    try:
        reservations = InvoiceReservations(engine, grace=timedelta(0))
        tenant = f"phantom-{uuid.uuid4().hex[:8]}"
        ghost, claim = uuid.uuid4(), uuid.uuid4()
        assert await reservations.reserve(tenant, {"INV-1": (ghost, "D-1")}) == {}  # reserved
        [held] = (await reservations.reserve(tenant, {"INV-1": (claim, "D-2")})).values()
        assert held.claim_id == ghost  # held: the caller checks the read model
        assert held.stale  # no grace period here
        # the same claim's retry reuses it
        assert await reservations.reserve(tenant, {"INV-1": (ghost, "D-1")}) == {}
        assert await reservations.take_over(tenant, "INV-1", ghost, claim, "D-2")
        assert not await reservations.take_over(tenant, "INV-1", ghost, uuid.uuid4(), "D-3")
        assert await reservations.reserve(tenant, {"INV-1": (claim, "D-2")}) == {}
        [held] = (await reservations.reserve(tenant, {"INV-1": (ghost, "D-1")})).values()
        assert held.claim_id == claim
    finally:
        await engine.dispose()
