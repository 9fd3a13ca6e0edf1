"""The Kafka side: consume ``claim-events.v1`` in a consumer group of our own, apply each record
to the projection, commit after applying.

At-least-once: offsets are committed only once a batch is applied, so a crash replays the
batch from the last commit, and the projection drops the ids it already applied. (Here the
projection lives in memory and starts empty: a real consumer keeps it, and the ids it applied,
in its own database, in the same transaction as its state.)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer

from claims_consumer.decode import from_record
from claims_consumer.projection import Projection

logger = logging.getLogger("claims_consumer")


@dataclass(frozen=True)
class Settings:
    bootstrap: str = "localhost:9092"
    topic: str = "claim-events.v1"
    group_id: str = "claims-consumer"

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            bootstrap=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", cls.bootstrap),
            topic=os.environ.get("CLAIMS_CONSUMER_TOPIC", cls.topic),
            group_id=os.environ.get("CLAIMS_CONSUMER_GROUP", cls.group_id),
        )


def kafka_consumer(settings: Settings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        settings.topic,
        bootstrap_servers=settings.bootstrap,
        group_id=settings.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",  # a new group reads the log from its beginning
        # amiable appends a command's events in one Kafka transaction: read only committed ones
        isolation_level="read_committed",
    )


async def consume(
    settings: Settings,
    projection: Projection,
    until: Callable[[Projection], bool] = lambda projection: False,
) -> Projection:
    """Apply the topic to ``projection`` until ``until(projection)`` holds (forever by default)."""
    consumer = kafka_consumer(settings)
    await consumer.start()
    try:
        while not until(projection):
            batch = await consumer.getmany(timeout_ms=1000)
            for records in batch.values():
                for record in records:
                    try:
                        event = from_record(record.headers, record.key, record.value)
                    except Exception:  # not a CloudEvent: nothing this consumer can use
                        logger.warning(
                            "skipped %s/%s: not a CloudEvent", record.partition, record.offset
                        )
                        continue
                    projection.apply(event)
            if batch:
                await consumer.commit()
                logger.info("%s", projection.summary())
    finally:
        await consumer.stop()
    return projection
