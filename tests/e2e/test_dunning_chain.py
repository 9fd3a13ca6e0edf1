"""Claims and dunning as processes on one log, on an accelerated clock (three moved days per real
second): a claim runs its whole track to the litigation handoff in well under a minute, through
a kill -9 and a restart of dunning that lose and repeat nothing; a person's approval escalates it
in claims. Another claim pauses on a dispute, resumes when the dispute is rejected and stops when
it is paid. The dunning projection rebuilds to its live digest."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from amiable_events.catalog import REGISTRY
from amiable_events.disputes import DisputeOpened, DisputeResolved
from amiable_events.envelope import Envelope, decode
from amiable_events.producer import EventLog
from tests.support import auth, eventually, read_topic, rebuild_gives_live_digest

pytestmark = pytest.mark.e2e

CLAIMS = ("claims:write", "claims:read")
DUNNING = ("dunning:read", "dunning:write")
THREE_DAYS_A_SECOND = 259200


def claim_body(today, invoice: str, debtor: str) -> dict:
    """Issued 29 days ago, due tomorrow: the first overdue call is at least three moved days
    away (a second of real time), so a registration slowed by a busy machine still comes before
    it rather than having dunning skip it as already past."""
    return {
        "invoice_number": invoice,
        "amount": "2000.00",
        "currency": "EUR",
        "issued_on": str(today - timedelta(days=29)),
        "due_on": str(today + timedelta(days=1)),
        "debtor": {
            "id": debtor,
            "legal_name": "Durand Industries SAS",
            "country": "FR",
            "contacts": [{"name": "Claire Martin", "email": "claire@durand.example"}],
        },
    }


async def dunning_events(bootstrap: str, topic: str, claim_id: str) -> list[Envelope]:
    found = []
    for record in await read_topic(bootstrap, topic):
        envelope = decode(REGISTRY, record.key, record.value, record.headers)
        if envelope.subject == claim_id and envelope.type.startswith("amiable.dunning."):
            found.append(envelope)
    return found


async def test_a_claim_runs_its_track_pauses_resumes_and_stops_on_an_accelerated_clock(
    fresh_topic, service_process, unique, infra
):
    topic = await fresh_topic("dunning")
    clock = f"accelerated:{datetime.now(UTC).isoformat()}:{THREE_DAYS_A_SECOND}"
    common = {"topic": topic, "clock": clock, "timer_interval": "0.2"}
    claims = service_process(
        "claims", consumer_group=f"nc-{unique}", projection_schema=f"nc_{unique}", **common
    ).start()
    dunning = service_process(
        "dunning", consumer_group=f"nd-{unique}", projection_schema=f"nd_{unique}", **common
    ).start()
    tenant = f"dun-{unique}"
    writer, collector = auth(tenant, *CLAIMS), auth(tenant, *DUNNING)
    log = EventLog(infra.bootstrap, topic=topic, client_id="dunning-test")
    await log.start()
    async with (
        httpx.AsyncClient(base_url=claims.url, timeout=15) as claims_api,
        httpx.AsyncClient(base_url=dunning.url, timeout=15) as dunning_api,
    ):
        for service in (claims, dunning):
            service.wait_ready()

        async def register(invoice: str, debtor: str) -> str:
            created = await claims_api.post(
                "/v1/claims", json=claim_body(claims.today, invoice, debtor), headers=writer
            )
            assert created.status_code == 201, created.text
            return created.json()["id"]

        async def plan_of(claim_id: str, ready) -> dict:
            async def check():
                answer = await dunning_api.get(f"/v1/claims/{claim_id}/dunning", headers=collector)
                return answer.json() if answer.status_code == 200 and ready(answer.json()) else None

            return await eventually(check, timeout=60)

        def done(plan: dict) -> list[str]:
            return [s["key"] for s in plan["history"] + plan["steps"] if s["status"] == "done"]

        chased, disputed = await register("T-1", "D-1"), await register("T-2", "D-2")
        started = await plan_of(chased, lambda p: p["status"] == "active")
        assert started["track"] == "standard_b2b" and started["policy_version"] == "2026.12-1"

        await plan_of(chased, lambda p: "email_reminder" in done(p))

        # the dispute on the other claim pauses it (before the restart: a slow restart on a busy
        # machine must not let its whole track run out), its rejection resumes it
        first = await plan_of(disputed, lambda p: done(p))
        dispute_id = uuid.uuid4()
        opened_at = dunning.now()
        opened = DisputeOpened(
            claim_id=disputed,
            dispute_id=dispute_id,
            reason="quality_or_service",
            disputed_amount=Decimal("2000.00"),
            currency="EUR",
            whole_claim=True,
            raised_by="debtor_contact",
            opened_at=opened_at,
            acknowledge_by=opened_at + timedelta(days=2),
            resolve_by=opened_at + timedelta(days=30),
        )
        await log.append([_envelope(tenant, "D-2", opened, opened_at)])
        paused = await plan_of(disputed, lambda p: p["status"] == "paused")
        assert paused["pause"]["reason"] == "dispute_opened"
        assert done(paused)[: len(done(first))] == done(first)

        # kill -9 mid-track, then restart: the timers are durable rows
        dunning.kill()
        dunning.start().wait_ready()
        assert (await plan_of(disputed, lambda p: True))["status"] == "paused"
        resolved_at = dunning.now()
        resolved = DisputeResolved(
            claim_id=disputed,
            dispute_id=dispute_id,
            outcome="rejected",
            resolution_note="pii:v1:none",
            disputed_amount=Decimal("2000.00"),
            currency="EUR",
            whole_claim=True,
            resolved_at=resolved_at,
        )
        await log.append([_envelope(tenant, "D-2", resolved, resolved_at)])
        resumed = await plan_of(disputed, lambda p: p["status"] == "active" and p["revision"] > 1)
        assert all(
            datetime.fromisoformat(s["at"]) > resolved_at
            for s in resumed["steps"]
            if s["status"] == "planned"
        )

        # paid in full: chasing stops
        due = (await claims_api.get(f"/v1/claims/{disputed}/amount-due", headers=writer)).json()
        paid = await claims_api.post(
            f"/v1/claims/{disputed}/payments",
            json={"amount": str(Decimal(due["total"]) + 100), "received_on": str(claims.today)},
            headers=writer,
        )
        assert paid.status_code in (200, 201), paid.text
        stopped = await plan_of(disputed, lambda p: p["status"] == "stopped")
        assert stopped["stop_reason"] == "claim_settled"

        # the whole track in under a minute of real time, the handoff waiting for a person
        waiting = await plan_of(chased, lambda p: any(s["status"] == "due" for s in p["steps"]))
        assert sorted(done(waiting)) == sorted(
            [
                "call_overdue",
                "email_reminder",
                "letter_reminder",
                "letter_email_copy",
                "registered_letter",
                "formal_notice",
            ]
        )
        queue = (await dunning_api.get("/v1/dunning/approvals", headers=collector)).json()
        assert [(i["claim_id"], i["step"]) for i in queue["items"]] == [
            (chased, "litigation_handoff")
        ]
        approved = await dunning_api.post(
            f"/v1/claims/{chased}/dunning/approve",
            json={"step": "litigation_handoff"},
            headers={**collector, "Idempotency-Key": "approve-1"},
        )
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] == "escalated"

        async def escalated():
            answer = await claims_api.get(f"/v1/claims/{chased}", headers=writer)
            return answer.json() if answer.json().get("status") == "escalated" else None

        assert (await eventually(escalated, timeout=30))["status"] == "escalated"

        # nothing repeated across the restart: each step of each revision went out once
        events = await dunning_events(infra.bootstrap, topic, chased)
        # the formal notice states exactly claims' figures for its day
        (notice,) = {
            e.id: e.data for e in events if getattr(e.data, "action", "") == "formal_notice"
        }.values()
        figures = notice.amount_due
        claims_says = (
            await claims_api.get(
                f"/v1/claims/{chased}/amount-due",
                params={"as_of": str(figures.as_of)},
                headers=writer,
            )
        ).json()
        assert [claims_says[k] for k in ("principal_outstanding", "interest", "fixed_fee")] == [
            format(v, "f")
            for v in (figures.principal_outstanding, figures.interest, figures.fixed_fee)
        ]
        assert claims_says["total"] == format(figures.total, "f")
        assert [(line["kind"], line["amount"], line["note"]) for line in claims_says["lines"]] == [
            (line.kind, format(line.amount, "f"), line.note) for line in figures.lines
        ]
        assert notice.payment_deadline == figures.as_of + timedelta(days=8)
        # (a record appended again after a crash has the same id: consumers drop it)
        distinct = {e.id: e for e in events if e.type.endswith("step-due.v1")}.values()
        sent = Counter((e.data.revision, e.data.step) for e in distinct)
        assert sent and max(sent.values()) == 1, sent

        await rebuild_gives_live_digest(dunning)
    await log.stop()


def _envelope(tenant: str, debtor: str, event, when: datetime) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        subject=str(event.claim_id),
        time=when,
        tenant=tenant,
        debtor_id=debtor,
        correlation_id=uuid.uuid4(),
        data=event,
    )
