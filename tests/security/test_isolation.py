"""The isolation matrix: every route of every declared service, against a live process.

For each route (health and docs excluded): no token gets 401; a token of the right tenant with
every scope but the one the route needs gets 403; another tenant's token with every scope gets
404, or an answer that shows nothing of the first tenant's data (an empty list, its own new
claim), never a 409 that would reveal that the first tenant has something, and the first
tenant's data is as it was afterwards. A new route is in the matrix by construction; a new
service must say how to seed its first tenant and check its data intact (``SEEDS``, in
tests/security/worlds.py).

All services read one log, as in production: the claim the claims seed registers is the debtor
risk assesses, whose credit limit (below the claim) raises the first tenant's alert, and the
claim dunning plans.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import APIRoute

from amiable_events.service import build_app, declared
from tests.security.worlds import SEEDS, SHIPPED_POLICY, World
from tests.support import (
    TEST_JWT_SECRET,
    ServiceProcess,
    auth,
    create_topic,
    delete_topics,
    drop_schemas,
    ensure_dlq,
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


#: The dunning service's own routes
DUNNING_ROUTES = [r for r in ROUTES if r.service == "dunning" and r.scope.startswith("dunning:")]
DUNNING_WRITES = [r for r in DUNNING_ROUTES if r.scope == "dunning:write"]


def test_the_matrix_covers_the_dunning_routes():
    scopes = {route.operation_id: route.scope for route in DUNNING_ROUTES}
    reads = ["getClaimDunning", "listUpcomingDunningSteps", "listDunningApprovals"]
    reads += ["listDunningPolicies", "simulateDunningPolicy"]
    writes = ["approveDunningStep", "publishDunningPolicy", "activateDunningPolicy"]
    expected = dict.fromkeys(reads, "dunning:read") | dict.fromkeys(writes, "dunning:write")
    assert expected == scopes


@pytest.mark.parametrize("route", DUNNING_WRITES, ids=str)
async def test_dunning_read_cannot_write(worlds, route):
    world = worlds["dunning"]
    answer = await call(world, route, bearer(world.tenant, ["dunning:read"]))
    assert answer.status_code == 403, answer.text
    await world.intact()


async def test_another_tenant_neither_reads_nor_lists_nor_simulates_the_dunning(worlds):
    world = worlds["dunning"]
    headers = auth(f"reader-{world.tenant}", "dunning:read")
    planned = worlds["claims"].values["claim_id"]
    async with httpx.AsyncClient(base_url=world.service.url, timeout=30) as api:
        for claim_id in (world.values["claim_id"], planned):
            one = await api.get(f"/v1/claims/{claim_id}/dunning", headers=headers)
            assert one.status_code == 404, claim_id
        for path in ("/v1/dunning/upcoming", "/v1/dunning/approvals"):
            listed = await api.get(path, params={"limit": 500}, headers=headers)
            assert listed.status_code == 200 and listed.json()["items"] == [], path
        policies = (await api.get("/v1/policies", headers=headers)).json()
        assert [item["shipped_default"] for item in policies["items"]] == [True]
        simulated = await api.post(
            f"/v1/policies/{SHIPPED_POLICY['id']}/simulate",
            json={"version": SHIPPED_POLICY["version"], "claims": {"all": True}},
            headers=headers,
        )
        assert simulated.status_code == 200, simulated.text
        assert simulated.json()["claims_total"] == 0
    await world.intact()


async def test_another_tenant_publishes_the_first_tenants_policy_id_and_version_as_its_own(worlds):
    """A 409 would tell it the first tenant has published that version."""
    world = worlds["dunning"]
    other = f"publisher-{world.tenant}"
    headers = auth(other, "dunning:read", "dunning:write")
    mine = world.body("activateDunningPolicy")[1]["version"]
    policy = {**SHIPPED_POLICY, "id": world.values["policy_id"], "version": mine}
    policy["consolidation_window_business_days"] = 3
    async with httpx.AsyncClient(base_url=world.service.url, timeout=30) as api:
        answer = await api.post("/v1/policies", json=policy, headers=headers)
        assert answer.status_code == 201, answer.text
        assert answer.headers.get("Idempotent-Replayed") != "true"
    await world.intact()


#: The communications service's own routes
COMMUNICATIONS_ROUTES = [
    r for r in ROUTES if r.service == "communications" and r.scope.startswith("communications:")
]


def test_the_matrix_covers_the_communications_routes():
    scopes = {route.operation_id: route.scope for route in COMMUNICATIONS_ROUTES}
    reads = ["listCommunications", "getCommunication", "listCallTasks", "listReviewQueue"]
    reads += ["listInteractions", "getCreditorProfile", "getContactPreferences", "previewTemplate"]
    writes = ["recordTracking", "recordCallOutcome", "decideReview", "recordInteraction"]
    writes += ["setCreditorProfile", "setContactPreferences"]
    expected = dict.fromkeys(reads, "communications:read")
    assert expected | dict.fromkeys(writes, "communications:write") == scopes


async def test_another_tenant_neither_reads_nor_lists_the_messages(worlds):
    world = worlds["communications"]
    headers = auth(f"reader-{world.tenant}", "communications:read")
    claim_id = world.body("recordInteraction")[1]["claim_id"]
    async with httpx.AsyncClient(base_url=world.service.url, timeout=30) as api:
        for path in (
            f"/v1/communications/{world.values['communication_id']}",
            f"/v1/debtors/{world.values['debtor_id']}/contact-preferences",
            "/v1/creditor-profile",
        ):
            assert (await api.get(path, headers=headers)).status_code == 404, path
        for path, params in (
            ("/v1/communications", {}),
            ("/v1/communications", {"claim_id": claim_id}),
            ("/v1/call-tasks", {}),
            ("/v1/call-tasks", {"status": "done"}),
            ("/v1/review-queue", {}),
            ("/v1/interactions", {}),
            ("/v1/interactions", {"claim_id": claim_id}),
        ):
            listed = await api.get(path, params=params, headers=headers)
            assert listed.status_code == 200 and listed.json()["items"] == [], (path, params)
    await world.intact()
