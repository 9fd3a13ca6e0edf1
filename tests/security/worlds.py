"""The first tenant's data in each declared service, for the isolation matrix
(test_isolation.py): how to seed it, a valid body per command for another tenant to send, what no
other tenant's answer may contain, and how to check the data is as it was seeded."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from importlib.resources import files

import httpx
import orjson
import yaml

from amiable_events.claims import Contact
from amiable_events.communications import (
    CommunicationQueued,
    CommunicationReleased,
    CommunicationSent,
    Cost,
)
from amiable_events.db import create_engine
from amiable_events.envelope import account_key
from amiable_events.personal import Sealer
from amiable_events.producer import EventLog
from amiable_events.service import KEYS_DATABASE
from tests.risk_givens import History, at
from tests.support import ServiceProcess, auth, eventually, service_key_store


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


async def _append(service: ServiceProcess, envelopes: list, client_id: str) -> None:
    """``envelopes`` on the service's topic, as the services that write them would."""
    log = EventLog(
        service.env["AMIABLE_KAFKA_BOOTSTRAP"],
        topic=service.env["AMIABLE_TOPIC"],
        client_id=client_id,
    )
    await log.start()
    try:
        await log.append(envelopes)
    finally:
        await log.stop()


async def seed_dunning(service: ServiceProcess, tenant: str, seeded: dict[str, World]) -> World:
    """The claims seed's claim, planned from the log with steps ahead; a claim of another of the
    first tenant's debtors, registered 150 days ago (appended to the log as claims wrote it then),
    whose whole track fell due and whose litigation handoff waits for a person; and a policy the
    first tenant published and activated, under an id of its own."""
    planned = seeded["claims"].values["claim_id"]
    history = History(tenant, "ISO-DUNNING")
    waiting = str(history.claim(service.today - timedelta(days=150)))
    await _append(service, history.envelopes, "isolation-dunning")
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


def _communications_bodies(claim_id: str) -> Callable[[str], tuple[str, object] | None]:
    """A valid body per communications command: tracking, an outcome and a decision on the
    first tenant's messages, a note and a preview on its claim, a profile of another tenant's
    own, preferences for the first tenant's debtor."""
    bodies = {
        "recordTracking": {"tracking_number": "1A00412345678", "carrier": "La Poste"},
        "recordCallOutcome": {"outcome": "no_answer", "notes": "Another tenant's call"},
        "decideReview": {"decision": "reject", "reason": "Another tenant's decision"},
        "recordInteraction": {"claim_id": claim_id, "kind": "note", "summary": "Another's note"},
        "previewTemplate": {"claim_id": claim_id, "template": "email.reminder"},
        "setContactPreferences": {"opted_out": True},
        "setCreditorProfile": _profile("Another Tenant SAS"),
    }
    return lambda operation_id: (
        ("application/json", bodies[operation_id]) if operation_id in bodies else None
    )


def _profile(legal_name: str) -> dict:
    return {
        "creditor": {
            "legal_name": legal_name,
            "address": ["12 avenue des Ternes", "75017 Paris"],
            "registration_number": "812 345 678",
        },
        "iban": "FR7630006000011234567890189",
        "reply_email": "recouvrement@creditor.example",
    }


async def seed_communications(
    service: ServiceProcess, tenant: str, seeded: dict[str, World]
) -> World:
    """A debtor of the first tenant's own, its contacts sealed with the real keys, with a claim
    and three messages, appended to the log as claims and the communications pipeline wrote
    them: an email sent (its content sealed), a call task sent to the agents and still open, and
    a letter held for review; then, through the API, the tenant's creditor profile, the debtor's
    contact preferences and a note on the claim."""
    debtor = "ISO-COMMS"
    engine = create_engine(service.env["AMIABLE_DATABASE_URL"], KEYS_DATABASE, pool_size=2)
    try:
        seal = await Sealer(service_key_store(engine)).sealer_for(account_key(tenant, debtor))
    finally:
        await engine.dispose()
    name = f"Claire Martin {tenant}"  # the call task shows it opened
    contact = Contact(name=seal(name), email=seal("claire@iso.example"), phone=seal("+33612345678"))
    history = History(tenant, debtor, contacts=(contact,), postal_address=seal("1 rue de la Paix"))
    claim_id = history.claim(service.today - timedelta(days=60))
    now = at(service.today, 11)
    content = f"First tenant's reminder {tenant}"

    def message(channel: str, *, sent: bool) -> uuid.UUID:
        communication_id = uuid.uuid4()
        common = {"claim_id": claim_id, "communication_id": communication_id}
        kind = "call_attempt" if channel == "phone" else "reminder"
        described = {"template": "email.reminder", "tone": "neutral", "revision": 1}
        history.add(
            CommunicationQueued(
                **common,
                **described,
                purpose="dunning_step",
                cause_id=uuid.uuid4(),
                claims=(claim_id,),
                channel=channel,
                language="fr-FR",
                kind=kind,
                # The contact governor leaves a message held for review alone until then.
                not_before=now + timedelta(days=30),
                review_required=not sent,
                step="first_reminder",
                queued_at=now,
            ),
            now,
        )
        if sent:
            history.add(
                CommunicationReleased(**common, channel=channel, kind=kind, released_at=now), now
            )
            history.add(
                CommunicationSent(
                    **common,
                    **described,
                    claims=(claim_id,),
                    channel=channel,
                    language="fr",
                    cost=Cost(amount=Decimal("0.02"), currency="EUR"),
                    content=seal(orjson.dumps({"subject": content, "body": content}).decode()),
                    registered=False,
                    step="first_reminder",
                    sent_at=now,
                ),
                now,
            )
        return communication_id

    sent, task, held = (
        message("email", sent=True),
        message("phone", sent=True),
        message("letter", sent=False),
    )
    await _append(service, history.envelopes, "isolation-communications")
    headers = auth(tenant, "communications:read", "communications:write")
    profile_name, note = f"First Tenant SAS {tenant}", f"First tenant's note {tenant}"
    profile = _profile(profile_name)
    preferences = {"opted_out_channels": ["sms"], "preferred_channel": "email"}
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as api:

        async def statuses():
            answer = await api.get(
                "/v1/communications", params={"claim_id": str(claim_id)}, headers=headers
            )
            found = {item["communication_id"]: item["status"] for item in answer.json()["items"]}
            return found if len(found) == 3 else None

        assert await eventually(statuses, timeout=60) == {
            str(sent): "sent",
            str(task): "sent",
            str(held): "in_review",
        }
        for method, path, body in (
            ("PUT", "/v1/creditor-profile", profile),
            ("PUT", f"/v1/debtors/{debtor}/contact-preferences", preferences),
            (
                "POST",
                "/v1/interactions",
                {"claim_id": str(claim_id), "kind": "note", "summary": note},
            ),
        ):
            answer = await api.request(method, path, json=body, headers=headers)
            assert answer.status_code in (200, 201), answer.text

    async def intact() -> None:
        async with httpx.AsyncClient(base_url=service.url, headers=headers, timeout=30) as api:
            mine = (await api.get(f"/v1/communications/{held}")).json()
            tasks = (await api.get("/v1/call-tasks")).json()["items"]
            notes = await api.get("/v1/interactions", params={"claim_id": str(claim_id)})
            set_profile = (await api.get("/v1/creditor-profile")).json()
            prefs = (await api.get(f"/v1/debtors/{debtor}/contact-preferences")).json()
        assert (mine["status"], mine["review_decision"]) == ("in_review", None)
        [open_task] = [t for t in tasks if t["task_id"] == str(task)]
        assert open_task["outcome"] is None
        assert [n["summary"] for n in notes.json()["items"]] == [note]
        assert set_profile["profile"]["creditor"]["legal_name"] == profile_name
        assert (prefs["opted_out"], prefs["opted_out_channels"]) == (False, ["sms"])

    return World(
        service=service,
        tenant=tenant,
        values={"communication_id": str(held), "task_id": str(task), "debtor_id": debtor},
        secrets=[*map(str, (claim_id, sent, task, held)), content, note, profile_name, name],
        body=_communications_bodies(str(claim_id)),
        intact=intact,
    )


#: How to put a first tenant's data in each declared service, in the order of ``declared()``
#: (each seed sees the worlds seeded before it).
SEEDS = {
    "claims": seed_claims,
    "risk": seed_risk,
    "dunning": seed_dunning,
    "communications": seed_communications,
    "disputes": seed_disputes,
}
