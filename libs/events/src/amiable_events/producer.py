"""Appends events to the claim log: idempotent producer, acks=all, murmur2 keyed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind

from amiable_events.envelope import Envelope, encode
from amiable_events.topics import CLAIM_EVENTS_TOPIC, partition_for
from amiable_events.tracing import claim_of, extract_context, inject_headers, tracer


@dataclass(frozen=True, slots=True)
class Appended:
    event_id: str
    partition: int
    offset: int


#: (index in the append, key, value, headers) of one encoded record.
_Record = tuple[int, bytes, bytes, list]

#: What a record adds to a batch besides its key, value and header bytes (lengths, deltas and
#: attributes as varints take at most about 30): counted high, so that a batch never overflows.
_RECORD_OVERHEAD = 64


def _batches(accounts: Iterable[list[_Record]], max_bytes: int) -> Iterator[list[_Record]]:
    """The records of one partition's accounts packed into record batches of at most about
    ``max_bytes``, an account's records never split across two: each lands all or none."""
    batch: list[_Record] = []
    size = 0
    for records in accounts:
        needed = sum(
            len(key) + len(value) + sum(len(n) + len(v) for n, v in headers) + _RECORD_OVERHEAD
            for _, key, value, headers in records
        )
        if batch and size + needed > max_bytes * 3 // 4:
            yield batch
            batch, size = [], 0
        batch += records
        size += needed
    if batch:
        yield batch


def _cause(envelopes: Sequence[Envelope]) -> Context | None:
    """The send's parent: the current span (a request's, a timer's, the sender's), else the
    span that caused the first event (a batch of reactions, appended after their triggers'
    processing spans ended). The current span, about to append events about one claim, is
    marked as being about it (a registration learns its claim id only here)."""
    current = trace.get_current_span()
    if current.get_span_context().is_valid:
        about = _about(envelopes)
        if current.is_recording() and "amiable.claim_id" in about:
            current.set_attribute("amiable.claim_id", about["amiable.claim_id"])
        return None
    first = envelopes[0] if envelopes else None
    if first is None or not first.traceparent:
        return None
    return extract_context(first.traceparent, first.tracestate)


def _about(envelopes: Sequence[Envelope]) -> dict[str, Any]:
    """Events about one claim name it; about several, they name them all (at most 100)."""
    claims = list(dict.fromkeys(filter(None, (claim_of(e.data) for e in envelopes))))
    tenants = {envelope.tenant for envelope in envelopes}
    about: dict[str, Any] = {"amiable.tenant": tenants.pop()} if len(tenants) == 1 else {}
    if len(claims) == 1:
        about["amiable.claim_id"] = claims[0]
    elif claims:
        about["amiable.claim_ids"] = ",".join(claims[:100])
    return about


class EventLog:
    """The write side of ``claim-events.v1``. aiokafka's default partitioner is murmur2, the
    same as Kafka's Java clients, so every client agrees where a debtor account lives."""

    def __init__(
        self,
        bootstrap: str,
        *,
        topic: str = CLAIM_EVENTS_TOPIC,
        client_id: str,
        append_timeout: float = 5.0,
        kafka_options: dict[str, Any] | None = None,
    ) -> None:
        self.topic = topic
        self.append_timeout = append_timeout
        self._max_batch_size = 256 * 1024
        self._partition_count: int | None = None
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            client_id=client_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=2,
            max_batch_size=self._max_batch_size,
            request_timeout_ms=30_000,
            # TLS and SASL: amiable_events.kafka.client_security.
            **(kafka_options or {}),
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def append(self, envelopes: Sequence[Envelope], *, atomic: bool = True) -> list[Appended]:
        """Append, then wait for every acknowledgement; the offsets come back in order.

        ``atomic``: an account's events land all or none (a command's). Without it they may be
        split over several record batches, in order: reactions, whose ids derive from their
        triggers, so that a crash between two batches re-appends the same records; and one
        trigger may cause more than a batch holds (a debtor's segment change re-plans every one
        of its claims).

        Bounded by ``append_timeout`` (plus a little per record, for imports): with the broker
        down the caller gets :class:`KafkaTimeoutError` (a 503 for a request) instead of waiting
        for the producer's own 30 s. The records may still go out later; a command's retry is
        idempotent.
        """
        timeout = self.append_timeout + len(envelopes) / 2000
        try:
            return await asyncio.wait_for(self._append(envelopes, atomic), timeout)
        except TimeoutError as exc:
            raise KafkaTimeoutError(f"the broker did not acknowledge within {timeout}s") from exc

    async def _append(self, envelopes: Sequence[Envelope], atomic: bool) -> list[Appended]:
        """The events of one debtor account go to the broker in one record batch, which the
        broker appends as a unit: a command's events (``ClaimRegistered`` + ``ClaimQualified``)
        land all or none, and no reader ever sees the first without the second. Accounts of one
        partition share batches (an import's 20,000 accounts go out as a few hundred batches,
        not 20,000: the idempotent producer sends one batch per partition at a time).
        """
        with tracer().start_as_current_span(
            f"send {self.topic}",
            context=_cause(envelopes),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.operation.type": "send",
                "messaging.operation.name": "send",
                "messaging.destination.name": self.topic,
                "messaging.batch.message_count": len(envelopes),
                **_about(envelopes),
            },
        ) as span:
            carrier = inject_headers() if span.get_span_context().is_valid else {}
            partitions = await self._partitions()
            # partition -> account (or record, when not atomic) -> its records, in order
            placed: dict[int, dict[str | int, list[_Record]]] = {}
            for index, envelope in enumerate(envelopes):
                if carrier and not envelope.traceparent:
                    envelope = replace(
                        envelope,
                        traceparent=carrier.get("traceparent"),
                        tracestate=carrier.get("tracestate"),
                    )
                key, value, headers = encode(envelope)
                accounts = placed.setdefault(partition_for(key, partitions), {})
                unit = envelope.key if atomic else index
                accounts.setdefault(unit, []).append((index, key, value, headers))
            sent = [
                (records, await self._send_together(partition, records))
                for partition, accounts in placed.items()
                for records in _batches(accounts.values(), self._max_batch_size)
            ]
            offsets: dict[int, tuple[int, int]] = {}
            for records, future in sent:
                metadata = await future
                for position, (index, *_) in enumerate(records):
                    offsets[index] = (metadata.partition, metadata.offset + position)
            results = [
                Appended(str(envelope.id), *offsets[index])
                for index, envelope in enumerate(envelopes)
            ]
            if len(results) == 1:
                span.set_attribute("messaging.destination.partition.id", str(results[0].partition))
                span.set_attribute("messaging.kafka.offset", results[0].offset)
            return results

    async def _send_together(self, partition: int, records: list[_Record]):
        """One record batch, which the broker appends as a unit. The future's offset is the
        batch's first; the records follow it one by one."""
        if len(records) == 1:
            _, key, value, headers = records[0]
            return await self._producer.send(self.topic, value=value, key=key, headers=headers)
        batch = self._producer.create_batch()
        for _, key, value, headers in records:
            if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                raise ValueError(
                    f"{len(records)} events of one account exceed one record batch "
                    f"({self._max_batch_size} bytes)"
                )
        return await self._producer.send_batch(batch, self.topic, partition=partition)

    async def _partitions(self) -> int:
        if self._partition_count is None:
            partitions = await self._producer.partitions_for(self.topic)
            self._partition_count = len(partitions)
        return self._partition_count

    async def send_raw(self, topic: str, value: bytes | None, key: bytes | None, headers) -> None:
        await (await self._producer.send(topic, value=value, key=key, headers=headers))
