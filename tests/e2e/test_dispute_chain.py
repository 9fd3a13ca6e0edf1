"""Claims and disputes as processes on one log, talking only through it: each outcome of a
dispute resolved through the disputes API reaches the claim once, also when the claims process
is killed right after the resolution; the disputes projection rebuilds to its live digest; one
claim gets one active dispute across two disputes replicas; missed deadlines breach on the
debtor's business days and escalate to mediation on an accelerated clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from amiable_events.catalog import REGISTRY
from amiable_events.envelope import decode
from tests.support import (
    auth,
    eventually,
    read_topic,
    rebuild_gives_live_digest,
)

pytestmark = pytest.mark.e2e

CLAIMS = ("claims:write", "claims:read")
DISPUTES = ("disputes:read", "disputes:write")


def claim_body(today, invoice: str, debtor: str, *, amount: str = "2000.00") -> dict:
    return {
        "invoice_number": invoice,
        "amount": amount,
        "currency": "EUR",
        "issued_on": str(today - timedelta(days=75)),
        "due_on": str(today - timedelta(days=45)),
        "debtor": {
            "id": debtor,
            "legal_name": "Durand Industries SAS",
            "country": "FR",
            "contacts": [{"name": "Claire Martin", "email": "claire@durand.example"}],
        },
    }


class Desk:
    """The two APIs of one tenant, as a collections agent uses them."""

    def __init__(self, claims: httpx.AsyncClient, disputes: httpx.AsyncClient, tenant: str):
        self.claims, self.disputes = claims, disputes
        self.writer, self.agent = auth(tenant, *CLAIMS), auth(tenant, *DISPUTES)

    async def claim(self, today, invoice: str, amount: str, debtor: str = "D-1") -> str:
        """A claim 45 days past due (amounts differ: look-alikes of one debtor are rejected)."""
        created = await self.claims.post(
            "/v1/claims",
            json=claim_body(today, invoice, debtor, amount=amount),
            headers=self.writer,
        )
        assert created.status_code == 201, created.text
        return created.json()["id"]

    async def dispute(self, claim_id: str, **fields) -> dict:
        """Open a dispute once the disputes service has seen the claim (a 404 until then)."""
        body = {"claim_id": claim_id, "reason": "quality_or_service", "raised_by": "agent"}

        async def opened():
            answer = await self.disputes.post(
                "/v1/disputes", json={**body, **fields}, headers=self.agent
            )
            if answer.status_code == 404:
                return None
            assert answer.status_code == 201, answer.text
            return answer.json()

        return await eventually(opened, timeout=30)

    async def act(self, dispute_id: str, action: str, **body) -> dict:
        answer = await self.disputes.post(
            f"/v1/disputes/{dispute_id}/{action}", json=body, headers=self.agent
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def resolve(self, dispute_id: str, outcome: str, **fields) -> dict:
        await self.act(dispute_id, "assign", assignee="agent-marie")
        return await self.act(
            dispute_id, "resolve", outcome=outcome, resolution_note="Checked with sales", **fields
        )

    async def claim_when(self, claim_id: str, ready) -> dict:
        async def check():
            answer = await self.claims.get(f"/v1/claims/{claim_id}", headers=self.writer)
            return answer.json() if answer.status_code == 200 and ready(answer.json()) else None

        return await eventually(check, timeout=30)


async def events_of(bootstrap: str, topic: str, claim_id: str) -> list:
    """The claim's events on the topic, decoded, in log order."""
    found = []
    for record in await read_topic(bootstrap, topic):
        envelope = decode(REGISTRY, record.key, record.value, record.headers)
        if envelope.subject == claim_id:
            found.append(envelope)
    return found


async def test_each_outcome_reaches_the_claim_once(fresh_topic, service_process, unique, infra):
    topic = await fresh_topic("dispute")
    settings = {"topic": topic}
    claims = service_process(
        "claims", consumer_group=f"claims-{unique}", projection_schema=f"dc_{unique}", **settings
    ).start()
    disputes = service_process(
        "disputes",
        consumer_group=f"disputes-{unique}",
        projection_schema=f"dd_{unique}",
        **settings,
    ).start()
    tenant, today = f"dispute-{unique}", claims.today
    async with (
        httpx.AsyncClient(base_url=claims.url, timeout=15) as claims_api,
        httpx.AsyncClient(base_url=disputes.url, timeout=15) as disputes_api,
    ):
        for service in (claims, disputes):
            service.wait_ready()
        desk = Desk(claims_api, disputes_api, tenant)
        partial, upheld, reissued, rejected = [
            await desk.claim(today, f"F-{n}", f"{2000 + n}.00") for n in range(1, 5)
        ]

        # partially upheld: the claim is reduced by exactly the accepted amount
        opened = await desk.dispute(partial, disputed_amount="800.00", description="Late delivery")
        assert opened["status"] == "open" and opened["whole_claim"] is False
        resolved = await desk.resolve(
            opened["dispute_id"], "partially_upheld", accepted_amount="300.00"
        )
        assert resolved["status"] == "resolved" and resolved["accepted_amount"] == "300.00"
        adjusted = await desk.claim_when(partial, lambda c: c["credits"])
        assert [(c["amount"], c["credit_note_reference"]) for c in adjusted["credits"]] == [
            ("300.00", f"dispute:{opened['dispute_id']}")
        ]
        assert adjusted["status"] != "cancelled"

        # upheld on the whole claim: cancelled
        whole = await desk.dispute(upheld)
        assert whole["whole_claim"] is True
        await desk.resolve(whole["dispute_id"], "upheld")
        await desk.claim_when(upheld, lambda c: c["status"] == "cancelled")

        # reissued: cancelled for the new invoice
        billing = await desk.dispute(reissued, reason="billing_error")
        await desk.resolve(billing["dispute_id"], "reissued", new_invoice_number="F-3-BIS")
        await desk.claim_when(reissued, lambda c: c["status"] == "cancelled")

        # rejected: the claim is chased as before
        contested = await desk.dispute(rejected, reason="already_paid")
        done = await desk.resolve(contested["dispute_id"], "rejected")
        assert done["outcome"] == "rejected"

        # the claim's timeline shows its dispute, then what claims did about it
        async def timeline():
            answer = await claims_api.get(f"/v1/claims/{partial}/timeline", headers=desk.writer)
            types = [e["type"].split(".")[2] for e in answer.json()["events"]]
            return types if "claim-adjusted" in types else None

        types = await eventually(timeline, timeout=30)
        assert types.index("dispute-opened") < types.index("dispute-resolved")
        assert types.index("dispute-resolved") < types.index("claim-adjusted")

        # a partially upheld dispute resolved, and the claims process killed right away
        late = await desk.claim(today, "F-5", "2005.00")
        again = await desk.dispute(late, disputed_amount="500.00")
        await desk.resolve(again["dispute_id"], "partially_upheld", accepted_amount="120.00")
        claims.kill()
        claims.start().wait_ready()
        await desk.claim_when(late, lambda c: c["credits"])

        # exactly one effect per resolution on the log, whatever the restarts
        for claim_id, effect in (
            (partial, "claim-adjusted"),
            (late, "claim-adjusted"),
            (upheld, "claim-cancelled"),
            (reissued, "claim-cancelled"),
        ):
            events = await events_of(infra.bootstrap, topic, claim_id)
            # a process killed after appending re-appends the same id: one effect, by id
            effects = [e for e in events if e.type.split(".")[2] == effect]
            assert len({e.id for e in effects}) == 1, (claim_id, [e.type for e in events])
            resolution = next(e for e in events if e.type.endswith("dispute-resolved.v1"))
            assert effects[0].causation_id == resolution.id
        rejected_events = await events_of(infra.bootstrap, topic, rejected)
        assert not [
            e for e in rejected_events if "claim-cancelled" in e.type or "claim-adjusted" in e.type
        ]
        reissue = next(
            e
            for e in await events_of(infra.bootstrap, topic, reissued)
            if e.type.endswith("claim-cancelled.v1")
        )
        assert reissue.data.reissued_as == "F-3-BIS"

        # the disputes projection rebuilds to its live digest
        live = await rebuild_gives_live_digest(disputes)
        assert live["tables"]["disputes"]["rows"] == 5


async def test_one_active_dispute_per_claim_across_replicas(fresh_topic, service_process, unique):
    topic = await fresh_topic("replicas")
    claims = service_process(
        "claims", topic=topic, consumer_group=f"rc-{unique}", projection_schema=f"rc_{unique}"
    ).start()
    replica = {
        "topic": topic,
        "projection_schema": f"rd_{unique}",
        "consumer_group": f"rd-{unique}",
    }
    first = service_process("disputes", **replica).start()
    second = service_process("disputes", **replica).start()
    tenant = f"replicas-{unique}"
    async with (
        httpx.AsyncClient(base_url=claims.url, timeout=15) as claims_api,
        httpx.AsyncClient(base_url=first.url, timeout=15) as one,
        httpx.AsyncClient(base_url=second.url, timeout=15) as two,
    ):
        for service in (claims, first, second):
            service.wait_ready()
        desk = Desk(claims_api, one, tenant)
        claim_ids = [await desk.claim(claims.today, f"R-{n}", f"{1000 + n}.00") for n in range(6)]
        for claim_id in claim_ids:  # both replicas know every claim
            for api in (one, two):
                await eventually(
                    lambda api=api, claim_id=claim_id: _knows(api, desk.agent, claim_id),
                    timeout=30,
                )
        body = {"reason": "delivery", "raised_by": "debtor_contact"}
        for claim_id in claim_ids:
            answers = await asyncio.gather(
                one.post("/v1/disputes", json={**body, "claim_id": claim_id}, headers=desk.agent),
                two.post("/v1/disputes", json={**body, "claim_id": claim_id}, headers=desk.agent),
            )
            codes = sorted(a.status_code for a in answers)
            assert codes == [201, 409], [a.text for a in answers]
            winner = next(a for a in answers if a.status_code == 201).json()
            loser = next(a for a in answers if a.status_code == 409).json()
            assert loser["dispute_id"] == winner["dispute_id"]


async def _knows(api: httpx.AsyncClient, headers: dict, claim_id: str) -> bool:
    listed = await api.get("/v1/disputes", params={"claim_id": claim_id}, headers=headers)
    # A claim with no dispute lists nothing either way: ask for a hardship's 422 instead, which
    # the service answers only once it has the claim (a 404 before).
    probe = await api.post(
        "/v1/disputes",
        json={
            "claim_id": claim_id,
            "reason": "cash_flow_difficulty",
            "raised_by": "agent",
            "disputed_amount": "1.00",
        },
        headers=headers,
    )
    return listed.status_code == 200 and probe.status_code == 422


async def test_missed_deadlines_breach_and_escalate_on_an_accelerated_clock(
    fresh_topic, service_process, unique
):
    """Three moved days per real second, from now: the acknowledgement deadline (2 French
    business days) passes within about two seconds, the 30-day resolution deadline within
    about ten."""
    topic = await fresh_topic("sla")
    clock = f"accelerated:{datetime.now(UTC).isoformat()}:259200"
    claims = service_process(
        "claims",
        topic=topic,
        clock=clock,
        consumer_group=f"sc-{unique}",
        projection_schema=f"sc_{unique}",
    ).start()
    disputes = service_process(
        "disputes",
        topic=topic,
        clock=clock,
        consumer_group=f"sd-{unique}",
        projection_schema=f"sd_{unique}",
        timer_interval="0.2",
    ).start()
    tenant = f"sla-{unique}"
    async with (
        httpx.AsyncClient(base_url=claims.url, timeout=15) as claims_api,
        httpx.AsyncClient(base_url=disputes.url, timeout=15) as disputes_api,
    ):
        for service in (claims, disputes):
            service.wait_ready()
        desk = Desk(claims_api, disputes_api, tenant)
        claim_id = await desk.claim(claims.today, "S-1", "2000.00")
        opened = await desk.dispute(claim_id)
        acknowledge_by = datetime.fromisoformat(opened["acknowledge_by"])
        opened_at = datetime.fromisoformat(opened["opened_at"])
        assert timedelta(days=2) < acknowledge_by - opened_at < timedelta(days=8)

        async def state(ready):
            answer = await disputes_api.get(
                f"/v1/disputes/{opened['dispute_id']}", headers=desk.agent
            )
            body = answer.json()
            return body if ready(body) else None

        breached = await eventually(lambda: state(lambda b: b["breaches"]), timeout=30)
        assert breached["breaches"] == ["acknowledge"] and breached["status"] == "open"
        escalated = await eventually(
            lambda: state(lambda b: b["status"] == "mediation"), timeout=90
        )
        assert escalated["breaches"] == ["acknowledge", "resolve"]
        assert escalated["escalated_automatically"] is True and escalated["mediator"] is None
        types = [h["type"].split(".")[2] for h in escalated["history"]]
        assert types == [
            "dispute-opened",
            "dispute-sla-breached",
            "dispute-sla-breached",
            "dispute-escalated-to-mediation",
        ]
        breach = escalated["history"][1]
        assert breach["actor"] == "service:disputes"
        assert Decimal(opened["disputed_amount"]) > Decimal("2000.00")  # interest and the fee
