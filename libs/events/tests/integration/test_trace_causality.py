"""What an event causes is parented on the span that processed it: a reaction's events are
processed under the processing span of their trigger, one trace from the first send; a batch of
one event runs its statements inside its span."""

from __future__ import annotations

from dataclasses import replace

import pytest
from opentelemetry.trace import SpanKind

from amiable_events.catalog import REGISTRY
from amiable_events.db import create_engine
from amiable_events.producer import EventLog
from amiable_events.projection import ProjectionRunner, ProjectionStore
from amiable_events.reactions import Reactor
from libs.events.tests.integration.reacting_process import QualifierProjector, reactions
from tests.factories import registered
from tests.support import create_topic, delete_topics, drop_schemas, eventually

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SENT_BY = "00f067aa0ba902b7"
REGISTERED = "amiable.claims.claim-registered.v1"
QUALIFIED = "amiable.claims.claim-qualified.v1"


async def test_a_reactions_events_are_processed_under_their_triggers_processing(
    infra, unique, finished_spans
):
    topic = await create_topic(infra.bootstrap, f"causality-{unique}")
    schema, service = f"causality_{unique}", f"qualifier-{unique}"
    log = EventLog(infra.bootstrap, topic=topic, client_id=service)
    await log.start()
    engine = create_engine(infra.database_url, "amiable_claims")
    store = ProjectionStore(
        QualifierProjector(service),
        engine,
        REGISTRY,
        schema=schema,
        reactor=Reactor(reactions(service)),
        log=log,
    )
    await store.create()
    runner = ProjectionRunner(
        store, bootstrap=infra.bootstrap, topic=topic, dlq_producer=log, group_id=service
    )
    finished_spans.clear()
    await runner.start()
    try:
        trigger = replace(registered(1, tenant=unique), traceparent=f"00-{TRACE_ID}-{SENT_BY}-01")
        await log.append([trigger])
        claim_id = str(trigger.data.claim_id)

        def processed(event_type: str):
            return [
                s
                for s in finished_spans.get_finished_spans()
                if s.kind == SpanKind.CONSUMER
                and s.attributes["cloudevents.event_type"] == event_type
                and s.attributes.get("amiable.claim_id") == claim_id
            ]

        [qualified] = await eventually(lambda: processed(QUALIFIED), timeout=30)
        [registration] = processed(REGISTERED)
    finally:
        await runner.stop()
        await log.stop()
        await engine.dispose()
        await drop_schemas(infra.database_url, "amiable_claims", [schema])
        await delete_topics(infra.bootstrap, [topic])

    spans = {s.context.span_id: s for s in finished_spans.get_finished_spans()}
    assert format(registration.context.trace_id, "032x") == TRACE_ID
    assert format(registration.parent.span_id, "016x") == SENT_BY
    # ClaimQualified was sent in a span parented on the registration's processing, and carries
    # that processing span as its cause: its own processing is that span's child.
    assert qualified.parent.span_id == registration.context.span_id
    assert qualified.context.trace_id == registration.context.trace_id
    [send] = [
        s
        for s in spans.values()
        if s.kind == SpanKind.PRODUCER
        and s.parent
        and s.parent.span_id == registration.context.span_id
    ]
    assert send.attributes["amiable.claim_id"] == claim_id
    assert send.context.trace_id == registration.context.trace_id
    # The registration was a batch of its own: its statements are its children.
    statements = [
        s
        for s in spans.values()
        if s.kind == SpanKind.CLIENT
        and s.parent
        and s.parent.span_id == registration.context.span_id
    ]
    assert statements and all("db.statement" in s.attributes for s in statements)
    assert registration.attributes["amiable.tenant"] == unique
