"""Publishing and activating a tenant's policy versions, decided on its shelf."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from amiable_dunning.domain.policy import Policy
from amiable_dunning.domain.policy_commands import (
    ActivatePolicy,
    PublishPolicy,
    Shelf,
    activate,
    publish,
)
from amiable_events.commands import REPEATED, Context
from amiable_events.dunning import DunningPolicyActivated, DunningPolicyPublished
from amiable_events.errors import Conflict, NotFound

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
CONTEXT = Context(tenant="acme", now=NOW)
SHIPPED = Policy.load()


def version(name: str, **changes) -> Policy:
    return SHIPPED.model_copy(update={"version": name, **changes})


def test_a_new_version_is_published_whole_and_reads_back_as_the_same_policy():
    (event,) = publish(Shelf(), PublishPolicy(version("v2")), CONTEXT)
    assert isinstance(event, DunningPolicyPublished)
    assert (event.tenant, event.policy_id, event.version) == ("acme", "default", "v2")
    assert event.subject == "tenant:acme"
    assert event.published_at == NOW
    assert Policy.model_validate(event.document) == version("v2")


def test_the_same_version_again_is_a_replay_and_another_document_under_it_a_conflict():
    shelf = Shelf(published={("default", "v2"): version("v2")})
    assert publish(shelf, PublishPolicy(version("v2")), CONTEXT) is REPEATED
    with pytest.raises(Conflict):
        publish(
            shelf,
            PublishPolicy(version("v2", consolidation_window_business_days=5)),
            CONTEXT,
        )


def test_only_a_published_version_is_activated_and_the_active_one_again_is_a_replay():
    shelf = Shelf(published={("default", "v2"): version("v2")})
    with pytest.raises(NotFound):
        activate(shelf, ActivatePolicy("default", "v3"), CONTEXT)
    (event,) = activate(shelf, ActivatePolicy("default", "v2"), CONTEXT)
    assert isinstance(event, DunningPolicyActivated)
    assert (event.version, event.activated_at) == ("v2", NOW)
    active = Shelf(published=shelf.published, active=("default", "v2"))
    assert activate(active, ActivatePolicy("default", "v2"), CONTEXT) is REPEATED
