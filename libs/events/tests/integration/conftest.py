from collections.abc import Iterator

import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased

from amiable_events.tracing import NoLoneStatements


@pytest.fixture(scope="module")
def finished_spans() -> Iterator[InMemorySpanExporter]:
    """The spans that end in this module, PostgreSQL statements included (a tracer provider is
    installed once per process: whichever test installs it first, the others add their exporter
    to it; an exporter shut down keeps nothing more)."""
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider(sampler=NoLoneStatements(ParentBased(ALWAYS_ON)))
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    statements = AsyncPGInstrumentor()
    instrumented = statements.is_instrumented_by_opentelemetry
    if not instrumented:
        statements.instrument()
    yield exporter
    if not instrumented:
        statements.uninstrument()
    exporter.shutdown()
