"""The published contract of the claim log, generated from the event models.

``write`` puts one JSON Schema per ``ce_type`` (every registered version, old ones included)
and an AsyncAPI 3.0 document into ``libs/events/schemas/``; those files are committed and are
what other teams and ``tests/contract/`` read. ``check`` says how the committed files drifted
from the models, and ``compatibility`` which differences would break a reader of the old schema.

The schemas describe the wire (pydantic *serialization* mode), not the Python objects. A
committed schema is never changed incompatibly: ``write`` refuses to, add a ``vN+1`` model and an
upcaster instead. Nothing here does I/O at import time.

    uv run python -m amiable_events.schemas write [--force] [DIR]
    uv run python -m amiable_events.schemas check [DIR]
"""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from amiable_events.base import Event
from amiable_events.catalog import REGISTRY
from amiable_events.envelope import CONTENT_TYPE, SPEC_VERSION, dataschema_for
from amiable_events.registry import Registry
from amiable_events.topics import (
    CLAIM_EVENTS_CONFIGS,
    CLAIM_EVENTS_TOPIC,
    DLQ_CONFIGS,
    DLQ_PARTITIONS,
    PARTITIONS,
    REPLICATION_FACTOR,
    dlq_topic,
)

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"
ASYNCAPI_FILE = "asyncapi.yaml"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
KAFKA_BINDING_VERSION = "0.5.0"
LOCAL_BOOTSTRAP = "localhost:19092"
ACCOUNT_KEY_PATTERN = r"^[^:]+:.+$"
UUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


# --- JSON Schema of one payload ---------------------------------------------------------------


def json_schema(model: type[Event]) -> dict[str, Any]:
    """The JSON Schema of ``model``'s payload as it is on the wire."""
    schema = model.model_json_schema(mode="serialization")
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = dataschema_for(model.type)
    schema["title"] = model.type
    return schema


def _dump_json(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _dump_yaml(document: dict[str, Any]) -> str:
    return yaml.safe_dump(document, sort_keys=True, allow_unicode=True, width=100)


# --- AsyncAPI ----------------------------------------------------------------------------------


def _headers_schema() -> dict[str, Any]:
    """The Kafka headers ``envelope.encode`` writes (CloudEvents 1.0 binary content mode)."""
    uuid_text = {"type": "string", "pattern": UUID_PATTERN}
    properties = {
        "ce_specversion": {"const": SPEC_VERSION, "description": "CloudEvents spec version"},
        "ce_id": {**uuid_text, "description": "Event id; uuid5 when caused by another event"},
        "ce_source": {
            "type": "string",
            "pattern": r"^/amiable/[a-z][a-z0-9_-]*$",
            "description": "/amiable/<service> of the emitting service",
        },
        "ce_type": {
            "type": "string",
            "pattern": r"^amiable\.[a-z0-9-]+\.[a-z0-9-]+\.v[1-9][0-9]*$",
            "description": "amiable.<context>.<event>.v<N>",
        },
        "ce_subject": {"type": "string", "minLength": 1, "description": "The claim id"},
        "ce_time": {
            "type": "string",
            "format": "date-time",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$",
            "description": "When it happened, UTC, microseconds",
        },
        "content-type": {"const": CONTENT_TYPE},
        "ce_dataschema": {
            "type": "string",
            "pattern": r"^urn:amiable:schema:",
            "description": "The $id of the payload's JSON Schema",
        },
        "ce_tenant": {
            "type": "string",
            "pattern": r"^[^:]+$",
            "description": "Extension: the creditor; the key's first part",
        },
        "ce_correlationid": {**uuid_text, "description": "Extension: the originating request"},
        "ce_causationid": {**uuid_text, "description": "Extension: the event that caused this"},
        "ce_actor": {
            "type": "string",
            "minLength": 1,
            "description": "Extension: who caused it, the subject of the bearer token of the "
            "request, or service:<name> for what a service appends on its own (reactions, "
            "timers); absent from events recorded before it existed",
        },
        "traceparent": {"type": "string", "pattern": TRACEPARENT_PATTERN, "description": "W3C"},
        "tracestate": {"type": "string", "description": "W3C"},
    }
    optional = {"ce_causationid", "ce_actor", "traceparent", "tracestate"}
    return {
        "type": "object",
        "description": "Every header value is UTF-8 text.",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": False,
    }


def _dead_letter_headers_schema() -> dict[str, Any]:
    """The original headers, as they were, plus why and where from (ProjectionRunner)."""
    digits = {"type": "string", "pattern": r"^[0-9]+$"}
    return {
        "type": "object",
        "description": "The original record's headers, unchanged, plus these.",
        "properties": {
            "amiable_dlq_reason": {"type": "string", "description": "Why it could not be decoded"},
            "amiable_dlq_topic": {"type": "string", "description": "Where the record was read"},
            "amiable_dlq_partition": {**digits, "description": "Its partition there"},
            "amiable_dlq_offset": {**digits, "description": "Its offset there"},
        },
        "required": [
            "amiable_dlq_reason",
            "amiable_dlq_topic",
            "amiable_dlq_partition",
            "amiable_dlq_offset",
        ],
        "additionalProperties": True,
    }


def _embedded(schema: dict[str, Any], pointer: str) -> dict[str, Any]:
    """``schema`` as a component at ``pointer``: its own ``#/$defs`` refs made document-wide."""

    def rewrite(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: (
                    value.replace("#/$defs/", f"{pointer}/$defs/", 1)
                    if key == "$ref" and isinstance(value, str)
                    else rewrite(value)
                )
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [rewrite(item) for item in node]
        return node

    return rewrite({k: v for k, v in schema.items() if k not in ("$schema", "$id")})


def _topic_binding(topic: str, partitions: int, configs) -> dict[str, Any]:
    return {
        "kafka": {
            "topic": topic,
            "partitions": partitions,
            "replicas": REPLICATION_FACTOR,
            "topicConfiguration": {
                "retention.ms": int(configs["retention.ms"]),
                "cleanup.policy": configs["cleanup.policy"].split(","),
            },
            "bindingVersion": KAFKA_BINDING_VERSION,
        }
    }


def _version() -> str:
    try:
        return metadata.version("amiable-events")
    except metadata.PackageNotFoundError:
        return "0.0.0"


def asyncapi(registry: Registry) -> dict[str, Any]:
    """The AsyncAPI 3.0.0 document of the claim log and of the services' dead-letter topics."""
    models = dict(sorted(registry.models.items()))
    schemas: dict[str, Any] = {"CloudEventsKafkaHeaders": _headers_schema()}
    messages: dict[str, Any] = {}
    for ce_type, model in models.items():
        schemas[ce_type] = _embedded(json_schema(model), f"#/components/schemas/{ce_type}")
        current = registry.current_type(ce_type)
        summary = f"Emitted by /amiable/{model.source}."
        if current != ce_type:
            summary += f" An old version: readers upcast it to {current} on read."
        messages[ce_type] = {
            "name": ce_type,
            "title": ce_type,
            "summary": summary,
            "contentType": CONTENT_TYPE,
            "headers": {
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEventsKafkaHeaders"},
                    {
                        "properties": {
                            "ce_type": {"const": ce_type},
                            "ce_source": {"const": f"/amiable/{model.source}"},
                            "ce_dataschema": {"const": dataschema_for(ce_type)},
                        }
                    },
                ]
            },
            "payload": {"$ref": f"#/components/schemas/{ce_type}"},
            "correlationId": {"location": "$message.header#/ce_correlationid"},
            "bindings": {
                "kafka": {
                    "key": {
                        "type": "string",
                        "pattern": ACCOUNT_KEY_PATTERN,
                        "description": "{creditor_id}:{debtor_id}",
                    },
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
        }
    messages["deadLetter"] = {
        "name": "deadLetter",
        "title": "A record the service could not decode",
        "summary": "Key and value are the original record's, byte for byte.",
        "contentType": "application/octet-stream",
        "headers": _dead_letter_headers_schema(),
        "payload": {"description": "The original value; it may not be JSON at all."},
        "bindings": {
            "kafka": {
                "key": {"type": "string", "description": "The original key, if any"},
                "bindingVersion": KAFKA_BINDING_VERSION,
            }
        },
    }
    log_messages = {name: {"$ref": f"#/components/messages/{name}"} for name in models}
    channels: dict[str, Any] = {
        "claimEvents": {
            "address": CLAIM_EVENTS_TOPIC,
            "title": "The claim event log",
            "description": "Every service appends its facts here and folds it from offset 0.",
            "servers": [{"$ref": "#/servers/local-kafka"}],
            "messages": log_messages,
            "bindings": _topic_binding(CLAIM_EVENTS_TOPIC, PARTITIONS, CLAIM_EVENTS_CONFIGS),
        }
    }
    operations: dict[str, Any] = {
        "appendClaimEvents": {
            "action": "send",
            "title": "A service appends the facts it decided",
            "description": "Old versions are never produced; only current types are sent.",
            "channel": {"$ref": "#/channels/claimEvents"},
            "messages": [
                {"$ref": f"#/channels/claimEvents/messages/{name}"}
                for name in models
                if registry.current_type(name) == name
            ],
        },
        "foldClaimEvents": {
            "action": "receive",
            "title": "Every service folds the whole log, old versions included",
            "channel": {"$ref": "#/channels/claimEvents"},
            "messages": [{"$ref": f"#/channels/claimEvents/messages/{name}"} for name in models],
        },
    }
    # Every service consuming the log has its own dead-letter topic; the document names the
    # pattern, not the services (they are declared in their own packages, see service.py).
    dlq_address = f"{CLAIM_EVENTS_TOPIC}.dlq.{{service}}"
    dlq_binding = _topic_binding(dlq_address, DLQ_PARTITIONS, DLQ_CONFIGS)
    del dlq_binding["kafka"]["topic"]  # the address has a parameter: no one topic name
    channels["deadLetters"] = {
        "address": dlq_address,
        "title": "Dead letters of one service",
        "description": f"One topic per service that consumes the log, e.g. {dlq_topic('claims')}.",
        "parameters": {"service": {"description": "The consuming service's name (claims, ...)."}},
        "servers": [{"$ref": "#/servers/local-kafka"}],
        "messages": {"deadLetter": {"$ref": "#/components/messages/deadLetter"}},
        "bindings": dlq_binding,
    }
    operations["deadLetter"] = {
        "action": "send",
        "title": "A service parks a record it could not decode, and goes on",
        "channel": {"$ref": "#/channels/deadLetters"},
        "messages": [{"$ref": "#/channels/deadLetters/messages/deadLetter"}],
    }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "amiable claim event log",
            "version": _version(),
            "description": (
                "One topic, claim-events.v1, kept forever: the only channel between amiable's "
                "services.\n\n"
                "Envelope: CloudEvents 1.0 in Kafka binary content mode. Attributes are ce_* "
                "headers, the value is the JSON payload (content-type application/json), "
                "ce_dataschema names the payload's JSON Schema. Extensions ce_tenant (the "
                "creditor), ce_correlationid, ce_causationid; W3C traceparent/tracestate.\n\n"
                "Key: the debtor account '{creditor_id}:{debtor_id}', so one debtor's events "
                "are in one partition, in order. The partition count never changes.\n\n"
                "Ids: an event caused by another has a deterministic id (uuid5 of causation id, "
                "service, step); readers drop ids they already applied.\n\n"
                "Personal data is sealed per debtor account ('pii:v1:' tokens, AES-GCM); erasing "
                "a debtor deletes its key.\n\n"
                "A published ce_type is never changed incompatibly nor deleted: a new version "
                "(.vN+1) is added and readers upcast old versions on read."
            ),
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "local-kafka": {
                "host": LOCAL_BOOTSTRAP,
                "protocol": "kafka",
                "description": "The local stack of `make run` (Apache Kafka, KRaft)",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


# --- Files -------------------------------------------------------------------------------------


def generated(registry: Registry) -> dict[str, str]:
    """File name -> text of every generated file."""
    files = {
        f"{ce_type}.json": _dump_json(json_schema(model))
        for ce_type, model in sorted(registry.models.items())
    }
    files[ASYNCAPI_FILE] = _dump_yaml(asyncapi(registry))
    return files


def write(
    out_dir: Path = SCHEMAS_DIR, registry: Registry | None = None, *, force: bool = False
) -> list[str]:
    """Write the generated files; returns the names of the files that changed.

    Never deletes a schema (a published type stays published) and refuses to replace one with an
    incompatible schema unless ``force`` (only for a type that was never published).
    """
    registry = registry or REGISTRY
    files = generated(registry)
    breaking = []
    for name, text in files.items():
        path = out_dir / name
        if name.endswith(".json") and path.exists():
            changes = compatibility(json.loads(path.read_text()), json.loads(text))
            breaking += [f"{name}: {change}" for change in changes]
    if breaking and not force:
        raise IncompatibleChange(breaking)
    out_dir.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in files.items():
        path = out_dir / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed.append(name)
    return changed


class IncompatibleChange(ValueError):
    def __init__(self, changes: list[str]) -> None:
        super().__init__(
            "incompatible change to a published event type; add a new version (.vN+1) with an "
            "upcaster instead:\n  " + "\n  ".join(changes)
        )
        self.changes = changes


def check(out_dir: Path = SCHEMAS_DIR, registry: Registry | None = None) -> list[str]:
    """How the committed files differ from the models; empty when they agree."""
    registry = registry or REGISTRY
    drift = []
    for name, text in generated(registry).items():
        path = out_dir / name
        if not path.exists():
            drift.append(f"{name} is missing: run `make schemas`")
        elif path.read_text() != text:
            message = f"{name} is out of date: run `make schemas`"
            if name.endswith(".json"):
                changes = compatibility(json.loads(path.read_text()), json.loads(text))
                if changes:
                    message += " (incompatible: add a new version) " + "; ".join(changes)
            drift.append(message)
    for path in sorted(out_dir.glob("*.json")):
        ce_type = path.name.removesuffix(".json")
        if not registry.knows(ce_type):
            drift.append(
                f"{path.name}: {ce_type} is no longer registered; a published type is never "
                "deleted (keep its model and upcast it on read)"
            )
    return drift


# --- Compatibility -----------------------------------------------------------------------------

#: Keywords whose change alters what a value may be. Any change is reported: a narrower value
#: rejects old events still in the log, a wider one surprises readers of the old schema.
_CONSTRAINTS = (
    "format",
    "pattern",
    "enum",
    "const",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
    "multipleOf",
)
_ANNOTATIONS = ("title", "description", "default", "examples", "$comment")


def compatibility(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What in ``new`` breaks a reader of ``old`` (the same ``ce_type``); empty if nothing.

    Events of the old schema stay in the log and are read with the new model, and consumers
    written against the old schema read the new events: both directions must hold. Adding an
    optional property is the one compatible change to the shape.
    """
    problems: list[str] = []
    _compare(_inline(old, old, ()), _inline(new, new, ()), "$", problems)
    return problems


def _inline(root: dict, node: Any, seen: tuple[str, ...]) -> Any:
    """``node`` with local ``$ref``s replaced by their target (a cycle stays a ``$ref``)."""
    if isinstance(node, list):
        return [_inline(root, item, seen) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and ref not in seen:
        target: Any = root
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        return _inline(root, {**target, **siblings}, (*seen, ref))
    return {
        key: _inline(root, value, seen)
        for key, value in node.items()
        if key not in ("$defs", "definitions", "$schema", "$id")
    }


def _split_null(schema: dict) -> tuple[bool, list[dict]]:
    """Whether ``null`` is allowed, and the other alternatives."""
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches is None:
        types = schema.get("type")
        if isinstance(types, list) and "null" in types:
            rest = [t for t in types if t != "null"]
            return True, [{**schema, "type": rest[0] if len(rest) == 1 else rest}]
        return False, [schema]
    nullable = any(branch.get("type") == "null" for branch in branches)
    return nullable, [branch for branch in branches if branch.get("type") != "null"]


def _type_of(schema: dict) -> Any:
    if "type" in schema:
        return schema["type"]
    if "properties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return None


def _strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _strip(v) for k, v in node.items() if k not in _ANNOTATIONS}
    if isinstance(node, list):
        return [_strip(item) for item in node]
    return node


def _compare(old: dict, new: dict, path: str, problems: list[str]) -> None:
    old_nullable, old_branches = _split_null(old)
    new_nullable, new_branches = _split_null(new)
    if old_nullable and not new_nullable:
        problems.append(f"{path}: no longer accepts null")
    elif new_nullable and not old_nullable:
        problems.append(f"{path}: may now be null")
    if len(old_branches) != 1 or len(new_branches) != 1:
        if _strip(old_branches) != _strip(new_branches):
            problems.append(f"{path}: alternatives changed")
        return
    old, new = old_branches[0], new_branches[0]
    if _type_of(old) != _type_of(new):
        problems.append(f"{path}: type changed from {_type_of(old)} to {_type_of(new)}")
        return
    for keyword in _CONSTRAINTS:
        if old.get(keyword) != new.get(keyword):
            problems.append(
                f"{path}: {keyword} changed from {old.get(keyword)!r} to {new.get(keyword)!r}"
            )
    if "$ref" in old or "$ref" in new:  # a recursive model: compare the names only
        if old.get("$ref") != new.get("$ref"):
            problems.append(f"{path}: reference changed to {new.get('$ref')}")
        return
    if _type_of(old) == "object":
        _compare_objects(old, new, path, problems)
    elif _type_of(old) == "array":
        for keyword in ("items", "prefixItems"):
            if isinstance(old.get(keyword), dict) and isinstance(new.get(keyword), dict):
                _compare(old[keyword], new[keyword], f"{path}[]", problems)
            elif _strip(old.get(keyword)) != _strip(new.get(keyword)):
                problems.append(f"{path}: {keyword} changed")


def _compare_objects(old: dict, new: dict, path: str, problems: list[str]) -> None:
    old_props, new_props = old.get("properties", {}), new.get("properties", {})
    old_required, new_required = set(old.get("required", ())), set(new.get("required", ()))
    for name in old_props:
        where = f"{path}.{name}"
        if name not in new_props:
            problems.append(f"{where}: removed")
            continue
        if name in new_required and name not in old_required:
            problems.append(f"{where}: became required")
        elif name in old_required and name not in new_required:
            problems.append(f"{where}: no longer required")
        _compare(old_props[name], new_props[name], where, problems)
    for name in new_props.keys() - old_props.keys():
        if name in new_required:
            problems.append(f"{path}.{name}: new required property")
    old_extra = old.get("additionalProperties", True)
    new_extra = new.get("additionalProperties", True)
    if new_extra is False and old_extra is not False:
        problems.append(f"{path}: additional properties no longer allowed")
    elif isinstance(old_extra, dict) and isinstance(new_extra, dict):
        _compare(old_extra, new_extra, f"{path}.*", problems)
    elif isinstance(new_extra, dict) and old_extra is True:
        problems.append(f"{path}: additional properties narrowed")


# --- CLI ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m amiable_events.schemas", description=__doc__)
    parser.add_argument("command", choices=["write", "check"])
    parser.add_argument("out_dir", nargs="?", type=Path, default=SCHEMAS_DIR)
    parser.add_argument(
        "--force",
        action="store_true",
        help="write even an incompatible schema (only for a type never published)",
    )
    args = parser.parse_args(argv)
    if args.command == "write":
        try:
            changed = write(args.out_dir, force=args.force)
        except IncompatibleChange as exc:
            print(exc, file=sys.stderr)
            return 1
        for name in changed:
            print(f"wrote {args.out_dir / name}")
        if changed:
            print("record each change in CHANGELOG.md, section Events: a line naming its ce_type")
        else:
            print(f"{args.out_dir}: up to date")
        return 0
    drift = check(args.out_dir)
    for message in drift:
        print(message, file=sys.stderr)
    return 1 if drift else 0


if __name__ == "__main__":
    sys.exit(main())
