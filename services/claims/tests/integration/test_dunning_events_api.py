"""The dunning service's events in the claims service, on the real service, broker and
database, appended to the log as dunning appends them: ``ClaimEscalated`` moves the claim to
``escalated`` (the claim, the list's filter, the claim as of a past moment), where payments are
still recorded and a full one settles it while a promise is a 409; every dunning event about the
claim is on its timeline with a line of its own; the tenant's policy events park nothing; a
rebuild gives the live digest."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import httpx
import pytest

from amiable_events.claims import ClaimSettled, PaymentReceived
from amiable_events.communications import CommunicationFailed
from amiable_events.dunning import (
    ClaimEscalated,
    DunningPolicyActivated,
    DunningPolicyPublished,
    DunningStepDue,
)
from amiable_events.envelope import Envelope
from amiable_events.producer import EventLog
from tests.claims_givens import dunning_events
from tests.support import auth, eventually, rebuild_gives_live_digest

pytestmark = pytest.mark.integration


def appended(tenant: str, debtor_id: str, event, time: datetime) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        subject=event.subject,
        time=time,
        tenant=tenant,
        debtor_id=debtor_id,
        correlation_id=uuid.uuid4(),
        data=event,
    )


async def test_a_handoff_escalates_its_claim_and_dunning_shows_on_the_timeline(
    infra, fresh_topic, service_process, unique
):
    topic = await fresh_topic("dunning")
    tenant, debtor = f"dunning-{unique}", "D-1"
    service = service_process(
        "claims",
        topic=topic,
        projection_schema=f"dunning_{unique}",
        consumer_group=f"dunning-{unique}",
    ).start()
    now, today = service.now(), service.today
    headers = auth(tenant, "claims:write", "claims:read", "admin")
    log = EventLog(infra.bootstrap, topic=topic, client_id="dunning-test")
    await log.start()
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=15, headers=headers) as api:

            async def register(n: int) -> str:
                body = {
                    "invoice_number": f"DN-{n}",
                    "amount": "1000.00",
                    "currency": "EUR",
                    "issued_on": str(today - timedelta(days=90 + n)),
                    "due_on": str(today - timedelta(days=60)),
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

            handed_over, chased = [uuid.UUID(await register(n)) for n in range(2)]
            at = now  # the service's clock is frozen: dunning decides at the same moment
            policy = [
                DunningPolicyPublished(
                    tenant=tenant,
                    policy_id="default",
                    version="2",
                    document={"id": "default", "version": "2"},
                    published_at=at,
                ),
                DunningPolicyActivated(
                    tenant=tenant, policy_id="default", version="2", activated_at=at
                ),
            ]
            # Tenant events: subject tenant:<tenant>, key <tenant>: (an empty debtor id).
            await log.append([appended(tenant, "", event, at) for event in policy])
            dunning = dunning_events(handed_over, at)
            await log.append([appended(tenant, debtor, event, at) for event in dunning])

            async def claim(claim_id, **params) -> dict:
                answer = await api.get(f"/v1/claims/{claim_id}", params=params)
                assert answer.status_code == 200, answer.text
                return answer.json()

            async def escalated() -> bool:
                return (await claim(handed_over))["status"] == "escalated"

            await eventually(escalated, timeout=30)
            found = await claim(handed_over)
            assert (found["escalated_on"], found["closed_on"]) == (str(at.date()), None)
            assert (await claim(chased))["status"] == "qualified"

            async def listed(status: str) -> list[str]:
                answer = await api.get("/v1/claims", params={"status": status})
                assert answer.status_code == 200, answer.text
                return [item["id"] for item in answer.json()["items"]]

            assert await listed("escalated") == [str(handed_over)]
            assert await listed("qualified") == [str(chased)]
            # The claim as of a moment is folded with its handoff too.
            assert (await claim(handed_over, as_of=at.isoformat()))["status"] == "escalated"

            # No more negotiation: a promise is a 409 naming the status.
            promise = await api.post(
                f"/v1/claims/{handed_over}/promises",
                json={
                    "amount": "100.00",
                    "promised_on": str(today + timedelta(days=5)),
                    "source": "call",
                },
            )
            assert promise.status_code == 409, promise.text
            assert promise.json()["status_of_claim"] == "escalated"

            # Money arriving during litigation is recorded; paying everything due settles.
            part = await api.post(
                f"/v1/claims/{handed_over}/payments",
                json={"amount": "100.00", "received_on": str(today)},
            )
            assert part.status_code == 201, part.text
            assert (part.json()["status"], part.json()["paid"]) == ("escalated", "100.00")
            due = (await api.get(f"/v1/claims/{handed_over}/amount-due")).json()["total"]
            rest = await api.post(
                f"/v1/claims/{handed_over}/payments",
                json={"amount": due, "received_on": str(today)},
            )
            assert rest.status_code == 201, rest.text
            assert rest.json()["status"] == "settled"

            answer = await api.get(f"/v1/claims/{handed_over}/timeline")
            assert answer.status_code == 200, answer.text
            entries = answer.json()["events"]
            types = [entry["type"] for entry in entries]
            assert types[2:] == [
                *(type(event).type for event in dunning),
                PaymentReceived.type,
                PaymentReceived.type,
                ClaimSettled.type,
            ]
            summaries = {entry["type"]: entry["summary"] for entry in entries}
            assert summaries[DunningStepDue.type].startswith(
                "Formal notice by registered letter (step formal_notice, firm tone, to management)"
            )
            assert summaries[ClaimEscalated.type] == (
                "Handed over to litigation on a person's approval: amicable recovery is over"
            )
            assert summaries[CommunicationFailed.type] == (
                "Message by email not delivered (dunning step reminder_1)"
            )
            sources = {entry["type"]: entry["source"] for entry in entries}
            assert sources[ClaimEscalated.type] == "dunning"
            assert sources[CommunicationFailed.type] == "communications"
            chased_types = [
                e["type"] for e in (await api.get(f"/v1/claims/{chased}/timeline")).json()["events"]
            ]
            assert not [t for t in chased_types if "dunning" in t]  # the policy is on no timeline

            # Once every partition is applied (the digest settled), nothing waits parked.
            await rebuild_gives_live_digest(service)
            assert (await api.get("/admin/parked")).json() == {"accounts": []}
    finally:
        await log.stop()
