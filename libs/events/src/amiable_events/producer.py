"""Appends events to the claim log: idempotent producer, acks=all, murmur2 keyed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from aiokafka import AIOKafkaProducer
from opentelemetry.trace import SpanKind

from amiable_events.envelope import Envelope, encode
from amiable_events.topics import CLAIM_EVENTS_TOPIC
from amiable_events.tracing import inject_headers, tracer


@dataclass(frozen=True, slots=True)
class Appended:
    event_id: str
    partition: int
    offset: int


class EventLog:
    """The write side of ``claim-events.v1``. aiokafka's default partitioner is murmur2, the
    same as Kafka's Java clients, so every client agrees where a debtor account lives."""

    def __init__(self, bootstrap: str, *, topic: str = CLAIM_EVENTS_TOPIC, client_id: str) -> None:
        self.topic = topic
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=2,
            max_batch_size=256 * 1024,
            request_timeout_ms=30_000,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def append(self, envelopes: Sequence[Envelope]) -> list[Appended]:
        """Send all, then wait for every acknowledgement; the offsets come back in order."""
        futures = []
        with tracer().start_as_current_span(
            f"send {self.topic}",
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.operation.name": "send",
                "messaging.destination.name": self.topic,
                "messaging.batch.message_count": len(envelopes),
            },
        ) as span:
            carrier = inject_headers() if span.get_span_context().is_valid else {}
            for envelope in envelopes:
                if carrier and not envelope.traceparent:
                    envelope = replace(
                        envelope,
                        traceparent=carrier.get("traceparent"),
                        tracestate=carrier.get("tracestate"),
                    )
                key, value, headers = encode(envelope)
                futures.append(
                    await self._producer.send(self.topic, value=value, key=key, headers=headers)
                )
            results = []
            for envelope, future in zip(envelopes, futures, strict=True):
                metadata = await future
                results.append(Appended(str(envelope.id), metadata.partition, metadata.offset))
            if len(results) == 1:
                span.set_attribute("messaging.destination.partition.id", str(results[0].partition))
                span.set_attribute("messaging.kafka.offset", results[0].offset)
            return results

    async def send_raw(self, topic: str, value: bytes | None, key: bytes | None, headers) -> None:
        await (await self._producer.send(topic, value=value, key=key, headers=headers))
