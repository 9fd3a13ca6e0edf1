"""The disputes service, declared once: everything that runs it derives from ``SERVICE``."""

from __future__ import annotations

from amiable_disputes.adapters.projector import DisputesProjector
from amiable_disputes.adapters.read_model import DisputesReadModel
from amiable_disputes.adapters.tables import timers
from amiable_disputes.api import disputes
from amiable_disputes.app.handlers import DisputesHandler
from amiable_disputes.app.reactions import reactions
from amiable_disputes.app.timers import fire
from amiable_disputes.domain.decide import DECIDERS
from amiable_disputes.domain.state import Policy
from amiable_disputes.settings import DisputesSettings
from amiable_events.ledger import Figures
from amiable_events.service import Parts, Service, TimerDeclaration


def policy(settings: DisputesSettings) -> Policy:
    return Policy(
        figures=Figures.from_settings(settings),
        acknowledge_business_days=settings.dispute_acknowledge_business_days,
        resolve_days=settings.dispute_resolve_days,
        escalate_on_resolve_breach=settings.dispute_escalate_on_breach,
    )


def wire(parts: Parts) -> dict:
    """The disputes application on top of what every service has."""
    read_model = DisputesReadModel(parts.store)
    bus = parts.command_bus(
        "disputes", DECIDERS, read_model, policy(parts.settings), across_replicas=True
    )
    return {
        "disputes": DisputesHandler(
            bus=bus, read_model=read_model, sealer=parts.sealer, clock=parts.clock
        )
    }


SERVICE = Service(
    name="disputes",
    port=8005,
    title="disputes",
    summary="Disputes: contestation of a claim, in whole or in part, through review and "
    "mediation to resolution; hardship declarations; service levels on the debtor's business "
    "days.",
    settings=DisputesSettings,
    scopes={
        "disputes:read": "read disputes, their histories and figures",
        "disputes:write": "open, assign, mediate, resolve, withdraw, comment and reclassify "
        "disputes",
    },
    projector=lambda settings: DisputesProjector(),
    routers=(disputes.router,),
    reactions=lambda settings: reactions(policy(settings)),
    timers=TimerDeclaration(table=timers, fire=fire),
    wire=wire,
)
