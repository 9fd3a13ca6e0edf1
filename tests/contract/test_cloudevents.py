"""A record on the real log is a CloudEvent to the official SDK, with nothing of ours in between.

Appended with the production ``EventLog``, read back with a plain aiokafka consumer, decoded
with ``cloudevents`` (2.x: ``cloudevents.core.bindings.kafka``, binary content mode).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat

from amiable_events.envelope import dataschema_for
from amiable_events.ids import caused_id
from amiable_events.producer import EventLog
from tests.factories import registered

pytestmark = [pytest.mark.contract, pytest.mark.integration]


async def _read_back(bootstrap: str, topic: str, partition: int, offset: int):
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        return await asyncio.wait_for(consumer.getone(tp), timeout=30)
    finally:
        await consumer.stop()


async def test_a_record_from_the_log_is_decoded_by_the_cloudevents_sdk(infra, fresh_topic):
    topic = await fresh_topic("contract-cloudevents")
    cause = registered(11)
    envelope = replace(
        cause.caused(
            registered(11, description="Relance amiable").data,
            id=caused_id(cause.id, "claims", "contract-test"),
            time=cause.time,
        ),
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        actor="service:claims",
    )
    log = EventLog(infra.bootstrap, topic=topic, client_id="contract-cloudevents")
    await log.start()
    try:
        [appended] = await log.append([envelope])
    finally:
        await log.stop()

    record = await _read_back(infra.bootstrap, topic, appended.partition, appended.offset)
    message = KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value)
    event = from_binary(message, JSONFormat())

    assert event.get_specversion() == "1.0"
    assert event.get_id() == str(envelope.id)
    assert event.get_type() == envelope.type == "amiable.claims.claim-registered.v1"
    assert event.get_source() == "/amiable/claims"
    assert event.get_subject() == envelope.subject
    assert event.get_time() == envelope.time
    assert event.get_datacontenttype() == "application/json"
    assert event.get_dataschema() == dataschema_for(envelope.type)
    assert event.get_extension("tenant") == envelope.tenant
    assert event.get_extension("correlationid") == str(envelope.correlation_id)
    assert event.get_extension("causationid") == str(cause.id)
    assert event.get_extension("actor") == "service:claims"
    assert event.get_extension("partitionkey") == envelope.key == "acme:debtor-11"
    assert event.get_data() == json.loads(envelope.data.model_dump_json())
    assert dict(record.headers)["traceparent"] == envelope.traceparent.encode()
