"""Keyed ids: parts encoded unambiguously, so no two tenants' keys can name one id."""

from __future__ import annotations

import uuid
from types import SimpleNamespace

from amiable_events.ids import AMIABLE_NAMESPACE, caused_id, caused_steps, keyed_id


def test_a_tenant_containing_a_slash_never_names_another_tenants_id() -> None:
    """Issue 7, cross-tenant id collision: tenant ``x/claim`` with key ``k`` and tenant ``x``
    with key ``claim/k`` named the same claim when the parts were joined with ``/``."""
    assert keyed_id("x/claim", "k") != keyed_id("x", "claim/k")
    assert keyed_id("x/claim", "claim", "k") != keyed_id("x", "claim", "claim/k")
    assert keyed_id("a", "b", "c") != keyed_id("a/b", "c") != keyed_id("a", "b/c")


def test_the_part_boundaries_matter_not_only_their_characters() -> None:
    assert keyed_id("ab", "c") != keyed_id("a", "bc")
    assert keyed_id("a", "") != keyed_id("a")
    assert keyed_id('a"', "b") != keyed_id("a", '"b')


def test_keyed_ids_are_stable() -> None:
    """The same parts name the same id in every process (uuid5 over a JSON array)."""
    assert keyed_id("acme", "claim", "k-1") == keyed_id("acme", "claim", "k-1")
    assert keyed_id("acme", "claim", "k-1") == uuid.uuid5(
        AMIABLE_NAMESPACE, '["acme","claim","k-1"]'
    )


def test_events_of_one_type_caused_by_one_cause_get_steps_of_their_own():
    events = [SimpleNamespace(type=t) for t in ("a", "b", "a", "a")]
    assert caused_steps(events) == ["a", "b", "a#2", "a#3"]
    ids = {caused_id("cause", "svc", step) for step in caused_steps(events)}
    assert len(ids) == 4
