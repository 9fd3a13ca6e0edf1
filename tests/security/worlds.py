"""The first tenant's data in each declared service, for the isolation matrix
(test_isolation.py): how to seed it, a valid body per command for another tenant to send, what no
other tenant's answer may contain, and how to check the data is as it was seeded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from importlib.resources import files

import httpx
import yaml

from amiable_events.producer import EventLog
from tests.risk_givens import History
from tests.support import ServiceProcess, auth, eventually


@dataclass
class World:
    """A live service with a first tenant's data in it."""

    service: ServiceProcess
    tenant: str
    values: dict[str, str]  # path parameter -> the first tenant's value
    secrets: list[str]  # what no other tenant's answer may contain
    body: Callable[[str], tuple[str, object] | None]  # operation id -> content type, body
    intact: Callable[[], Awaitable[None]]  # asserts the first tenant's data is as seeded


def _claims_bodies(today: date, spec: dict) -> Callable[[str], tuple[str, object] | None]:
    """A valid body per operation: the OpenAPI examples, and a registration of the other
    tenant's own with the first tenant's invoice number and debtor id."""
    schemas = spec["components"]["schemas"]
    operations = {op["operationId"]: op for ops in spec["paths"].values() for op in ops.values()}

    def body(operation_id: str):
        if operation_id == "registerClaim":
            return "application/json", claim_body(
                today, legal_name="Another Tenant's Customer", contact="Someone Else"
            )
        content = operations[operation_id].get("requestBody", {}).get("content", {})
        for content_type, media in content.items():
            if "example" in media:
                return content_type, media["example"]
            ref = media.get("schema", {}).get("$ref", "")
            examples = schemas.get(ref.rsplit("/", 1)[-1], {}).get("examples")
            if examples:
                return content_type, examples[0]
        return None

    return body


def claim_body(today: date, *, legal_name: str, contact: str = "Claire Martin") -> dict:
    return {
        "invoice_number": "ISO-1",
        "amount": "1500.00",
        "currency": "EUR",
        "issued_on": str(today - timedelta(days=60)),
        "due_on": str(today - timedelta(days=30)),
        "description": "Secret arrangement with the first tenant's customer",
        "debtor": {
            "id": "ISO-DEBTOR",
            "legal_name": legal_name,
            "country": "FR",
            "contacts": [{"name": contact, "email": "contact@iso.example"}],
        },
    }


async def seed_claims(service: ServiceProcess, tenant: str, seeded: dict[str, World]) -> World:
    body = claim_body(service.today, legal_name=f"First Tenant Customer {tenant}")
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as api:
        created = await api.post(
            "/v1/claims", json=body, headers=auth(tenant, "claims:write", "claims:read")
        )
        assert created.status_code == 201, created.text
        claim_id = created.json()["id"]
        spec = (await api.get("/openapi.json")).json()

    async def intact() -> None:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as api:
            mine = await api.get(f"/v1/claims/{claim_id}", headers=auth(tenant, "claims:read"))
        assert mine.status_code == 200
        assert mine.json()["debtor"]["contacts"][0]["name"] == "Claire Martin"
        assert mine.json()["status"] not in ("written_off", "cancelled")

    return World(
        service=service,
        tenant=tenant,
        values={"claim_id": claim_id, "debtor_id": body["debtor"]["id"]},
        secrets=[claim_id, body["debtor"]["legal_name"], "Claire Martin"],
        body=_claims_bodies(service.today, spec),
        intact=intact,
    )


def _risk_bodies(today: date) -> Callable[[str], tuple[str, object] | None]:
    """A valid body per risk command, another tenant's own: none of the first tenant's."""
    bodies = {
        "recordInsolvency": {
            "kind": "liquidation",
            "opened_on": str(today - timedelta(days=2)),
            "reference": "Another tenant's case",
        },
        "setCreditLimit": {"amount": "5.00", "currency": "EUR"},
        "overrideSegment": {"segment": "high_risk", "reason": "Another tenant's decision"},
    }
    return lambda operation_id: (
        ("application/json", bodies[operation_id]) if operation_id in bodies else None
    )


async def seed_risk(service: ServiceProcess, tenant: str, seeded: dict[str, World]) -> World:
    """The claims seed's debtor, assessed by risk from the log, given a credit limit below its
    claim (an alert) and a segment override whose reason is the first tenant's."""
    debtor = seeded["claims"].values["debtor_id"]
    headers = auth(tenant, "risk:read", "risk:write")
    reason = f"First tenant's override reason {tenant}"
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as api:

        async def assessed():
            return (await api.get(f"/v1/debtors/{debtor}/risk", headers=headers)).status_code == 200

        await eventually(assessed, timeout=60)
        limit = {"amount": "1000.00", "currency": "EUR"}
        answer = await api.put(f"/v1/debtors/{debtor}/credit-limit", json=limit, headers=headers)
        assert answer.status_code == 200, answer.text
        override = {"segment": "reliable", "reason": reason}
        answer = await api.post(
            f"/v1/debtors/{debtor}/segment-override", json=override, headers=headers
        )
        assert answer.status_code == 200, answer.text

        async def alerts():
            return (await api.get("/v1/risk/alerts", headers=headers)).json()["items"]

        [alert] = await eventually(alerts, timeout=60)

    async def intact() -> None:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as api:
            mine = (await api.get(f"/v1/debtors/{debtor}/risk", headers=headers)).json()
            listed = (await api.get("/v1/risk/alerts", headers=headers)).json()["items"]
        assert mine["credit_limit"] == limit
        assert mine["override"] == {"segment": "reliable", "until": None, "reason": reason}
        assert mine["proceeding"] is None
        assert [item["event_id"] for item in listed] == [alert["event_id"]]

    return World(
        service=service,
        tenant=tenant,
        values={"debtor_id": debtor},
        secrets=[alert["event_id"], reason],
        body=_risk_bodies(service.today),
        intact=intact,
    )


def _disputes_bodies(claim_id: str) -> Callable[[str], tuple[str, object] | None]:
    """A valid body per disputes command; an opening names the first tenant's claim, which
    another tenant must not be able to tell from an unknown one."""
    bodies = {
        "openDispute": {"claim_id": claim_id, "reason": "delivery", "raised_by": "agent"},
        "assignDispute": {"assignee": "another-agent"},
        "mediateDispute": {"mediator": "another-mediator"},
        "resolveDispute": {"outcome": "upheld", "resolution_note": "Another tenant's decision"},
        "withdrawDispute": {},
        "commentDispute": {"comment": "Another tenant's comment"},
        "reclassifyDispute": {"reason": "cash_flow_difficulty"},
    }
    return lambda operation_id: (
        ("application/json", bodies[operation_id]) if operation_id in bodies else None
    )


async def seed_disputes(service: ServiceProcess, tenant: str, seeded: dict[str, World]) -> World:
    """A dispute on the claims seed's claim, in review, with the first tenant's words in it."""
    claim_id = seeded["claims"].values["claim_id"]
    headers = auth(tenant, "disputes:read", "disputes:write")
    description = f"First tenant's customer says the goods were damaged {tenant}"
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as api:

        async def opened():
            body = {
                "claim_id": claim_id,
                "reason": "quality_or_service",
                "raised_by": "debtor_contact",
                "disputed_amount": "700.00",
                "description": description,
            }
            answer = await api.post("/v1/disputes", json=body, headers=headers)
            return None if answer.status_code == 404 else answer

        answer = await eventually(opened, timeout=60)
        assert answer.status_code == 201, answer.text
        dispute_id = answer.json()["dispute_id"]
        assigned = await api.post(
            f"/v1/disputes/{dispute_id}/assign", json={"assignee": "first-agent"}, headers=headers
        )
        assert assigned.status_code == 200, assigned.text

    async def intact() -> None:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as api:
            mine = (await api.get(f"/v1/disputes/{dispute_id}", headers=headers)).json()
        assert (mine["status"], mine["reason"], mine["assignee"]) == (
            "under_review",
            "quality_or_service",
            "first-agent",
        )
        assert mine["description"] == description and mine["comments"] == 0
        assert len(mine["history"]) == 2

    return World(
        service=service,
        tenant=tenant,
        values={"dispute_id": dispute_id, "claim_id": claim_id},
        secrets=[dispute_id, description],
        body=_disputes_bodies(claim_id),
        intact=intact,
    )


#: The shipped dunning policy, as a document a tenant may publish under an id of its own.
SHIPPED_POLICY = yaml.safe_load(
    files("amiable_dunning").joinpath("data/policies/default.yaml").read_text()
)


def _dunning_bodies(policy: dict) -> Callable[[str], tuple[str, object] | None]:
    """A valid body per dunning command: approving the step the first tenant's claim waits on,
    activating and simulating the first tenant's policy version, publishing a policy of another
    tenant's own."""
    bodies = {
        "approveDunningStep": {"step": "litigation_handoff"},
        "publishDunningPolicy": {**policy, "id": "another-tenants-policy"},
        "activateDunningPolicy": {"version": policy["version"]},
        "simulateDunningPolicy": {"version": policy["version"], "claims": {"all": True}},
    }
    return lambda operation_id: (
        ("application/json", bodies[operation_id]) if operation_id in bodies else None
    )


async def seed_dunning(service: ServiceProcess, tenant: str, seeded: dict[str, World]) -> World:
    """The claims seed's claim, planned from the log with steps ahead; a claim of another of the
    first tenant's debtors, registered 150 days ago (appended to the log as claims wrote it then),
    whose whole track fell due and whose litigation handoff waits for a person; and a policy the
    first tenant published and activated, under an id of its own."""
    planned = seeded["claims"].values["claim_id"]
    history = History(tenant, "ISO-DUNNING")
    waiting = str(history.claim(service.today - timedelta(days=150)))
    log = EventLog(
        service.env["AMIABLE_KAFKA_BOOTSTRAP"],
        topic=service.env["AMIABLE_TOPIC"],
        client_id="isolation-dunning",
    )
    await log.start()
    try:
        await log.append(history.envelopes)
    finally:
        await log.stop()
    policy = {**SHIPPED_POLICY, "id": f"secret-{tenant}", "version": "first-1"}
    headers = auth(tenant, "dunning:read", "dunning:write")
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as api:

        async def approvals():
            answer = await api.get("/v1/dunning/approvals", headers=headers)
            return [(item["claim_id"], item["step"]) for item in answer.json()["items"]]

        assert await eventually(approvals, timeout=60) == [(waiting, "litigation_handoff")]

        async def upcoming():
            answer = await api.get("/v1/dunning/upcoming", params={"days": 90}, headers=headers)
            return {item["claim_id"] for item in answer.json()["items"]}

        assert await eventually(upcoming, timeout=60) == {planned}
        published = await api.post("/v1/policies", json=policy, headers=headers)
        assert published.status_code == 201, published.text

        async def activated():
            answer = await api.post(
                f"/v1/policies/{policy['id']}/activate",
                json={"version": policy["version"]},
                headers=headers,
            )
            return None if answer.status_code == 404 else answer

        answer = await eventually(activated, timeout=60)
        assert answer.status_code == 200, answer.text

    async def intact() -> None:
        async with httpx.AsyncClient(base_url=service.url, timeout=30) as api:
            mine = (await api.get(f"/v1/claims/{waiting}/dunning", headers=headers)).json()
            listed = (await api.get("/v1/dunning/approvals", headers=headers)).json()["items"]
            policies = (await api.get("/v1/policies", headers=headers)).json()
        handoff = next(step for step in mine["steps"] if step["key"] == "litigation_handoff")
        assert (mine["status"], handoff["status"]) == ("active", "due")
        assert [(item["claim_id"], item["step"]) for item in listed] == [
            (waiting, "litigation_handoff")
        ]
        assert (policies["active"]["policy_id"], policies["active"]["version"]) == (
            policy["id"],
            policy["version"],
        )
        assert len(policies["items"]) == 2

    return World(
        service=service,
        tenant=tenant,
        values={"claim_id": waiting, "policy_id": policy["id"]},
        secrets=[waiting, planned, policy["id"]],
        body=_dunning_bodies(policy),
        intact=intact,
    )


#: How to put a first tenant's data in each declared service, in the order of ``declared()``
#: (each seed sees the worlds seeded before it).
SEEDS = {
    "claims": seed_claims,
    "risk": seed_risk,
    "dunning": seed_dunning,
    "disputes": seed_disputes,
}
