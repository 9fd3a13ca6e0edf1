"""From a Kafka record, or a line of a sample file, to a CloudEvent, with the official SDK.

amiable writes its log in CloudEvents **binary** content mode: the attributes are ``ce_*``
headers, the value is the JSON payload. Its sample streams are NDJSON in **structured** mode:
one JSON event per line. Both become the same CloudEvent, so one projection serves both.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat

FORMAT = JSONFormat()


def from_record(
    headers: Iterable[tuple[str, bytes]], key: bytes | None, value: bytes
) -> BaseCloudEvent:
    """A Kafka record in binary content mode (aiokafka gives headers as pairs)."""
    return from_binary(KafkaMessage(headers=dict(headers), key=key, value=value), FORMAT)


def from_lines(lines: Iterable[str | bytes]) -> Iterator[BaseCloudEvent]:
    """The events of an NDJSON file of structured-mode CloudEvents (blank lines skipped)."""
    for line in lines:
        if line.strip():
            yield FORMAT.read(None, line)
