from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from amiable_events.catalog import REGISTRY
from amiable_events.envelope import DecodeError, decode, encode, service_actor
from amiable_events.ids import caused_id
from tests.factories import registered


def test_encode_then_decode_gives_back_the_envelope():
    envelope = registered(1)
    key, value, headers = encode(envelope)
    decoded = decode(REGISTRY, key, value, headers, partition=3, offset=42)
    assert decoded == envelope.at(3, 42)
    assert key == b"acme:debtor-1"


def test_headers_are_exactly_the_cloudevents_binary_mode_attributes():
    envelope = registered(2)
    _, _, headers = encode(envelope)
    names = [name for name, _ in headers]
    assert names == [
        "ce_specversion",
        "ce_id",
        "ce_source",
        "ce_type",
        "ce_subject",
        "ce_time",
        "content-type",
        "ce_dataschema",
        "ce_tenant",
        "ce_correlationid",
    ]
    values = dict(headers)
    assert values["ce_type"] == b"amiable.claims.claim-registered.v1"
    assert values["ce_source"] == b"/amiable/claims"
    assert values["ce_time"].endswith(b"Z")


def test_caused_event_carries_causation_and_correlation():
    cause = registered(3)
    data = registered(4).data
    effect = cause.caused(data, id=caused_id(cause.id, "claims", "qualify"), time=cause.time)
    _, _, headers = encode(effect)
    values = dict(headers)
    assert values["ce_causationid"] == str(cause.id).encode()
    assert values["ce_correlationid"] == str(cause.correlation_id).encode()
    assert effect.key == cause.key


def test_the_actor_travels_as_ce_actor_and_is_optional_on_read():
    """Issue 7, the actor: every event records who caused it; old events have none."""
    envelope = replace(registered(5), actor="user-42@idp")
    key, value, headers = encode(envelope)
    assert dict(headers)["ce_actor"] == b"user-42@idp"
    assert decode(REGISTRY, key, value, headers).actor == "user-42@idp"
    old = registered(6)  # no actor, as every event before it existed
    key, value, headers = encode(old)
    assert "ce_actor" not in dict(headers)
    assert decode(REGISTRY, key, value, headers).actor is None


def test_a_caused_event_is_the_reacting_service_s_not_the_trigger_s():
    cause = replace(registered(7), actor="user-1")
    effect = cause.caused(
        registered(8).data,
        id=caused_id(cause.id, "dunning", "x"),
        time=cause.time,
        actor=service_actor("dunning"),
    )
    assert effect.actor == "service:dunning"


def test_caused_ids_are_deterministic_and_distinct_per_step():
    cause = uuid.UUID(int=7)
    assert caused_id(cause, "dunning", "schedule") == caused_id(cause, "dunning", "schedule")
    assert caused_id(cause, "dunning", "schedule") != caused_id(cause, "dunning", "remind")


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda k, v, h: (k, b"{not json", h), "payload does not match"),
        (lambda k, v, h: (k, v, [x for x in h if x[0] != "ce_type"]), "missing headers: ce_type"),
        (
            lambda k, v, h: (k, v, [(n, b"amiable.x.y.v9" if n == "ce_type" else b) for n, b in h]),
            "unknown ce_type",
        ),
        (lambda k, v, h: (b"other:debtor-1", v, h), "key is not"),
        (lambda k, v, h: (k, v, [(n, b"\xff" if n == "ce_id" else b) for n, b in h]), "UTF-8"),
        (lambda k, v, h: (k, v.replace(b'"EUR"', b'"euros"'), h), "payload does not match"),
        (lambda k, v, h: (k + b"\x00", v, h), "NUL character"),
        (
            lambda k, v, h: (k, v, [(n, b + b"\x00" if n == "ce_subject" else b) for n, b in h]),
            "NUL",
        ),
    ],
)
def test_undecodable_records_say_why(mutate, reason):
    key, value, headers = mutate(*encode(registered(5)))
    with pytest.raises(DecodeError, match=reason):
        decode(REGISTRY, key, value, headers)


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ({"a": "x\x00y"}, {"a": "x\ufffdy"}),
        ({"a": "\\u0000 as text"}, {"a": "\\u0000 as text"}),  # an escaped backslash stays
        ({"a": "\\\x00"}, {"a": "\\\ufffd"}),
        ({"a": "plain"}, {"a": "plain"}),
    ],
)
def test_json_for_postgresql_holds_no_nul_and_changes_nothing_else(value, stored):
    import orjson

    from amiable_events.db import json_text, storable

    assert orjson.loads(json_text(value)) == stored
    assert storable("a\x00b") == "a\ufffdb" and storable(None) is None
