"""A tenant's policy versions: publish one, activate one. Pure.

Policies are tenant events (subject ``tenant:<tenant>``, key ``<tenant>:``): their state is
the tenant's shelf of published versions, not a debtor account.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from amiable_dunning.domain.policy import Policy
from amiable_events.commands import REPEATED, Context
from amiable_events.dunning import DunningPolicyActivated, DunningPolicyPublished
from amiable_events.errors import Conflict, NotFound

Version = tuple[str, str]


@dataclass(frozen=True)
class Shelf:
    """The tenant's published versions, by (policy id, version), and the one active now."""

    published: dict[Version, Policy] = field(default_factory=dict)
    active: Version | None = None


@dataclass(frozen=True)
class PublishPolicy:
    policy: Policy


@dataclass(frozen=True)
class ActivatePolicy:
    policy_id: str
    version: str


def publish(shelf: Shelf, command: PublishPolicy, context: Context):
    policy = command.policy
    known = shelf.published.get((policy.id, policy.version))
    if known == policy:
        return REPEATED
    if known is not None:
        raise Conflict(
            f"policy {policy.id} version {policy.version} is published with another document; "
            "a change is a new version",
            title="Version already published",
            policy_id=policy.id,
            version=policy.version,
        )
    return [
        DunningPolicyPublished(
            tenant=context.tenant,
            policy_id=policy.id,
            version=policy.version,
            document=policy.model_dump(mode="json"),
            published_at=context.now,
        )
    ]


def activate(shelf: Shelf, command: ActivatePolicy, context: Context):
    version = (command.policy_id, command.version)
    if version not in shelf.published:
        raise NotFound(
            f"no policy {command.policy_id} version {command.version} for this tenant",
            title="Policy version not found",
        )
    if shelf.active == version:
        return REPEATED
    return [
        DunningPolicyActivated(
            tenant=context.tenant,
            policy_id=command.policy_id,
            version=command.version,
            activated_at=context.now,
        )
    ]


DECIDERS = {PublishPolicy: publish, ActivatePolicy: activate}
