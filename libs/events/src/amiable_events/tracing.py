"""OpenTelemetry set-up from the standard ``OTEL_*`` variables, and W3C context in Kafka headers.

One claim's story is one trace (docs/observability.md): the HTTP server span of the command,
the send of its events, each service's processing span of each event, and every event that
processing causes (a reaction, a timer it arms, a message the sender sends), each parented on
the processing span of the event that caused it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    Decision,
    Sampler,
    SamplingResult,
    _get_from_env_or_default,
)
from opentelemetry.trace import SpanKind

from amiable_events.logs import log_context

TRACER_NAME = "amiable"
#: Routes probed every few seconds: a trace each would bury the claims' traces.
UNTRACED_ROUTES = "/healthz,/readyz,/metrics"


class NoLoneStatements(Sampler):
    """A database statement outside any request, event or timer span (the runner storing its
    positions, the timer loop polling) is not traced: it would be a trace of one span, many a
    second. Everything else follows ``OTEL_TRACES_SAMPLER``."""

    def __init__(self, sampler: Sampler) -> None:
        self._sampler = sampler

    def should_sample(
        self,
        parent_context,
        trace_id,
        name,
        kind=None,
        attributes=None,
        links=None,
        trace_state=None,
    ) -> SamplingResult:
        parent = trace.get_current_span(parent_context).get_span_context()
        if kind == SpanKind.CLIENT and not parent.is_valid:
            return SamplingResult(Decision.DROP)
        return self._sampler.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"NoLoneStatements{{{self._sampler.get_description()}}}"


def configure_tracing(service: str) -> TracerProvider | None:
    """Install a tracer provider unless one is installed or ``OTEL_SDK_DISABLED`` is true, and
    trace every PostgreSQL statement (asyncpg: the engines' and ``db.raw()``'s; the statement
    text only, never its parameters).

    Exporters follow ``OTEL_TRACES_EXPORTER`` (``otlp`` when an OTLP endpoint is set, ``none``
    otherwise); the OTLP exporter reads ``OTEL_EXPORTER_OTLP_*`` itself.
    """
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor

    AsyncPGInstrumentor(capture_parameters=False).instrument()
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)})
    provider = TracerProvider(
        resource=resource, sampler=NoLoneStatements(_get_from_env_or_default())
    )
    exporter_names = os.environ.get("OTEL_TRACES_EXPORTER")
    if exporter_names is None:
        has_endpoint = any(
            name in os.environ
            for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        )
        exporter_names = "otlp" if has_endpoint else "none"
    for name in filter(None, (part.strip() for part in exporter_names.split(","))):
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
        elif name != "none":
            raise ValueError(f"OTEL_TRACES_EXPORTER={name!r} is not supported (otlp, console)")
    trace.set_tracer_provider(provider)
    return provider


def instrument_http(app) -> None:
    """A SERVER span per request (not the probes), without the query string: a filter may
    name a debtor."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    def without_query(span: trace.Span, scope: dict[str, Any]) -> None:
        attributes = getattr(span, "attributes", None) or {}
        for name in ("http.url", "http.target", "url.full"):
            value = attributes.get(name)
            if isinstance(value, str) and "?" in value:
                span.set_attribute(name, value.partition("?")[0])
        if attributes.get("url.query"):
            span.set_attribute("url.query", "[redacted]")

    FastAPIInstrumentor.instrument_app(
        app,
        excluded_urls=UNTRACED_ROUTES,
        exclude_spans=["receive", "send"],
        server_request_hook=without_query,
    )


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def inject_headers() -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_context(traceparent: str | None, tracestate: str | None) -> Context:
    carrier = {}
    if traceparent:
        carrier["traceparent"] = traceparent
    if tracestate:
        carrier["tracestate"] = tracestate
    return propagate.extract(carrier)


def context_of(span: trace.Span) -> tuple[str | None, str | None]:
    """``(traceparent, tracestate)`` naming ``span`` as the parent of what it causes."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent"), carrier.get("tracestate")


def with_parent(envelope, span: trace.Span):
    """``envelope`` with ``span`` as the parent of its processing: what caused it."""
    traceparent, tracestate = context_of(span)
    return replace(envelope, traceparent=traceparent, tracestate=tracestate)


def claim_of(event: Any) -> str | None:
    """The claim an event is about: its ``claim_id`` (a consolidated message's leading claim)."""
    claim_id = getattr(event, "claim_id", None)
    return None if claim_id is None else str(claim_id)


def event_attributes(envelope) -> dict[str, Any]:
    """What a span about one event says of it. A message about several claims names its
    leading claim in ``amiable.claim_id`` and all of them, comma-separated, in
    ``amiable.claim_ids``."""
    attributes: dict[str, Any] = {
        "amiable.tenant": envelope.tenant,
        "amiable.event_type": envelope.type,
    }
    claim_id = claim_of(envelope.data)
    if claim_id is not None:
        attributes["amiable.claim_id"] = claim_id
    claims = getattr(envelope.data, "claims", None)
    if claims and len(claims) > 1:
        attributes["amiable.claim_ids"] = ",".join(str(claim) for claim in claims)
    return attributes


@contextlib.contextmanager
def inside(span: trace.Span, tenant: str | None, claim_id: str | None) -> Iterator[None]:
    """``span`` current (what runs here is its child, and its log lines carry its ids), with
    the tenant and claim for the log lines; the span is not ended on the way out."""
    with trace.use_span(span, end_on_exit=False), log_context(tenant, claim_id):
        yield
