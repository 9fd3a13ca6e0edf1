"""Every published event type, registered explicitly. The contract other teams read."""

from __future__ import annotations

from amiable_events import claims, communications, disputes, dunning, risk
from amiable_events.registry import Registry

CONTEXTS = {
    "claims": claims.EVENTS,
    "risk": risk.EVENTS,
    "dunning": dunning.EVENTS,
    "communications": communications.EVENTS,
    "disputes": disputes.EVENTS,
}

REGISTRY = Registry(models=[model for events in CONTEXTS.values() for model in events])
