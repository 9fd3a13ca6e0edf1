"""The isolation matrix: every route of every declared service, against a live process.

For each route (health and docs excluded): no token gets 401; a token of the right tenant with
every scope but the one the route needs gets 403; another tenant's token with every scope gets
404, or an answer that shows nothing of the first tenant's data (an empty list, its own new
claim), never a 409 that would reveal that the first tenant has something, and the first
tenant's data is as it was afterwards. A new route is in the matrix by construction; a new
service must say how to seed its first tenant and check its data intact (``SEEDS``).

All services read one log, as in production: the claim the claims seed registers is the debtor
risk assesses, whose credit limit (below the claim) raises the first tenant's alert.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta

import httpx
import pytest
from fastapi.routing import APIRoute

from amiable_events.service import build_app, declared
from tests.support import (
    TEST_JWT_SECRET,
    ServiceProcess,
    auth,
    create_topic,
    delete_topics,
    drop_schemas,
    ensure_dlq,
    eventually,
    free_port,
    service_env,
)

pytestmark = pytest.mark.integration

#: Routes every service has that need no token: liveness, readiness, metrics.
PUBLIC = {"/healthz", "/readyz", "/metrics"}
#: Routes that span every tenant: for an operator only, so another tenant's admin gets 403.
OPERATOR_ONLY = {"stateDigest"}


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    path: str
    operation_id: str
    scope: str

    def __str__(self) -> str:
        return f"{self.service}:{self.method} {self.path}"


def _scope(dependant) -> str | None:
    """The scope ``require_scope`` asks for somewhere in the route's dependencies."""
    scope = getattr(dependant.call, "scope", None)
    if isinstance(scope, str):
        return scope
    for sub in dependant.dependencies:
        found = _scope(sub)
        if found:
            return found
    return None


def _operations(app):
    """(path, methods, operation id, dependant) of every API route, included routers too."""
    for route in app.routes:
        if isinstance(route, APIRoute):
            yield route.path, route.methods, route.operation_id, route.dependant
        contexts = getattr(route, "effective_route_contexts", None)  # an included router
        if contexts is not None:
            for context in contexts():
                yield context.path, context.methods, context.operation_id, context.dependant


def _routes() -> list[Route]:
    """Every operation of every declared service's OpenAPI, with the scope its route needs."""
    found = []
    for name, service in declared().items():
        settings = service.settings(env="test", jwt_secret=TEST_JWT_SECRET)
        app = build_app(service, settings)
        scopes = {
            operation_id: _scope(dependant) for _, _, operation_id, dependant in _operations(app)
        }
        for path, operations in app.openapi()["paths"].items():
            if path in PUBLIC:
                continue
            for method, operation in operations.items():
                operation_id = operation["operationId"]
                scope = scopes.get(operation_id)
                assert scope, f"{name} {method} {path} needs no scope: every tenant route must"
                found.append(Route(name, method.upper(), path, operation_id, scope))
    return found


ROUTES = _routes()
ALL_SCOPES = sorted({scope for s in declared().values() for scope in s.all_scopes})


def bearer(tenant: str, scopes) -> dict[str, str]:
    return auth(tenant, *scopes) if scopes else {"Authorization": "Bearer x.y.z"}


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


#: How to put a first tenant's data in each declared service, in the order of ``declared()``
#: (each seed sees the worlds seeded before it).
SEEDS = {"claims": seed_claims, "risk": seed_risk, "disputes": seed_disputes}


@pytest.fixture(scope="module")
async def worlds(infra, tmp_path_factory):
    suffix = uuid.uuid4().hex[:10]
    await ensure_dlq(infra.bootstrap)
    topic = await create_topic(infra.bootstrap, f"isolation-{suffix}")
    started, made = {}, []
    try:
        for name in declared():
            assert name in SEEDS, f"say how to seed service {name} in SEEDS"
            schema = f"isolation_{suffix}"
            made.append((name, schema))
            env = service_env(
                infra,
                topic=topic,
                projection_schema=schema,
                consumer_group=f"amiable-{name}-{schema}",
            )
            log_path = tmp_path_factory.mktemp(name) / f"{name}.log"
            service = ServiceProcess(name, free_port(), env, log_path)
            started[name] = service.start().wait_ready()
        seeded = {}
        for name, service in started.items():
            seeded[name] = await SEEDS[name](service, f"first-{suffix}", seeded)
        yield seeded
    finally:
        for service in started.values():
            service.stop()
        for name, schema in made:
            await drop_schemas(infra.database_url, f"amiable_{name}", [schema])
        await delete_topics(infra.bootstrap, [topic])


async def call(world: World, route: Route, headers: dict[str, str]) -> httpx.Response:
    path = route.path.format(**world.values)
    payload = world.body(route.operation_id)
    kwargs = {}
    if payload is not None:
        content_type, body = payload
        if content_type == "application/json":
            kwargs["json"] = body
        else:
            kwargs["content"] = body.encode() if isinstance(body, str) else body
            headers = {**headers, "Content-Type": content_type}
    async with httpx.AsyncClient(base_url=world.service.url, timeout=60) as api:
        return await api.request(route.method, path, headers=headers, **kwargs)


def test_the_matrix_covers_the_routes_that_matter():
    """Issue 7: 2 of 18 tenant routes were tested this way. The statement matters most."""
    ids = {route.operation_id for route in ROUTES}
    assert {"getDebtorStatement", "getClaim", "eraseDebtorPersonalData", "listParked"} <= ids
    assert len(ROUTES) >= 20


@pytest.mark.parametrize("route", ROUTES, ids=str)
async def test_no_token_is_401(worlds, route):
    answer = await call(worlds[route.service], route, {})
    assert answer.status_code == 401, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("route", ROUTES, ids=str)
async def test_the_wrong_scope_is_403(worlds, route):
    world = worlds[route.service]
    others = [scope for scope in ALL_SCOPES if scope != route.scope]
    answer = await call(world, route, bearer(world.tenant, others))
    assert answer.status_code == 403, answer.text


@pytest.mark.parametrize("route", ROUTES, ids=str)
async def test_another_tenant_gets_404_or_nothing_of_the_first_tenant(worlds, route):
    world = worlds[route.service]
    # Another tenant per route: a 409 can then only come from the first tenant's data, never
    # from what this other tenant did on an earlier route (its own proceedings, say).
    other = f"other-{route.operation_id}-{world.tenant}"
    answer = await call(world, route, bearer(other, ALL_SCOPES))
    if route.operation_id in OPERATOR_ONLY:
        assert answer.status_code == 403, answer.text
    elif answer.status_code != 404:
        assert answer.status_code < 300, f"{answer.status_code} {answer.text}"
        leaked = [secret for secret in world.secrets if secret in answer.text]
        assert not leaked, f"{route} shows another tenant's {leaked}"
    await world.intact()


#: The risk service's own routes (the kit's admin routes, on every service, need ``admin``).
RISK_ROUTES = [r for r in ROUTES if r.service == "risk" and r.scope.startswith("risk:")]


def test_the_matrix_covers_the_risk_routes():
    scopes = {route.operation_id: route.scope for route in RISK_ROUTES}
    reads = ["getDebtorRisk", "getDebtorRiskHistory", "listRiskAlerts", "getScorecard"]
    reads.append("getRiskPortfolio")
    writes = ["recordInsolvency", "setCreditLimit", "overrideSegment"]
    expected = dict.fromkeys(reads, "risk:read") | dict.fromkeys(writes, "risk:write")
    assert expected.items() <= scopes.items()


@pytest.mark.parametrize("route", RISK_ROUTES, ids=str)
async def test_claims_scopes_neither_read_nor_write_risk(worlds, route):
    world = worlds["risk"]
    claims_scopes = declared()["claims"].all_scopes
    answer = await call(world, route, bearer(world.tenant, claims_scopes))
    assert answer.status_code == 403, answer.text


@pytest.mark.parametrize("route", [r for r in RISK_ROUTES if r.scope == "risk:write"], ids=str)
async def test_risk_read_cannot_write(worlds, route):
    world = worlds["risk"]
    answer = await call(world, route, bearer(world.tenant, ["risk:read"]))
    assert answer.status_code == 403, answer.text
    await world.intact()


async def test_another_tenant_neither_reads_the_debtor_nor_lists_its_alerts(worlds):
    world = worlds["risk"]
    debtor = world.values["debtor_id"]
    headers = auth(f"reader-{world.tenant}", "risk:read")
    async with httpx.AsyncClient(base_url=world.service.url, timeout=30) as api:
        for path in (f"/v1/debtors/{debtor}/risk", f"/v1/debtors/{debtor}/risk/history"):
            assert (await api.get(path, headers=headers)).status_code == 404, path
        for params in ({}, {"debtor_id": debtor}, {"signal": "exposure_above_limit"}):
            listed = await api.get("/v1/risk/alerts", params=params, headers=headers)
            assert listed.status_code == 200 and listed.json()["items"] == [], params
        mix = await api.get("/v1/risk/portfolio", headers=headers)
        assert mix.json() == {"by_grade": [], "by_segment": []}
    await world.intact()


#: The disputes service's own routes
DISPUTES_ROUTES = [r for r in ROUTES if r.service == "disputes" and r.scope.startswith("disputes:")]


def test_the_matrix_covers_the_disputes_routes():
    scopes = {route.operation_id: route.scope for route in DISPUTES_ROUTES}
    reads = ["listDisputes", "getDisputeStats", "getDispute"]
    writes = ["openDispute", "assignDispute", "mediateDispute", "resolveDispute"]
    writes += ["withdrawDispute", "commentDispute", "reclassifyDispute"]
    expected = dict.fromkeys(reads, "disputes:read") | dict.fromkeys(writes, "disputes:write")
    assert expected == scopes


async def test_another_tenant_neither_reads_nor_counts_the_disputes(worlds):
    world = worlds["disputes"]
    headers = auth(f"reader-{world.tenant}", "disputes:read")
    async with httpx.AsyncClient(base_url=world.service.url, timeout=30) as api:
        one = await api.get(f"/v1/disputes/{world.values['dispute_id']}", headers=headers)
        assert one.status_code == 404
        for params in ({}, {"claim_id": world.values["claim_id"]}, {"status": "under_review"}):
            listed = await api.get("/v1/disputes", params=params, headers=headers)
            assert listed.status_code == 200 and listed.json()["items"] == [], params
        stats = (await api.get("/v1/disputes/stats", headers=headers)).json()
        assert stats["open_total"] == 0 and stats["open"] == {}
    await world.intact()
