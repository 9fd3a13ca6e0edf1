"""The risk service, declared once: everything that runs it derives from ``SERVICE``."""

from __future__ import annotations

from amiable_events.service import Service
from amiable_risk.adapters.tables import metadata
from amiable_risk.settings import RiskSettings


class _Placeholder:
    """Until the risk projector lands (this session): tables only."""

    service = "risk"
    metadata = metadata

    async def apply(self, conn, envelope) -> None:
        return None


SERVICE = Service(
    name="risk",
    port=8002,
    title="risk",
    summary="Risk scoring: per-debtor behaviour features, an explainable score and segment, "
    "early warnings.",
    settings=RiskSettings,
    scopes={
        "risk:read": "read debtors' risk assessments, alerts, the scorecard and the risk portfolio",
        "risk:write": "record collective proceedings, credit limits and segment overrides",
    },
    projector=lambda settings: _Placeholder(),
)
