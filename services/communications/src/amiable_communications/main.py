"""The communications service, declared once: everything that runs it derives from
``SERVICE``."""

from __future__ import annotations

from amiable_communications.adapters.projector import CommunicationsProjector
from amiable_communications.adapters.tables import timers
from amiable_communications.app.reactions import reactions
from amiable_communications.app.timers import fire
from amiable_communications.domain.governor import RuleBook
from amiable_communications.settings import CommunicationsSettings
from amiable_events.service import Parts, Service, TimerDeclaration


def rules(settings: CommunicationsSettings) -> RuleBook:
    if settings.contact_rules is None:
        return RuleBook.shipped()
    return RuleBook.from_yaml(settings.contact_rules.read_text())


def wire(parts: Parts) -> dict:
    """The communications application on top of what every service has."""
    return {}


def workers(parts: Parts, wired: dict) -> list:
    return []


SERVICE = Service(
    name="communications",
    port=8004,
    title="communications",
    summary="Communications: the message of each dunning step in the debtor's language and "
    "tone, on its channel (email, SMS, letter, call task), within the contact governor's "
    "limits, sent once; confirmations, call outcomes, the review queue and the audit trail.",
    settings=CommunicationsSettings,
    scopes={
        "communications:read": "read messages, call tasks, the review queue, profiles",
        "communications:write": "set profiles and preferences, review, record outcomes",
    },
    projector=lambda settings: CommunicationsProjector(rules(settings)),
    routers=(),
    reactions=lambda settings: reactions(),
    timers=TimerDeclaration(table=timers, fire=fire),
    wire=wire,
    workers=workers,
)
