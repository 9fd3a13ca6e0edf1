"""The kit's metrics: requests labelled by route template (never the raw path), the trace id as
the duration's exemplar, the OpenMetrics page on request, and events counted once."""

from __future__ import annotations

import uuid

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import REGISTRY

from amiable_events.http import install_problem_handlers, operations_router
from amiable_events.metrics import UNMATCHED, HttpMetrics, count_applied, on_live_event
from tests.factories import registered


class _Traced:
    """What the tracing middleware does for a request: a recording span, current inside, ended
    as the answer's last part goes out (as OpenTelemetry's ASGI middleware does)."""

    def __init__(self, app, tracer, trace_ids: list[str]) -> None:
        self.app = app
        self.tracer = tracer
        self.trace_ids = trace_ids

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        span = self.tracer.start_span("request")
        self.trace_ids.append(format(span.get_span_context().trace_id, "032x"))

        async def sending(message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                span.end()

        with trace.use_span(span, end_on_exit=True):
            await self.app(scope, receive, sending)


@pytest.fixture
def service() -> str:
    return f"m{uuid.uuid4().hex[:8]}"


@pytest.fixture
def client(service):
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/v1/items/{item_id}")
    async def item(item_id: str) -> dict:
        return {"id": item_id}

    app.include_router(operations_router(lambda request: None))
    app.add_middleware(HttpMetrics, service=service)
    # Right around the metrics middleware: inside any instrumentation another test installed
    # process-wide (FastAPIInstrumentor wraps every app built after it).
    trace_ids: list[str] = []
    app.add_middleware(_Traced, tracer=TracerProvider().get_tracer("test"), trace_ids=trace_ids)
    with TestClient(app) as client:
        client.trace_ids = trace_ids
        yield client


def requests(service: str, route: str, method: str, status: str) -> float | None:
    return REGISTRY.get_sample_value(
        "amiable_http_requests_total",
        {"service": service, "route": route, "method": method, "status": status},
    )


def routes_of(service: str) -> set[str]:
    return {
        sample.labels["route"]
        for family in REGISTRY.collect()
        if family.name == "amiable_http_requests"
        for sample in family.samples
        if sample.labels.get("service") == service
    }


def test_requests_are_labelled_by_route_template_not_path(client, service):
    for item_id in ("a1", "b2", "c3"):
        assert client.get(f"/v1/items/{item_id}").status_code == 200

    assert requests(service, "/v1/items/{item_id}", "GET", "200") == 3
    assert (
        REGISTRY.get_sample_value(
            "amiable_http_request_duration_seconds_count",
            {"service": service, "route": "/v1/items/{item_id}", "method": "GET"},
        )
        == 3
    )


def test_unknown_paths_share_one_label(client, service):
    for path in ("/nope/1", "/nope/2", "/wp-admin.php", "/v1/items/x/y"):
        assert client.get(path).status_code == 404

    assert requests(service, UNMATCHED, "GET", "404") == 4
    assert routes_of(service) == {UNMATCHED}


def test_an_invented_method_is_one_label(client, service):
    for method in ("FOO", "BAR"):
        assert client.request(method, "/v1/items/a1").status_code == 405

    assert requests(service, "/v1/items/{item_id}", "OTHER", "405") == 2


def test_a_wrong_method_keeps_the_route_template(client, service):
    assert client.delete("/v1/items/a1").status_code == 405

    assert requests(service, "/v1/items/{item_id}", "DELETE", "405") == 1


def test_openmetrics_scrape_carries_the_trace_id_as_exemplar(client, service):
    client.get("/v1/items/a1")
    [trace_id] = client.trace_ids

    plain = client.get("/metrics")
    scraped = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})

    assert plain.headers["content-type"].startswith("text/plain")
    assert f'trace_id="{trace_id}"' not in plain.text
    assert scraped.headers["content-type"].startswith("application/openmetrics-text")
    [bucket] = [
        line
        for line in scraped.text.splitlines()
        if line.startswith("amiable_http_request_duration_seconds_bucket")
        and f'service="{service}"' in line
        and 'route="/v1/items/{item_id}"' in line
        and "# {" in line
    ]
    assert f'# {{trace_id="{trace_id}"}}' in bucket
    assert scraped.text.rstrip().endswith("# EOF")


def test_events_below_the_horizon_are_not_counted(service):
    seen = []
    on_live_event(service, seen.append)
    events = [registered(n).at(0, n) for n in range(10)]

    # offsets 0-5 were applied by the schema this one replays (a new shape): only 6-9 are new
    count_applied(service, events, {0: 6})

    counted = REGISTRY.get_sample_value(
        "amiable_events_applied_total", {"service": service, "type": events[0].type}
    )
    assert counted == 4
    assert [e.offset for e in seen] == [6, 7, 8, 9]


def test_a_partition_without_horizon_counts_everything(service):
    events = [registered(n).at(3, n) for n in range(5)]

    count_applied(service, events, {0: 100})

    counted = REGISTRY.get_sample_value(
        "amiable_events_applied_total", {"service": service, "type": events[0].type}
    )
    assert counted == 5
