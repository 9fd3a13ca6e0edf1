"""OpenTelemetry set-up from the standard ``OTEL_*`` variables, and W3C context in Kafka headers.

Ops follow one claim across services: the producer injects ``traceparent`` into the record, the
projection runner opens a CONSUMER span per event, parented on and linked to that context.
"""

from __future__ import annotations

import os

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

TRACER_NAME = "amiable"


def configure_tracing(service: str) -> TracerProvider | None:
    """Install a tracer provider unless one is installed or ``OTEL_SDK_DISABLED`` is true.

    Exporters follow ``OTEL_TRACES_EXPORTER`` (``otlp`` when an OTLP endpoint is set, ``none``
    otherwise); the OTLP exporter reads ``OTEL_EXPORTER_OTLP_*`` itself.
    """
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)})
    provider = TracerProvider(resource=resource)
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


def tracer() -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME)


def inject_headers() -> dict[str, str]:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_context(traceparent: str | None, tracestate: str | None):
    carrier = {}
    if traceparent:
        carrier["traceparent"] = traceparent
    if tracestate:
        carrier["tracestate"] = tracestate
    return propagate.extract(carrier)
