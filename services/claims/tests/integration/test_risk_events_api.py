"""The risk service's events in the claims API, on the real service, broker and database: a
debtor's collective proceedings take the fixed fee out of its claims' amounts due, risk events
go on the timelines of the debtor's claims open when they are applied, the KPIs' risk mix
follows the assessments, and a rebuild gives the live digest."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import text

from amiable_claims.adapters.projector import ClaimsProjector
from amiable_claims.main import policy
from amiable_claims.settings import ClaimsSettings
from amiable_events.catalog import REGISTRY
from amiable_events.claims import ClaimCancelled
from amiable_events.db import create_engine
from amiable_events.envelope import Envelope
from amiable_events.producer import EventLog
from amiable_events.projection import rebuild
from amiable_events.risk import InsolvencyRecorded, Reason, RiskAssessed
from tests.factories import T0, registered
from tests.support import (
    auth,
    drop_schemas,
    eventually,
    rebuild_gives_live_digest,
)

pytestmark = pytest.mark.integration

ASSESSED = "amiable.risk.risk-assessed.v1"
INSOLVENCY = "amiable.risk.insolvency-recorded.v1"
WAIVED = "amiable.claims.fixed-fee-waived.v1"


def on_account(tenant: str, event) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        subject=event.subject,
        time=datetime.now(UTC),
        tenant=tenant,
        debtor_id=event.debtor_id,
        correlation_id=uuid.uuid4(),
        data=event,
    )


def assessed(debtor_id: str, today: date) -> RiskAssessed:
    return RiskAssessed(
        debtor_id=debtor_id,
        score=62,
        band=6,
        grade="D",
        segment="chronic_late_payer",
        scored_segment="chronic_late_payer",
        reasons=(Reason(code="days_late_trend", points=18, value="14.0"),),
        scorecard_version="test-1",
        as_of=today,
        assessed_at=datetime.combine(today, datetime.min.time(), UTC),
        trigger="time_passed",
    )


async def test_risk_events_on_claims_amounts_timelines_and_kpis(
    infra, fresh_topic, service_process, unique
):
    topic = await fresh_topic("risk-events")
    tenant = f"risk-{unique}"
    service = service_process(
        "claims",
        topic=topic,
        projection_schema=f"risk_events_{unique}",
        consumer_group=f"risk-events-{unique}",
    ).start()
    today = service.today
    opened_on = today - timedelta(days=20)
    headers = auth(tenant, "claims:write", "claims:read", "admin")

    async def register(api, number: str, debtor_id: str, due_on: date) -> str:
        body = {
            "invoice_number": number,
            "amount": "1000.00",
            "currency": "EUR",
            "issued_on": str(due_on - timedelta(days=30)),
            "due_on": str(due_on),
            "governing_law": "FR",
            "debtor": {
                "id": debtor_id,
                "legal_name": f"{debtor_id} SAS",
                "country": "FR",
                "contacts": [{"name": "Claire", "email": "claire@durand.example"}],
            },
        }
        answer = await api.post("/v1/claims", json=body, headers=headers)
        assert answer.status_code == 201, answer.text
        return answer.json()["id"]

    async def timeline(api, claim_id: str) -> list[dict]:
        answer = await api.get(f"/v1/claims/{claim_id}/timeline", headers=headers)
        return answer.json()["events"]

    async def fee(api, claim_id: str) -> str:
        answer = await api.get(f"/v1/claims/{claim_id}/amount-due", headers=headers)
        return answer.json()["fixed_fee"]

    log = EventLog(infra.bootstrap, topic=topic, client_id="risk-events-test")
    await log.start()
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=15) as api:
            # Fee falling due 9 days ago, after the opening; one due 39 days ago, before it.
            waived = await register(api, "R-1", "D-1", today - timedelta(days=10))
            kept = await register(api, "R-2", "D-1", today - timedelta(days=40))
            cancelled = await register(api, "R-3", "D-1", today - timedelta(days=10))
            other = await register(api, "R-4", "D-2", today - timedelta(days=10))
            answer = await api.post(
                f"/v1/claims/{cancelled}/cancel",
                json={"reason": "issued in error"},
                headers=headers,
            )
            assert answer.status_code == 200, answer.text
            assert [await fee(api, waived), await fee(api, kept)] == ["40.00", "40.00"]

            insolvency = InsolvencyRecorded(
                debtor_id="D-1",
                kind="receivership",
                opened_on=opened_on,
                reference="RG 26/01234",
                recorded_at=datetime.combine(today, datetime.min.time(), UTC),
            )
            await log.append([on_account(tenant, assessed("D-1", today))])
            await log.append([on_account(tenant, insolvency)])

            async def waiver_applied() -> bool:
                return WAIVED in [e["type"] for e in await timeline(api, waived)]

            await eventually(waiver_applied, timeout=30)
            assert [await fee(api, waived), await fee(api, kept)] == ["0.00", "40.00"]
            due = (await api.get(f"/v1/claims/{waived}/amount-due", headers=headers)).json()
            assert Decimal(due["total"]) == Decimal(due["principal_outstanding"]) + Decimal(
                due["interest"]
            )
            assert Decimal(due["interest"]) > 0

            types = {
                claim: [e["type"] for e in await timeline(api, claim)]
                for claim in (waived, kept, cancelled, other)
            }
            assert types[waived][-3:] == [ASSESSED, INSOLVENCY, WAIVED]
            assert types[waived].count(WAIVED) == 1
            assert types[kept][-2:] == [ASSESSED, INSOLVENCY]  # its fee was due before
            assert ASSESSED not in types[cancelled] and INSOLVENCY not in types[cancelled]
            assert ASSESSED not in types[other]
            (entry,) = [e for e in await timeline(api, kept) if e["type"] == ASSESSED]
            assert entry["summary"] == (
                "Debtor assessed: grade D, segment chronic late payer, score 62 (scorecard test-1)"
            )
            assert entry["source"] == "risk"

            # A claim registered later does not show what was applied before it, but gets its
            # waiver: the debtor is in proceedings.
            later = await register(api, "R-5", "D-1", today + timedelta(days=10))

            async def later_waived() -> bool:
                return WAIVED in [e["type"] for e in await timeline(api, later)]

            await eventually(later_waived, timeout=30)
            assert ASSESSED not in [e["type"] for e in await timeline(api, later)]

            kpis = (await api.get("/v1/portfolio/kpis", headers=headers)).json()
            (eur,) = kpis["currencies"]
            mix = eur["risk_mix"]
            grades = {line["grade"]: line for line in mix["by_grade"] if line["debtors"]}
            assert grades == {
                "D": {"grade": "D", "debtors": 1, "open_balance": "3000.00"},
                "unassessed": {"grade": "unassessed", "debtors": 1, "open_balance": "1000.00"},
            }
            segments = {line["segment"]: line["debtors"] for line in mix["by_segment"]}
            assert (segments["chronic_late_payer"], segments["unassessed"]) == (1, 1)

            await rebuild_gives_live_digest(service)
    finally:
        await log.stop()


async def test_the_timelines_do_not_depend_on_batch_boundaries(infra, fresh_topic, unique):
    """Registrations, closures and risk events of a few debtors interleaved, replayed in
    batches of one event and of 5,000: the same rows, and each risk event on the timelines of
    exactly the claims of its debtor open before it."""
    topic = await fresh_topic("risk-batches")
    tenant = f"risk-batches-{unique}"
    today = date(2026, 6, 1)  # a log's own dates: nothing here reads a clock
    log, expected_rows, open_now = [], 0, {f"debtor-{n}": set() for n in range(3)}
    for n in range(30):
        registration = registered(n, tenant=tenant, debtor=f"debtor-{n % 3}")
        log.append(registration)
        open_now[registration.debtor_id].add(n)
        if n % 4 == 3:  # close an earlier claim of the same debtor
            closed = registered(n - 3, tenant=tenant, debtor=f"debtor-{(n - 3) % 3}")
            log.append(
                replace(
                    closed,
                    id=uuid.uuid5(closed.id, "cancelled"),
                    data=ClaimCancelled(
                        claim_id=closed.data.claim_id, reason="error", cancelled_at=T0
                    ),
                )
            )
            open_now[closed.debtor_id].discard(n - 3)
        if n % 5 == 4:
            event = on_account(tenant, assessed(f"debtor-{n % 3}", today))
            log.append(replace(event, id=uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}/{n}")))
            expected_rows += len(open_now[event.debtor_id])
    producer = EventLog(infra.bootstrap, topic=topic, client_id="risk-batches-test")
    await producer.start()
    try:
        await producer.append(log)
    finally:
        await producer.stop()
    engine = create_engine(infra.database_url, "amiable_claims")
    schemas = [f"risk_one_{unique}", f"risk_many_{unique}"]
    try:
        digests = []
        for schema, size in zip(schemas, (1, 5000), strict=True):
            result = await rebuild(
                ClaimsProjector(policy(ClaimsSettings(env="dev"))),
                engine,
                REGISTRY,
                bootstrap=infra.bootstrap,
                topic=topic,
                live_schema=schema,
                swap=False,
                max_records=size,
            )
            digests.append(result.digest)
            async with engine.connect() as conn:
                rows = await conn.scalar(
                    text(
                        f'SELECT count(*) FROM "{schema}_rebuild".claim_events '
                        f"WHERE type = '{ASSESSED}'"
                    )
                )
            assert rows == expected_rows > 0
        assert digests[0]["tables"] == digests[1]["tables"]
    finally:
        await engine.dispose()
        await drop_schemas(infra.database_url, "amiable_claims", [f"{s}_rebuild" for s in schemas])
