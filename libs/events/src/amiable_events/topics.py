"""The Kafka topics of the claim event log, and their idempotent creation.

The claim log is one topic with a fixed partition count: the message key (the debtor account)
picks the partition, so changing the count would move accounts between partitions and break the
per-debtor order every service relies on. `ensure_topics` therefore creates the topic when it is
missing and refuses to go on when it exists with another partition count.

Nothing here does I/O at import time.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aiokafka.partitioner import murmur2

CLAIM_EVENTS_TOPIC = "claim-events.v1"
PARTITIONS = 12
REPLICATION_FACTOR = 1
DLQ_PARTITIONS = 1

#: Topic-level configs of the claim log: kept forever, never compacted.
CLAIM_EVENTS_CONFIGS: Mapping[str, str] = {"retention.ms": "-1", "cleanup.policy": "delete"}
#: Topic-level configs of a dead-letter topic: kept forever too, they are evidence.
DLQ_CONFIGS: Mapping[str, str] = {"retention.ms": "-1", "cleanup.policy": "delete"}

_SERVICE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


class TopicLayoutError(RuntimeError):
    """An existing topic does not have the layout the log needs (e.g. another partition count)."""


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication_factor: int = REPLICATION_FACTOR
    configs: Mapping[str, str] = field(default_factory=dict)


def partition_for(key: bytes, partitions: int = PARTITIONS) -> int:
    """Where every Kafka client puts ``key``: murmur2, as Java clients and aiokafka compute it."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


def dlq_topic(service: str) -> str:
    """The dead-letter topic of one service: `claim-events.v1.dlq.<service>`."""
    if not _SERVICE_NAME.match(service):
        raise ValueError(f"invalid service name for a DLQ topic: {service!r}")
    return f"{CLAIM_EVENTS_TOPIC}.dlq.{service}"


def topic_specs(services: Sequence[str]) -> list[TopicSpec]:
    """Every topic the log needs: the claim log plus one DLQ per service.

    The service names come from the caller (the CLI passes the declared services,
    ``amiable_events.service.declared()``): this module knows no service.
    """
    specs = [TopicSpec(CLAIM_EVENTS_TOPIC, PARTITIONS, configs=dict(CLAIM_EVENTS_CONFIGS))]
    specs += [
        TopicSpec(dlq_topic(service), DLQ_PARTITIONS, configs=dict(DLQ_CONFIGS))
        for service in dict.fromkeys(services)
    ]
    return specs


async def ensure_topics(
    bootstrap: str, services: Sequence[str], *, timeout_s: float = 30.0
) -> None:
    """Create the claim log and the DLQ topics of `services` if missing (idempotent).

    Raises `TopicLayoutError` when a topic exists with another partition count. Topic configs
    that drifted (e.g. a finite retention) are set back to the log's configs.
    """
    await create_topics(bootstrap, topic_specs(services), timeout_s=timeout_s)


async def create_topics(
    bootstrap: str, specs: Sequence[TopicSpec], *, timeout_s: float = 30.0
) -> None:
    """Create ``specs`` if missing and check their layout (idempotent)."""
    async with asyncio.timeout(timeout_s):
        await _ensure_topics(bootstrap, list(specs), int(timeout_s * 1000))


async def delete_topics(bootstrap: str, names: Sequence[str], *, timeout_s: float = 30.0) -> None:
    """Delete ``names`` (those that exist); tests and tools clean up after themselves."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="amiable-delete-topics")
    await admin.start()
    try:
        async with asyncio.timeout(timeout_s):
            existing = set(await admin.list_topics())
            doomed = [name for name in names if name in existing]
            if doomed:
                await admin.delete_topics(doomed, timeout_ms=int(timeout_s * 1000))
    finally:
        await admin.close()


async def _ensure_topics(bootstrap: str, specs: list[TopicSpec], timeout_ms: int) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError, for_code

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap,
        client_id="amiable-ensure-topics",
        request_timeout_ms=timeout_ms,
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [spec for spec in specs if spec.name not in existing]
        if missing:
            response = await admin.create_topics(
                [
                    NewTopic(
                        name=spec.name,
                        num_partitions=spec.partitions,
                        replication_factor=spec.replication_factor,
                        topic_configs=dict(spec.configs),
                    )
                    for spec in missing
                ],
                timeout_ms=timeout_ms,
            )
            for topic_error in response.topic_errors:
                topic, code = topic_error[0], topic_error[1]
                if code == 0:
                    continue
                if for_code(code) is TopicAlreadyExistsError:  # created concurrently: fine
                    continue
                message = topic_error[2] if len(topic_error) > 2 else None
                _raise_for(code, message, f"cannot create topic {topic}")
        await _check_partitions(admin, specs)
        await _repair_configs(admin, specs)
    finally:
        await admin.close()


async def _check_partitions(admin, specs: list[TopicSpec]) -> None:
    wanted = {spec.name: spec for spec in specs}
    # Right after creation the metadata may lag: retry a few times until every topic shows up.
    for attempt in range(50):
        described = await admin.describe_topics(list(wanted))
        counts = {
            topic["topic"]: len(topic["partitions"])
            for topic in described
            if topic["error_code"] == 0 and topic["partitions"]
        }
        if set(counts) >= set(wanted):
            break
        if attempt == 49:
            raise TopicLayoutError(
                f"topics not visible in metadata: {sorted(set(wanted) - set(counts))}"
            )
        await asyncio.sleep(0.1)
    for name, spec in wanted.items():
        if counts[name] != spec.partitions:
            raise TopicLayoutError(
                f"topic {name} has {counts[name]} partitions, expected {spec.partitions}; the "
                "partition count of the log never changes (reset the local stack to start over)"
            )


async def _repair_configs(admin, specs: list[TopicSpec]) -> None:
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    resources = [
        ConfigResource(ConfigResourceType.TOPIC, spec.name, configs=dict.fromkeys(spec.configs))
        for spec in specs
        if spec.configs
    ]
    if not resources:
        return
    current: dict[str, dict[str, str]] = {}
    for response in await admin.describe_configs(resources):
        for code, message, _type, name, entries, *_ in response.resources:
            _raise_for(code, message, f"cannot read the configs of topic {name}")
            current[name] = {entry[0]: entry[1] for entry in entries}
    drifted = [
        ConfigResource(ConfigResourceType.TOPIC, spec.name, configs=dict(spec.configs))
        for spec in specs
        if spec.configs
        and any(current.get(spec.name, {}).get(k) != v for k, v in spec.configs.items())
    ]
    if drifted:
        # AlterConfigs (non-incremental) replaces the topic's overrides with exactly these.
        for response in await admin.alter_configs(drifted):
            for code, message, _type, name, *_ in response.resources:
                _raise_for(code, message, f"cannot set the configs of topic {name}")


def _raise_for(code: int, message: str | None, what: str) -> None:
    if code == 0:
        return
    from aiokafka.errors import for_code

    error = for_code(code)
    raise error(f"{what}: {message or error.description}")
