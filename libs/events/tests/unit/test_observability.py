"""A service's log lines are JSON objects carrying the trace, the tenant and the claim they are
about, redacted; the tracing rules that keep a claim's story one readable trace and free of
personal data."""

from __future__ import annotations

import io
import logging
import uuid
from datetime import UTC, datetime

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, Decision
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from amiable_events.communications import CommunicationQueued
from amiable_events.envelope import Envelope
from amiable_events.logs import JsonLines, Redacting, install_logging, log_context
from amiable_events.tracing import NoLoneStatements, event_attributes, inside, instrument_http

SEALED = "pii:v1:QUJDREVGR0hJSktMTU5PUA=="
TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
SPAN_ID = 0xB7AD6B7169203331


@pytest.fixture
def lines():
    """What a logger writes through a handler set up as the kit sets it up, one dict a line."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(Redacting())
    handler.setFormatter(JsonLines("amiable-test"))
    logger = logging.getLogger("test-json-logs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield logger, lambda: [orjson.loads(line) for line in out.getvalue().splitlines()]
    finally:
        logger.removeHandler(handler)


def _span() -> trace.Span:
    return NonRecordingSpan(
        SpanContext(TRACE_ID, SPAN_ID, is_remote=False, trace_flags=TraceFlags(1))
    )


def test_a_line_inside_a_span_names_its_trace_tenant_and_claim(lines) -> None:
    logger, read = lines
    with inside(_span(), "acme", "claim-1"):
        logger.warning("parked %s", SEALED)
    [line] = read()
    assert line["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert line["span_id"] == "b7ad6b7169203331"
    assert (line["tenant"], line["claim_id"]) == ("acme", "claim-1")
    assert (line["service"], line["level"], line["logger"]) == (
        "amiable-test",
        "WARNING",
        "test-json-logs",
    )
    assert line["message"] == "parked pii:v1:[redacted]"
    assert datetime.fromisoformat(line["timestamp"]).tzinfo is not None


def test_a_line_about_nothing_known_has_no_trace_tenant_or_claim(lines) -> None:
    logger, read = lines
    with log_context("acme"):
        logger.info("inside a tenant only")
    try:
        raise ValueError(f"cannot apply {SEALED}")
    except ValueError:
        logger.exception("failed")
    tenant_only, bare = read()
    assert tenant_only["tenant"] == "acme" and "claim_id" not in tenant_only
    assert not {"trace_id", "span_id", "tenant", "claim_id"} & set(bare)
    assert "ValueError: cannot apply pii:v1:[redacted]" in bare["exception"]


def test_text_format_keeps_the_plain_formatter(monkeypatch) -> None:
    handler = logging.StreamHandler(io.StringIO())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        monkeypatch.setenv("AMIABLE_LOG_FORMAT", "text")
        install_logging("amiable-test")
        assert not isinstance(handler.formatter, JsonLines)
        assert any(isinstance(f, Redacting) for f in handler.filters)
        monkeypatch.setenv("AMIABLE_LOG_FORMAT", "json")
        install_logging("amiable-test")
        assert isinstance(handler.formatter, JsonLines)
    finally:
        root.removeHandler(handler)


def test_a_statement_outside_any_span_is_not_traced() -> None:
    sampler = NoLoneStatements(ALWAYS_ON)
    within = trace.set_span_in_context(_span())

    def decision(kind, context=None):
        return sampler.should_sample(context, TRACE_ID, "SELECT", kind).decision

    assert decision(SpanKind.CLIENT) == Decision.DROP
    assert decision(SpanKind.CLIENT, within) == Decision.RECORD_AND_SAMPLE
    assert decision(SpanKind.SERVER) == Decision.RECORD_AND_SAMPLE
    assert decision(SpanKind.INTERNAL) == Decision.RECORD_AND_SAMPLE
    provider = TracerProvider(sampler=sampler)
    lone = provider.get_tracer("test").start_span("SELECT", kind=SpanKind.CLIENT)
    assert not lone.is_recording()


def test_a_message_about_several_claims_names_its_leader_and_all_of_them() -> None:
    leader, other = uuid.uuid4(), uuid.uuid4()
    queued = CommunicationQueued.model_construct(
        claim_id=leader, communication_id=uuid.uuid4(), claims=(leader, other)
    )
    envelope = Envelope(
        id=uuid.uuid4(),
        subject=str(leader),
        time=datetime(2026, 1, 5, tzinfo=UTC),
        tenant="acme",
        debtor_id="D-1",
        correlation_id=leader,
        data=queued,
    )
    attributes = event_attributes(envelope)
    assert attributes["amiable.claim_id"] == str(leader)
    assert attributes["amiable.claim_ids"] == f"{leader},{other}"
    assert attributes["amiable.tenant"] == "acme"
    assert attributes["amiable.event_type"] == CommunicationQueued.type


def test_a_request_is_a_server_span_without_its_query_and_the_probes_are_not_traced() -> None:
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = FastAPI()

    @app.get("/v1/items/{item_id}")
    async def item(item_id: str, name: str = "") -> dict:
        return {"id": item_id}

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    instrument_http(app)
    try:
        with TestClient(app) as client:
            assert client.get("/v1/items/a1", params={"name": "Claire Martin"}).status_code == 200
            assert client.get("/healthz").status_code == 200
        [span] = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    finally:
        exporter.shutdown()
    assert span.attributes["http.route"] == "/v1/items/{item_id}"
    assert not any("Claire" in str(value) for value in span.attributes.values())
    assert span.attributes["http.target"] == "/v1/items/a1"
