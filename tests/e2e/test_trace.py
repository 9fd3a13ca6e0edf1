"""One claim's story is one trace: claims, risk, dunning, communications and disputes run as
processes exporting their spans over OTLP/HTTP to a receiver in this test (decoding with
opentelemetry-proto, as a collector would), on an accelerated clock. From ``POST /v1/claims`` to
the first message sent (the first dunning step's, fired by a timer, released by the contact
governor's timer, delivered by the sender), every span about the claim is in the trace the HTTP
request began, each one's parent in it; the communications projection, whose rows keep spans,
still rebuilds to its live digest."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan

from tests.e2e.test_communications_chain import PROFILE, claim_body
from tests.support import auth, eventually, rebuild_gives_live_digest

pytestmark = pytest.mark.e2e

SERVICES = ("claims", "risk", "dunning", "communications", "disputes")
THREE_DAYS_A_SECOND = 259200
REGISTERED = "amiable.claims.claim-registered.v1"
STEP_DUE = "amiable.dunning.step-due.v1"
QUEUED = "amiable.communications.communication-queued.v1"
RELEASED = "amiable.communications.communication-released.v1"
SENT = "amiable.communications.communication-sent.v1"


@dataclass(frozen=True)
class Span:
    service: str
    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int
    attributes: dict

    def about(self, event_type: str) -> bool:
        return (
            self.attributes.get("cloudevents.event_type") == event_type
            or self.attributes.get("amiable.event_type") == event_type
        )


def _value(any_value):
    return getattr(any_value, any_value.WhichOneof("value"))


class Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver (protobuf): what the services export, decoded."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Export)
        self.spans: list[Span] = []
        self.lock = threading.Lock()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def take(self, request: ExportTraceServiceRequest) -> None:
        found = []
        for resource_spans in request.resource_spans:
            resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    found.append(
                        Span(
                            service=resource["service.name"],
                            trace_id=span.trace_id.hex(),
                            span_id=span.span_id.hex(),
                            parent_id=span.parent_span_id.hex(),
                            name=span.name,
                            kind=span.kind,
                            attributes={a.key: _value(a.value) for a in span.attributes},
                        )
                    )
        with self.lock:
            self.spans += found

    def snapshot(self) -> list[Span]:
        with self.lock:
            return list(self.spans)


class _Export(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/traces":
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            self.server.take(request)
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args) -> None:
        return None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _ancestry(span: Span, by_id: dict[str, Span]) -> list[Span] | None:
    """``span`` and its parents up to the root, root first; None while a parent is missing."""
    chain = [span]
    while chain[-1].parent_id:
        parent = by_id.get(chain[-1].parent_id)
        if parent is None:
            return None
        chain.append(parent)
    return chain[::-1]


def _in_order(chain: list[Span], steps: list) -> bool:
    """Whether ``steps`` (predicates) match spans of ``chain`` in that order."""
    position = 0
    for step in steps:
        while position < len(chain) and not step(chain[position]):
            position += 1
        if position == len(chain):
            return False
        position += 1
    return True


async def test_a_claims_story_across_five_services_is_one_trace(
    fresh_topic, service_process, unique, receiver
):
    topic = await fresh_topic("trace")
    clock = f"accelerated:{datetime.now(UTC).isoformat()}:{THREE_DAYS_A_SECOND}"
    common = {"topic": topic, "clock": clock, "timer_interval": "0.2", "send_interval": "0.2"}
    services = {}
    for name in SERVICES:
        service = service_process(
            name,
            consumer_group=f"tr{name[:2]}-{unique}",
            projection_schema=f"tr{name[:2]}_{unique}",
            **common,
        )
        service.env.update(
            OTEL_SDK_DISABLED="false",
            OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
            OTEL_BSP_SCHEDULE_DELAY="100",
        )
        services[name] = service
    with ThreadPoolExecutor(len(SERVICES)) as starting:
        list(starting.map(lambda s: s.start(timeout=180).wait_ready(), services.values()))

    tenant = f"trace-{unique}"
    async with (
        httpx.AsyncClient(base_url=services["claims"].url, timeout=15) as claims_api,
        httpx.AsyncClient(base_url=services["communications"].url, timeout=15) as comms_api,
    ):
        profile = await comms_api.put(
            "/v1/creditor-profile",
            json=PROFILE,
            headers=auth(tenant, "communications:read", "communications:write"),
        )
        assert profile.status_code == 200, profile.text
        created = await claims_api.post(
            "/v1/claims",
            json=claim_body(services["claims"].today, "TR-1", "D-1", f"d1-{unique}@x.example"),
            headers=auth(tenant, "claims:write", "claims:read"),
        )
        assert created.status_code == 201, created.text
        claim_id = created.json()["id"]

    def story() -> list[Span] | None:
        """The claim's spans once disputes has processed its first CommunicationSent."""
        spans = [s for s in receiver.snapshot() if s.attributes.get("amiable.claim_id") == claim_id]
        done = any(s.service == "amiable-disputes" and s.about(SENT) for s in spans)
        return spans if done else None

    about_claim = await eventually(story, timeout=45, interval=0.2)
    [trace_id] = {s.trace_id for s in about_claim}
    [sent_processed] = [s for s in about_claim if s.service == "amiable-disputes" and s.about(SENT)]

    def whole() -> list[Span] | None:
        """The trace once the last span's every ancestor and all five services are in it: each
        service exports in its own batches, so a child can reach the receiver before its parent
        (CI once saw disputes' span before communications' send)."""
        in_trace = [s for s in receiver.snapshot() if s.trace_id == trace_id]
        services_in = {s.service for s in in_trace}
        if len(services_in) < len(SERVICES):
            return None
        return in_trace if _ancestry(sent_processed, {s.span_id: s for s in in_trace}) else None

    in_trace = await eventually(whole, timeout=15, interval=0.2)
    everything = receiver.snapshot()
    by_id = {s.span_id: s for s in in_trace}

    [root] = [s for s in in_trace if not s.parent_id]
    assert root.service == "amiable-claims"
    assert root.kind == ProtoSpan.SPAN_KIND_SERVER
    assert root.attributes.get("http.route") == "/v1/claims", root
    assert root.attributes.get("http.method", root.attributes.get("http.request.method")) == "POST"
    assert root.attributes["amiable.claim_id"] == claim_id
    assert {s.service for s in in_trace} == {f"amiable-{name}" for name in SERVICES}
    statements = [s for s in in_trace if s.kind == ProtoSpan.SPAN_KIND_CLIENT]
    assert statements and all("db.statement" in s.attributes for s in statements)
    assert not any(k.startswith("db.statement.param") for s in everything for k in s.attributes)

    chain = _ancestry(sent_processed, by_id)
    assert chain[0] == root

    def span(service: str, kind: int, event_type: str | None = None, name: str | None = None):
        def matches(s: Span) -> bool:
            return (
                s.service == f"amiable-{service}"
                and s.kind == kind
                and (event_type is None or s.about(event_type))
                and (name is None or s.name.startswith(name))
            )

        return matches

    producer, consumer = ProtoSpan.SPAN_KIND_PRODUCER, ProtoSpan.SPAN_KIND_CONSUMER
    steps = [
        span("claims", ProtoSpan.SPAN_KIND_SERVER),
        span("claims", producer, name="send"),
        span("dunning", producer, STEP_DUE, name="timer"),
        span("communications", consumer, STEP_DUE),
        span("communications", consumer, QUEUED),
        span("communications", producer, RELEASED, "timer"),
        span("communications", consumer, RELEASED),
        span("communications", ProtoSpan.SPAN_KIND_INTERNAL, name="deliver"),
        span("communications", producer, name="send"),
        span("disputes", consumer, SENT),
    ]
    assert _in_order(chain, steps), [(s.service, s.name, s.attributes) for s in chain]

    # Risk scores the debtor from the registration, in the same trace.
    [registration_send] = [
        s for s in chain if s.service == "amiable-claims" and s.name.startswith("send")
    ]
    risk_saw = [s for s in in_trace if s.service == "amiable-risk" and s.about(REGISTERED)]
    assert risk_saw and all(s.parent_id == registration_send.span_id for s in risk_saw)

    # The rows that keep a span (timers, the released message) are not state: with tracing on,
    # a rebuild, which opens no span, still gives the live digest.
    for name in ("claims", "risk", "dunning", "disputes"):
        services[name].kill()
    await rebuild_gives_live_digest(services["communications"])
