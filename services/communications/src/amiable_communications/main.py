"""The communications service, declared once: everything that runs it derives from
``SERVICE``."""

from __future__ import annotations

from amiable_communications.adapters.projector import CommunicationsProjector
from amiable_communications.adapters.read_model import CommunicationsReadModel, Profiles
from amiable_communications.adapters.tables import timers
from amiable_communications.api import communications, interactions, profiles, review, tasks
from amiable_communications.api.preview import router as preview
from amiable_communications.app.handlers import CommunicationsHandler
from amiable_communications.app.metrics import CONTACTS, contacts_reader
from amiable_communications.app.reactions import reactions
from amiable_communications.app.sender import Sender
from amiable_communications.app.timers import fire
from amiable_communications.app.writer import Writer
from amiable_communications.domain.commands import DECIDERS, PROFILE_DECIDERS
from amiable_communications.domain.governor import RuleBook
from amiable_communications.settings import CommunicationsSettings
from amiable_events.ledger import Figures
from amiable_events.service import Parts, Service, TimerDeclaration


def rules(settings: CommunicationsSettings) -> RuleBook:
    if settings.contact_rules is None:
        return RuleBook.shipped()
    return RuleBook.from_yaml(settings.contact_rules.read_text())


def wire(parts: Parts) -> dict:
    """The communications application on top of what every service has."""
    read_model = CommunicationsReadModel(parts.store)
    # One command at a time per account in every replica: a task's outcome or a review is
    # decided once, whichever replica gets it.
    bus = parts.command_bus("communications", DECIDERS, read_model, across_replicas=True)
    # The creditor profile is a tenant event, keyed <tenant>:, with a bus of its own.
    profile_bus = parts.command_bus(
        "communications", PROFILE_DECIDERS, Profiles(read_model), across_replicas=True
    )
    CONTACTS.bind(contacts_reader(parts.store, parts.clock))
    return {
        "writer": Writer(
            parts.store, parts.sealer, parts.clock, Figures.from_settings(parts.settings)
        ),
        "communications": CommunicationsHandler(
            bus=bus,
            profile_bus=profile_bus,
            read_model=read_model,
            sealer=parts.sealer,
            clock=parts.clock,
        ),
    }


def workers(parts: Parts, wired: dict) -> list:
    return [
        Sender(
            settings=parts.settings,
            store=parts.store,
            log=parts.log,
            clock=parts.clock,
            sealer=parts.sealer,
            writer=wired["writer"],
        )
    ]


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
    routers=(
        communications.router,
        tasks.router,
        review.router,
        interactions.router,
        profiles.router,
        preview,
    ),
    reactions=lambda settings: reactions(),
    timers=TimerDeclaration(table=timers, fire=fire),
    wire=wire,
    workers=workers,
)
