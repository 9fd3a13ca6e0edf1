"""The CloudEvents 1.0 envelope in Kafka binary content mode.

Headers carry the attributes (``ce_*``), the value carries the JSON payload, the key is the
debtor account ``"{creditor_id}:{debtor_id}"`` so one debtor's history stays in one partition.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from uuid import UUID

from amiable_events.base import Event
from amiable_events.registry import Registry, UnknownEventType

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"

Headers = list[tuple[str, bytes]]

#: Who causes the events built in this context (``ce_actor``): set from the bearer token's
#: subject when a request is authenticated, so every command path (the bus, registrations,
#: imports) records it without threading it through each call.
REQUEST_ACTOR: ContextVar[str | None] = ContextVar("amiable_request_actor", default=None)


def service_actor(service: str) -> str:
    """The actor of events a service appends on its own (reactions, timers)."""
    return f"service:{service}"


class DecodeError(ValueError):
    """A message that is not a valid amiable event: it goes to the dead-letter topic."""


def account_key(creditor_id: str, debtor_id: str) -> str:
    return f"{creditor_id}:{debtor_id}"


def dataschema_for(ce_type: str) -> str:
    return f"urn:amiable:schema:{ce_type}"


@dataclass(frozen=True, slots=True)
class Envelope:
    id: UUID
    subject: str
    time: datetime
    tenant: str
    debtor_id: str
    correlation_id: UUID
    data: Event
    causation_id: UUID | None = None
    traceparent: str | None = None
    tracestate: str | None = None
    partition: int | None = None
    offset: int | None = None
    #: Who caused it: a token's subject, or ``service:<name>``; None on events older than it.
    actor: str | None = None

    @property
    def type(self) -> str:
        return self.data.type

    @property
    def source(self) -> str:
        return f"/amiable/{self.data.source}"

    @property
    def key(self) -> str:
        return account_key(self.tenant, self.debtor_id)

    def caused(
        self,
        data: Event,
        *,
        id: UUID,
        time: datetime,
        subject: str | None = None,
        actor: str | None = None,
    ):
        """An envelope for an event caused by this one: same account, correlation and trace;
        ``actor`` is whoever appends it (a reaction's service), not the trigger's actor."""
        return Envelope(
            id=id,
            subject=subject or self.subject,
            time=time,
            tenant=self.tenant,
            debtor_id=self.debtor_id,
            correlation_id=self.correlation_id,
            causation_id=self.id,
            data=data,
            traceparent=self.traceparent,
            tracestate=self.tracestate,
            actor=actor,
        )

    def at(self, partition: int, offset: int) -> Envelope:
        return replace(self, partition=partition, offset=offset)


def _time_text(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def encode(envelope: Envelope) -> tuple[bytes, bytes, Headers]:
    """Key, value and headers of the Kafka record for ``envelope``."""
    headers: Headers = [
        ("ce_specversion", SPEC_VERSION.encode()),
        ("ce_id", str(envelope.id).encode()),
        ("ce_source", envelope.source.encode()),
        ("ce_type", envelope.type.encode()),
        ("ce_subject", envelope.subject.encode()),
        ("ce_time", _time_text(envelope.time).encode()),
        ("content-type", CONTENT_TYPE.encode()),
        ("ce_dataschema", dataschema_for(envelope.type).encode()),
        ("ce_tenant", envelope.tenant.encode()),
        ("ce_correlationid", str(envelope.correlation_id).encode()),
    ]
    if envelope.causation_id is not None:
        headers.append(("ce_causationid", str(envelope.causation_id).encode()))
    if envelope.actor:
        headers.append(("ce_actor", envelope.actor.encode()))
    if envelope.traceparent:
        headers.append(("traceparent", envelope.traceparent.encode()))
    if envelope.tracestate:
        headers.append(("tracestate", envelope.tracestate.encode()))
    return envelope.key.encode(), envelope.data.model_dump_json().encode(), headers


_REQUIRED = ("ce_specversion", "ce_id", "ce_type", "ce_subject", "ce_time", "ce_tenant")


def decode(
    registry: Registry,
    key: bytes | None,
    value: bytes | None,
    headers: Headers | tuple,
    partition: int | None = None,
    offset: int | None = None,
) -> Envelope:
    """The envelope of a Kafka record, or :class:`DecodeError` saying why not."""
    try:
        attrs = {name: raw.decode() for name, raw in headers}
    except UnicodeDecodeError as exc:
        raise DecodeError(f"header is not UTF-8: {exc}") from exc
    missing = [name for name in _REQUIRED if not attrs.get(name)]
    if missing:
        raise DecodeError(f"missing headers: {', '.join(missing)}")
    if attrs["ce_specversion"] != SPEC_VERSION:
        raise DecodeError(f"unsupported ce_specversion {attrs['ce_specversion']}")
    if key is None or value is None:
        raise DecodeError("record without key or value")
    if b"\x00" in key or any("\x00" in text for text in attrs.values()):
        # An account or an id no database can store: dead-lettered, never parked.
        raise DecodeError("NUL character in the key or a header")
    tenant, sep, debtor_id = key.decode(errors="replace").partition(":")
    if not sep or tenant != attrs["ce_tenant"]:
        raise DecodeError("key is not '<ce_tenant>:<debtor_id>'")
    try:
        data = registry.load(attrs["ce_type"], value)
    except UnknownEventType as exc:
        raise DecodeError(f"unknown ce_type {attrs['ce_type']}") from exc
    except ValueError as exc:  # pydantic.ValidationError and JSON errors are ValueErrors
        raise DecodeError(f"payload does not match {attrs['ce_type']}: {exc}") from exc
    try:
        causation = attrs.get("ce_causationid")
        return Envelope(
            id=UUID(attrs["ce_id"]),
            subject=attrs["ce_subject"],
            time=datetime.fromisoformat(attrs["ce_time"]),
            tenant=tenant,
            debtor_id=debtor_id,
            correlation_id=UUID(attrs.get("ce_correlationid") or attrs["ce_id"]),
            causation_id=UUID(causation) if causation else None,
            data=data,
            traceparent=attrs.get("traceparent"),
            tracestate=attrs.get("tracestate"),
            partition=partition,
            offset=offset,
            actor=attrs.get("ce_actor") or None,
        )
    except ValueError as exc:
        raise DecodeError(f"bad envelope attribute: {exc}") from exc
