"""Upcasting on read, proven with a throwaway test event that went from v1 to v2."""

from __future__ import annotations

import orjson
import pytest

from amiable_events.registry import Registry, UnknownEventType
from tests.factories import PARCEL_UPCASTER, ParcelWeighedV1, ParcelWeighedV2

REGISTRY = Registry(
    models=[ParcelWeighedV1, ParcelWeighedV2],
    upcasters=[PARCEL_UPCASTER],
)


def test_old_version_is_upcast_on_read():
    event = REGISTRY.load(ParcelWeighedV1.type, orjson.dumps({"grams": 1500}))
    assert event == ParcelWeighedV2(weight_kg="1.500", scale="unknown")


def test_current_version_reads_as_is():
    event = REGISTRY.load(ParcelWeighedV2.type, b'{"weight_kg": "2.000", "scale": "A"}')
    assert event.scale == "A"
    assert REGISTRY.current_type(ParcelWeighedV1.type) == ParcelWeighedV2.type


def test_unknown_type_is_refused():
    with pytest.raises(UnknownEventType):
        REGISTRY.load("amiable.test.nothing.v1", b"{}")


def test_readers_ignore_a_field_a_newer_producer_added():
    event = REGISTRY.load(ParcelWeighedV2.type, b'{"weight_kg": "1", "scale": "x", "unit": "kg"}')
    assert event == ParcelWeighedV2(weight_kg="1", scale="x")


def test_events_are_frozen_and_strict_when_written():
    with pytest.raises(ValueError, match="Extra inputs"):
        ParcelWeighedV2.model_validate({"weight_kg": "1", "scale": "x", "colour": "red"})
    event = ParcelWeighedV2(weight_kg="1", scale="x")
    with pytest.raises(ValueError, match="frozen"):
        event.scale = "y"


def test_registering_a_type_twice_fails():
    with pytest.raises(ValueError, match="twice"):
        Registry(models=[ParcelWeighedV1, ParcelWeighedV1])
