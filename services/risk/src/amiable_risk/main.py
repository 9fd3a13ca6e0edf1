"""The risk service, declared once: everything that runs it derives from ``SERVICE``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from amiable_events.service import Parts, Service, TimerDeclaration
from amiable_risk.adapters.projector import RiskProjector
from amiable_risk.adapters.read_model import RiskReadModel
from amiable_risk.adapters.tables import timers
from amiable_risk.api import debtors, risk
from amiable_risk.api.cli import commands
from amiable_risk.app.handlers import RiskHandler
from amiable_risk.app.reactions import reactions
from amiable_risk.app.timers import fire
from amiable_risk.domain.decide import DECIDERS
from amiable_risk.domain.scorecard import Scorecard
from amiable_risk.settings import RiskSettings


@cache
def scorecard(path: Path | None = None) -> Scorecard:
    return Scorecard.load(path)


def wire(parts: Parts) -> dict:
    """The risk application on top of what every service has."""
    read_model = RiskReadModel(parts.store)
    return {
        "risk": RiskHandler(
            bus=parts.command_bus("risk", DECIDERS, read_model),
            read_model=read_model,
            sealer=parts.sealer,
            scorecard=parts.store.projector.scorecard,
        )
    }


SERVICE = Service(
    name="risk",
    port=8002,
    title="risk",
    summary="Risk scoring: behaviour features per debtor account, an explainable score, grade "
    "and segment, early-warning alerts, collective proceedings, credit limits and overrides.",
    settings=RiskSettings,
    scopes={
        "risk:read": "read debtors' risk assessments, alerts, the scorecard and the risk mix",
        "risk:write": "record collective proceedings, credit limits and segment overrides",
    },
    projector=lambda settings: RiskProjector(scorecard(settings.scorecard)),
    routers=(debtors.router, risk.router),
    reactions=lambda settings: reactions(scorecard(settings.scorecard)),
    timers=TimerDeclaration(table=timers, fire=fire),
    wire=wire,
    commands=commands,
)
