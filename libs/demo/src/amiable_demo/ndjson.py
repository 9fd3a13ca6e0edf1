"""A history as NDJSON: one structured-mode CloudEvent (JSON format) per line, its attributes
and its ``data``, and back.

A line holds exactly what the Kafka record holds (amiable_events.envelope.encode): the ``ce_*``
headers become attributes of the same name, the record's key the ``partitionkey`` attribute
(the CloudEvents partitioning extension), the payload ``data``. Reading a line goes through
``amiable_events.envelope.decode``, the consumers' own path, so a file reads back as the log
would.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson

from amiable_events.catalog import REGISTRY
from amiable_events.envelope import Envelope, decode, encode
from amiable_events.registry import Registry

_PREFIX = "ce_"
#: Record headers that are not ``ce_`` attributes, and their attribute names.
_OTHER_HEADERS = {
    "content-type": "datacontenttype",
    "traceparent": "traceparent",
    "tracestate": "tracestate",
}
_HEADER_OF = {attribute: header for header, attribute in _OTHER_HEADERS.items()}


def to_line(envelope: Envelope) -> bytes:
    """One structured CloudEvent, without the line break."""
    key, value, headers = encode(envelope)
    event: dict = {}
    for name, raw in headers:
        attribute = name[len(_PREFIX) :] if name.startswith(_PREFIX) else _OTHER_HEADERS[name]
        event[attribute] = raw.decode()
    event["partitionkey"] = key.decode()
    event["data"] = orjson.Fragment(value)
    return orjson.dumps(event)


def write_ndjson(envelopes: Iterable[Envelope], path: Path) -> int:
    """Write ``envelopes`` to ``path``, one per line; how many were written."""
    count = 0
    with path.open("wb") as out:
        for envelope in envelopes:
            out.write(to_line(envelope) + b"\n")
            count += 1
    return count


def from_line(line: bytes | str, registry: Registry = REGISTRY) -> Envelope:
    """The envelope of one line (``amiable_events.envelope.DecodeError`` if it is not one)."""
    event = orjson.loads(line)
    data = event.pop("data")
    key = event.pop("partitionkey")
    headers = [
        (_HEADER_OF.get(attribute, _PREFIX + attribute), str(text).encode())
        for attribute, text in event.items()
    ]
    return decode(registry, key.encode(), orjson.dumps(data), headers)


def read_ndjson(path: Path, registry: Registry = REGISTRY) -> Iterator[Envelope]:
    """The envelopes of a file :func:`write_ndjson` wrote, in its order."""
    with path.open("rb") as lines:
        for line in lines:
            if line.strip():
                yield from_line(line, registry)
