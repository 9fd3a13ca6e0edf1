"""The communications state of one debtor account: who the debtor is and how to reach it (in
sealed form), what it asked for, its claims' money facts and dunning, the messages not settled
yet, and the contacts the governor counts.

One state per account, not per claim: the contact governor counts across all of the debtor's
claims and channels, and a consolidated reminder covers several claims.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from amiable_events.base import Sealed
from amiable_events.claims import Contact, Installment
from amiable_events.communications import TASK_CHANNELS, Kind, Purpose
from amiable_events.dunning import AmountDue, Channel, ScheduledStep, Tone
from amiable_events.ledger import ClaimLedger

CommStatus = Literal["in_review", "queued", "released", "sent", "delivered", "failed", "suppressed"]
#: How long a released contact is kept for the governor: its longest window is 7 days.
CONTACT_MEMORY = timedelta(days=8)


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Preferences(_State):
    opted_out: bool = False
    opted_out_channels: tuple[Channel, ...] = ()
    preferred_channel: Channel | None = None
    language: str | None = None


class Promised(_State):
    amount: Decimal
    on: date


class DisputeFacts(_State):
    dispute_id: str
    amount: Decimal | None


class ClaimFacts(_State):
    claim_id: str
    ledger: ClaimLedger
    #: none: not planned yet; stopped: dunning is over for it
    dunning: Literal["none", "active", "paused", "stopped"] = "none"
    revision: int = 0
    #: The steps still to come of the latest revision: a reminder states the next one
    plan: tuple[ScheduledStep, ...] = ()
    promise: Promised | None = None
    installments: tuple[Installment, ...] = ()
    dispute: DisputeFacts | None = None
    #: A dunning message of ours was released for it: a settled claim gets a thank-you
    chased: bool = False

    @property
    def open(self) -> bool:
        return not self.ledger.closed


class Comm(_State):
    """A message (or an agent's task) from its queueing until it is settled."""

    communication_id: str
    claim_id: str
    claims: tuple[str, ...]
    purpose: Purpose
    cause_id: str
    channel: Channel
    template: str
    tone: Tone
    language: str
    kind: Kind
    status: CommStatus
    #: When the governor decides next: the step's time, then each deferral's
    at: datetime
    deferrals: int = 0
    review_required: bool = False
    edited_subject: Sealed | None = None
    edited_body: Sealed | None = None
    revision: int | None = None
    step: str | None = None
    group_id: str | None = None
    solution_first: bool = False
    contact_role: str = "accounts_payable"
    amount_due: AmountDue | None = None
    payment_deadline: date | None = None
    disputed_amount: Decimal | None = None
    installment: int | None = None
    released_at: datetime | None = None
    #: A task (call, visit, hand-over) waits for its outcome after it is sent
    outcome: str | None = None

    @property
    def task(self) -> bool:
        return self.channel in TASK_CHANNELS

    @property
    def settled(self) -> bool:
        """Nothing more can happen to it that the state needs to know: a task is settled by
        its outcome, a registered letter by its delivery, any other message once it is sent."""
        if self.status in ("failed", "suppressed"):
            return True
        if self.task:
            return self.outcome is not None
        if self.channel == "registered_letter":
            return self.status == "delivered"
        return self.status in ("sent", "delivered")


class Released(_State):
    """A contact the governor counts: released, whatever its channel did with it."""

    at: datetime
    channel: Channel
    kind: Kind


class Account(_State):
    tenant: str
    debtor_id: str
    legal_name: str = ""
    country: str | None = None
    timezone: str | None = None
    language: str = "en"
    contacts: tuple[Contact, ...] = ()
    postal_address: Sealed | None = None
    preferences: Preferences = Preferences()
    erased: bool = False
    claims: dict[str, ClaimFacts] = {}
    communications: dict[str, Comm] = {}
    released: tuple[Released, ...] = ()
    #: The latest consolidation groups messaged, "<group id>:<channel>:<claim id>" with the
    #: claim whose step opened the group's message: the other claims' steps queue nothing
    groups: tuple[str, ...] = ()

    def claim(self, claim_id: str) -> ClaimFacts | None:
        return self.claims.get(str(claim_id))

    def comm(self, communication_id: str) -> Comm | None:
        return self.communications.get(str(communication_id))

    @property
    def speaks(self) -> str:
        """The language to write in: the debtor's own choice, else its claims'."""
        return self.preferences.language or self.language

    def with_claim(self, claim: ClaimFacts) -> Account:
        return self.model_copy(update={"claims": {**self.claims, claim.claim_id: claim}})

    def with_comm(self, comm: Comm) -> Account:
        comms = {**self.communications, comm.communication_id: comm}
        if comm.settled:
            del comms[comm.communication_id]
        return self.model_copy(update={"communications": comms})

    def reachable_by(self, channel: Channel) -> bool:
        """Whether the account has an address for ``channel`` (its values are sealed: only
        their presence is known here)."""
        if channel == "email":
            return any(c.email for c in self.contacts)
        if channel in ("sms", "phone"):
            return any(c.phone for c in self.contacts)
        if channel in ("letter", "registered_letter", "visit"):
            return self.postal_address is not None
        return True  # a bailiff or a lawyer is briefed by a person

    def opener(self, group_id: str, channel: str) -> str | None:
        """The claim whose step opened the group's message on ``channel``, if one did."""
        prefix = f"{group_id}:{channel}:"
        return next((g[len(prefix) :] for g in self.groups if g.startswith(prefix)), None)

    def remember(self, contact: Released) -> Account:
        kept = tuple(r for r in self.released if r.at >= contact.at - CONTACT_MEMORY)
        return self.model_copy(update={"released": (*kept, contact)})
