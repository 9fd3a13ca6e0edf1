"""The dunning service, declared once: everything that runs it derives from ``SERVICE``."""

from __future__ import annotations

from amiable_dunning.adapters.projector import DunningProjector
from amiable_dunning.adapters.read_model import DunningReadModel
from amiable_dunning.adapters.tables import timers
from amiable_dunning.api import dunning, policies
from amiable_dunning.api.cli import commands
from amiable_dunning.app.handlers import DunningHandler
from amiable_dunning.app.policies import PolicyHandler, PolicyShelves
from amiable_dunning.app.reactions import reactions
from amiable_dunning.app.timers import fire
from amiable_dunning.domain import policy_commands
from amiable_dunning.domain.commands import DECIDERS
from amiable_dunning.domain.policy import Policy
from amiable_dunning.settings import DunningSettings
from amiable_events.ledger import Figures
from amiable_events.service import Parts, Service, TimerDeclaration


def wire(parts: Parts) -> dict:
    """The dunning application on top of what every service has."""
    read_model = DunningReadModel(parts.store)
    figures = Figures.from_settings(parts.settings)
    bus = parts.command_bus("dunning", DECIDERS, read_model, figures, across_replicas=True)
    # Policies are tenant events, keyed <tenant>:, so they have a bus and a state of their own.
    shelves = PolicyShelves(read_model, parts.clock)
    policy_bus = parts.command_bus(
        "dunning", policy_commands.DECIDERS, shelves, across_replicas=True
    )
    return {
        "dunning": DunningHandler(bus=bus, read_model=read_model, clock=parts.clock),
        "policies": PolicyHandler(
            bus=policy_bus,
            read_model=read_model,
            store=parts.store,
            clock=parts.clock,
            default=Policy.load(parts.settings.dunning_policy),
            figures=figures,
        ),
    }


SERVICE = Service(
    name="dunning",
    port=8003,
    title="dunning",
    summary="Dunning: graduated recovery tracks from versioned policies, planned on the "
    "debtor's business days and contact hours; paused by disputes and promises, resumed, "
    "stopped by payment; approvals before a bailiff or litigation.",
    settings=DunningSettings,
    scopes={
        "dunning:read": "read claims' dunning plans, the day plan and the approval queue",
        "dunning:write": "approve steps, publish and activate policies",
    },
    projector=lambda settings: DunningProjector(Figures.from_settings(settings)),
    routers=(dunning.router, policies.router),
    reactions=lambda settings: reactions(
        Policy.load(settings.dunning_policy), Figures.from_settings(settings)
    ),
    timers=TimerDeclaration(table=timers, fire=fire),
    wire=wire,
    commands=commands,
)
