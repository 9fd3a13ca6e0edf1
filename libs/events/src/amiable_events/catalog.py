"""Every published event type, registered explicitly. The contract other teams read."""

from __future__ import annotations

from amiable_events import claims, disputes, risk
from amiable_events.registry import Registry

CONTEXTS = {"claims": claims.EVENTS, "risk": risk.EVENTS, "disputes": disputes.EVENTS}

REGISTRY = Registry(models=[model for events in CONTEXTS.values() for model in events])
