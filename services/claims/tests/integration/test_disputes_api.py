"""The disputes service's events in the claims service, on the real service, broker and
database, appended to the log as the disputes service appends them: a resolution cancels or
reduces its claim, once, even when the claims service is killed in the middle of the reaction;
every dispute event is on its claim's timeline, its sealed free text opened (and ``[erased]``
after the debtor's erasure); the KPIs' dispute rate counts the first dispute of each claim; a
rebuild gives the live digest."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from amiable_events.catalog import REGISTRY
from amiable_events.db import create_engine
from amiable_events.disputes import (
    DisputeAssigned,
    DisputeCommented,
    DisputeOpened,
    DisputeResolved,
    HardshipDeclared,
)
from amiable_events.envelope import Envelope, decode
from amiable_events.ids import caused_id
from amiable_events.personal import ERASED, Sealer
from amiable_events.producer import EventLog
from amiable_events.service import KEYS_DATABASE
from tests.factories import registered
from tests.support import (
    auth,
    eventually,
    read_topic,
    rebuild_gives_live_digest,
    service_key_store,
)

pytestmark = pytest.mark.integration

PROCESS = Path(__file__).with_name("reacting_claims_process.py")
ADJUSTED = "amiable.claims.claim-adjusted.v1"
CANCELLED = "amiable.claims.claim-cancelled.v1"


def on_claim(tenant: str, debtor_id: str, event, time: datetime) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        subject=event.subject,
        time=time,
        tenant=tenant,
        debtor_id=debtor_id,
        correlation_id=uuid.uuid4(),
        data=event,
    )


def opened(claim_id, dispute_id, reason: str, at: datetime, amount="1000.00", **more):
    return DisputeOpened(
        claim_id=claim_id,
        dispute_id=dispute_id,
        reason=reason,
        disputed_amount=Decimal(amount),
        currency="EUR",
        whole_claim=amount == "1000.00",
        raised_by="debtor_contact",
        opened_at=at,
        acknowledge_by=at + timedelta(days=2),
        resolve_by=at + timedelta(days=30),
        **more,
    )


def resolved(claim_id, dispute_id, outcome: str, at: datetime, note: str, **more):
    values = dict(disputed_amount=Decimal("1000.00"), whole_claim=True)
    values.update(more)
    return DisputeResolved(
        claim_id=claim_id,
        dispute_id=dispute_id,
        outcome=outcome,
        resolution_note=note,
        currency="EUR",
        resolved_at=at,
        **values,
    )


async def test_resolutions_timelines_and_the_dispute_rate(
    infra, fresh_topic, service_process, unique
):
    topic = await fresh_topic("disputes")
    tenant, debtor = f"disputes-{unique}", "D-1"
    service = service_process(
        "claims",
        topic=topic,
        projection_schema=f"disputes_{unique}",
        consumer_group=f"disputes-{unique}",
    ).start()
    now, today = service.now(), service.today
    headers = auth(tenant, "claims:write", "claims:read", "debtors:erase")
    keys_engine = create_engine(infra.database_url, KEYS_DATABASE)
    log = EventLog(infra.bootstrap, topic=topic, client_id="disputes-test")
    await log.start()
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=15, headers=headers) as api:

            async def register(n: int) -> str:
                body = {
                    "invoice_number": f"DS-{n}",
                    "amount": "1000.00",
                    "currency": "EUR",
                    # a day apart: the same amount and dates would be a likely duplicate
                    "issued_on": str(today - timedelta(days=60 + n)),
                    "due_on": str(today - timedelta(days=30)),
                    "debtor": {
                        "id": debtor,
                        "legal_name": "Durand SAS",
                        "country": "FR",
                        "contacts": [{"name": "Claire", "email": "claire@durand.example"}],
                    },
                }
                answer = await api.post("/v1/claims", json=body)
                assert answer.status_code == 201, answer.text
                return answer.json()["id"]

            upheld, partly, rejected, hardship = [uuid.UUID(await register(n)) for n in range(4)]
            # Sealed as the disputes service seals them: with the debtor account's key.
            seal = await Sealer(service_key_store(keys_engine)).sealer_for(f"{tenant}:{debtor}")
            ids = {claim: uuid.uuid4() for claim in (upheld, partly, rejected, hardship)}
            at = now - timedelta(hours=2)
            events = [
                opened(
                    upheld,
                    ids[upheld],
                    "billing_error",
                    at,
                    description=seal("Claire says the invoice doubles the May order"),
                ),
                DisputeAssigned(
                    claim_id=upheld, dispute_id=ids[upheld], assignee="agent-7", assigned_at=at
                ),
                DisputeCommented(
                    claim_id=upheld,
                    dispute_id=ids[upheld],
                    comment=seal("Called Claire back"),
                    commented_at=at,
                ),
                resolved(upheld, ids[upheld], "upheld", now, seal("Order counted twice")),
                opened(partly, ids[partly], "quality_or_service", at, amount="600.00"),
                resolved(
                    partly,
                    ids[partly],
                    "partially_upheld",
                    now,
                    seal("Half the pallets damaged"),
                    disputed_amount=Decimal("600.00"),
                    whole_claim=False,
                    accepted_amount=Decimal("250.00"),
                ),
                opened(rejected, ids[rejected], "delivery", at),
                resolved(rejected, ids[rejected], "rejected", now, seal("Delivered, signed")),
                HardshipDeclared(
                    claim_id=hardship,
                    dispute_id=ids[hardship],
                    raised_by="debtor_contact",
                    declared_at=at,
                ),
            ]
            await log.append([on_claim(tenant, debtor, event, at) for event in events])

            async def claim(claim_id) -> dict:
                return (await api.get(f"/v1/claims/{claim_id}")).json()

            async def reacted() -> bool:
                return (await claim(upheld))["status"] == "cancelled" and (await claim(partly))[
                    "credits"
                ]

            await eventually(reacted, timeout=30)

            cancelled = await claim(upheld)
            assert cancelled["close_reason"] == f"dispute {ids[upheld]} upheld"
            reduced = await claim(partly)
            assert reduced["status"] == "qualified"
            assert reduced["outstanding"] == "750.00"
            assert reduced["credits"] == [
                {
                    "amount": "250.00",
                    "on": str(today),
                    "credit_note_reference": f"dispute:{ids[partly]}",
                }
            ]
            for untouched in (rejected, hardship):
                found = await claim(untouched)
                assert (found["status"], found["outstanding"]) == ("qualified", "1000.00")

            async def timeline(claim_id) -> list[dict]:
                answer = await api.get(f"/v1/claims/{claim_id}/timeline")
                assert answer.status_code == 200, answer.text
                return answer.json()["events"]

            entries = await timeline(upheld)
            by_type = {entry["type"]: entry for entry in entries}
            assert [e["type"] for e in entries][-5:] == [
                DisputeOpened.type,
                DisputeAssigned.type,
                DisputeCommented.type,
                DisputeResolved.type,
                CANCELLED,
            ]
            assert by_type[DisputeOpened.type]["source"] == "disputes"
            assert by_type[DisputeOpened.type]["summary"].startswith(
                "Dispute opened (billing error) on the whole claim by the debtor's contact"
            )
            assert by_type[DisputeOpened.type]["free_text"] == {
                "description": "Claire says the invoice doubles the May order"
            }
            assert by_type[DisputeCommented.type]["free_text"] == {"comment": "Called Claire back"}
            assert by_type[DisputeResolved.type]["free_text"] == {
                "resolution_note": "Order counted twice"
            }
            reaction = by_type[CANCELLED]
            assert reaction["actor"] == "service:claims"
            assert reaction["causation_id"] == str(by_type[DisputeResolved.type]["event_id"])
            assert reaction["summary"] == (
                f"Cancelled: dispute {ids[upheld]} upheld (credit note dispute:{ids[upheld]})"
            )
            assert reaction["free_text"] == {}
            assert HardshipDeclared.type in [e["type"] for e in await timeline(hardship)]

            # Three claims disputed today out of the four placed; the hardship is no dispute.
            period = {"from": str(today - timedelta(days=1)), "to": str(today)}
            kpis = (await api.get("/v1/portfolio/kpis", params=period)).json()
            (eur,) = kpis["currencies"]
            assert (eur["placed_count"], eur["disputed_count"]) == (4, 3)
            assert eur["dispute_rate"] == "0.7500"
            assert eur["disputed_by_reason"] == {
                "billing_error": 1,
                "delivery": 1,
                "quality_or_service": 1,
            }
            assert eur["cancelled_count"] == 1

            await rebuild_gives_live_digest(service)

            erased = await api.delete(f"/v1/debtors/{debtor}/personal-data")
            assert erased.status_code == 200, erased.text
            texts = [e["free_text"] for e in await timeline(upheld) if e["free_text"]]
            assert texts == [
                {"description": ERASED},
                {"comment": ERASED},
                {"resolution_note": ERASED},
            ]
    finally:
        await log.stop()
        await keys_engine.dispose()


async def test_a_resolution_reduces_its_claim_once_across_a_kill_mid_reaction(
    infra, fresh_topic, service_process, unique, tmp_path
):
    """The claims projection and reactions die right after appending the ClaimAdjusted and
    before committing their batch; the claims service started on the same tables appends it
    again with the same id, and the claim is reduced by the accepted amount once."""
    topic = await fresh_topic("disputes-crash")
    tenant, schema = f"disputes-crash-{unique}", f"disputes_crash_{unique}"
    registration = registered(1, tenant=tenant, debtor="D-1")
    claim_id = registration.data.claim_id
    dispute_id = uuid.uuid4()
    resolution = on_claim(
        tenant,
        "D-1",
        resolved(
            claim_id,
            dispute_id,
            "partially_upheld",
            registration.time + timedelta(days=40),
            "pii:v1:c2VhbGVk",
            disputed_amount=Decimal("600.00"),
            whole_claim=False,
            accepted_amount=Decimal("250.00"),
        ),
        registration.time + timedelta(days=40),
    )
    log = EventLog(infra.bootstrap, topic=topic, client_id="disputes-crash-test")
    await log.start()
    try:
        await log.append([registration, resolution])
    finally:
        await log.stop()
    env = {
        **os.environ,
        "BOOTSTRAP": infra.bootstrap,
        "DATABASE_URL": infra.database_url,
        "TOPIC": topic,
        "SCHEMA": schema,
        "GROUP": f"disputes-crash-{unique}",
        "OTEL_SDK_DISABLED": "true",
    }
    with (tmp_path / "crash.log").open("wb") as out:
        crashed = await asyncio.create_subprocess_exec(
            sys.executable, str(PROCESS), env=env, stdout=out, stderr=subprocess.STDOUT
        )
        await asyncio.wait_for(crashed.wait(), 120)
    assert crashed.returncode == -9, (tmp_path / "crash.log").read_text()

    async def adjustments() -> list[Envelope]:
        return [
            decode(REGISTRY, r.key, r.value, r.headers, r.partition, r.offset)
            for r in await read_topic(infra.bootstrap, topic)
            if dict(r.headers)["ce_type"] == ADJUSTED.encode()
        ]

    assert len(await adjustments()) == 1  # appended, then killed before the commit

    service = service_process(
        "claims", topic=topic, projection_schema=schema, consumer_group=f"claims-{unique}"
    ).start()
    service.wait_ready()
    await eventually(lambda: _count(adjustments(), 2), timeout=60)
    service.wait_ready()  # the re-appended one applied (dropped) too
    appended = await adjustments()
    assert {e.id for e in appended} == {caused_id(resolution.id, "claims", ADJUSTED)}
    assert all(e.causation_id == resolution.id for e in appended)

    headers = auth(tenant, "claims:read")
    async with httpx.AsyncClient(base_url=service.url, timeout=15, headers=headers) as api:
        found = (await api.get(f"/v1/claims/{claim_id}")).json()
        assert found["amount"] == "1251.00"
        assert found["outstanding"] == "1001.00"  # reduced by 250.00, once
        assert [c["credit_note_reference"] for c in found["credits"]] == [f"dispute:{dispute_id}"]
        timeline = (await api.get(f"/v1/claims/{claim_id}/timeline")).json()["events"]
        assert [e["type"] for e in timeline].count(ADJUSTED) == 1


async def _count(found, expected: int) -> bool:
    return len(await found) == expected
