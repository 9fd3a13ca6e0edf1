"""Folds the claim log into a debtor account's communications state. Pure and total: an event
about a claim or a message the account has not seen changes nothing."""

from __future__ import annotations

from datetime import datetime
from functools import singledispatch

from amiable_communications.domain.state import (
    Account,
    ClaimFacts,
    Comm,
    DisputeFacts,
    Preferences,
    Promised,
    Released,
)
from amiable_events.claims import (
    ClaimAmended,
    ClaimRegistered,
    DebtorPersonalDataErased,
    PaymentPlanAgreed,
    PromiseToPayRecorded,
)
from amiable_events.communications import (
    CallOutcomeRecorded,
    CommunicationDeferred,
    CommunicationDelivered,
    CommunicationFailed,
    CommunicationQueued,
    CommunicationReleased,
    CommunicationReviewed,
    CommunicationSent,
    CommunicationSuppressed,
    ContactPreferencesSet,
    TrackingRecorded,
)
from amiable_events.disputes import DisputeOpened, DisputeResolved, DisputeWithdrawn
from amiable_events.dunning import (
    DunningPaused,
    DunningStepDue,
    DunningStopped,
    PlanEvent,
)
from amiable_events.envelope import Envelope
from amiable_events.ledger import FOLDED, fold


def evolve(account: Account | None, envelope: Envelope) -> Account | None:
    event = envelope.data
    if isinstance(event, ClaimRegistered):
        return _registered(account, envelope.tenant, event)
    if isinstance(event, ContactPreferencesSet | DebtorPersonalDataErased):
        account = account or Account(tenant=envelope.tenant, debtor_id=envelope.debtor_id)
        return _account(event, account)
    if account is None:
        return None
    if isinstance(event, ClaimAmended):
        return _amended(account, event)
    communication_id = getattr(event, "communication_id", None)
    if communication_id is not None:
        if isinstance(event, CommunicationQueued):
            return _queued(account, event)
        comm = account.comm(str(communication_id))
        if comm is None:
            return account
        account = account.with_comm(_message(event, comm, envelope.time))
        if isinstance(event, CommunicationReleased):
            account = _released(account, comm, event)
        return account
    claim = account.claim(str(getattr(event, "claim_id", "")))
    if claim is None:
        return account
    if type(event) in FOLDED:
        claim = claim.model_copy(update={"ledger": fold(claim.ledger, event, envelope.tenant)})
    if isinstance(event, DunningStepDue):
        account = _grouped(account, event)
    return account.with_claim(_claim(event, claim, envelope.time))


def _grouped(account: Account, event: DunningStepDue) -> Account:
    """The first step of a consolidation group to arrive claims the group's message (on its
    channel): the others' steps are in it already. Kept here, on the trigger, because the
    message it queues comes back from the log only after the rest of the batch."""
    if account.opener(str(event.group_id), event.channel) is not None:
        return account
    entry = f"{event.group_id}:{event.channel}:{event.claim_id}"
    return account.model_copy(update={"groups": (*account.groups[-49:], entry)})


def _registered(account: Account | None, tenant: str, event: ClaimRegistered) -> Account:
    debtor = event.debtor
    account = account or Account(tenant=tenant, debtor_id=debtor.id)
    if account.claim(str(event.claim_id)) is not None:
        return account
    # The latest registration describes the debtor as the creditor knows it now.
    identity = {
        "legal_name": debtor.legal_name,
        "country": debtor.country,
        "timezone": debtor.timezone,
        "language": debtor.language,
    }
    if not account.erased:
        identity["contacts"] = debtor.contacts or account.contacts
        identity["postal_address"] = debtor.postal_address or account.postal_address
    claim = ClaimFacts(claim_id=str(event.claim_id), ledger=fold(None, event, tenant))
    return account.model_copy(update=identity).with_claim(claim)


def _amended(account: Account, event: ClaimAmended) -> Account:
    if account.claim(str(event.claim_id)) is None or account.erased:
        return account
    changes = {}
    if event.contacts is not None:
        changes["contacts"] = event.contacts
    if event.postal_address is not None:
        changes["postal_address"] = event.postal_address
    return account.model_copy(update=changes)


@singledispatch
def _account(event: object, account: Account) -> Account:
    return account


@_account.register
def _(event: ContactPreferencesSet, account: Account) -> Account:
    preferences = Preferences(
        opted_out=event.opted_out,
        opted_out_channels=event.opted_out_channels,
        preferred_channel=event.preferred_channel,
        language=event.language,
    )
    return account.model_copy(update={"preferences": preferences})


@_account.register
def _(event: DebtorPersonalDataErased, account: Account) -> Account:
    # What is sealed cannot be read any more; the state drops it all the same.
    return account.model_copy(update={"erased": True, "contacts": (), "postal_address": None})


@singledispatch
def _claim(event: object, claim: ClaimFacts, at: datetime) -> ClaimFacts:
    return claim


@_claim.register
def _(event: PlanEvent, claim: ClaimFacts, at: datetime) -> ClaimFacts:
    return claim.model_copy(
        update={"dunning": "active", "revision": event.revision, "plan": event.steps}
    )


@_claim.register
def _(event: DunningPaused, claim: ClaimFacts, at: datetime) -> ClaimFacts:
    return claim.model_copy(update={"dunning": "paused"})


@_claim.register
def _(event: DunningStopped, claim: ClaimFacts, at: datetime) -> ClaimFacts:
    return claim.model_copy(update={"dunning": "stopped", "plan": ()})


@_claim.register
def _(event: DunningStepDue, claim: ClaimFacts, at: datetime) -> ClaimFacts:
    plan = tuple(s for s in claim.plan if s.at > event.due_at)
    return claim.model_copy(update={"plan": plan})


@_claim.register
def _(event: PromiseToPayRecorded, claim: ClaimFacts, at: datetime) -> ClaimFacts:
    return claim.model_copy(update={"promise": Promised(amount=event.amount, on=event.promised_on)})


@_claim.register
def _(event: PaymentPlanAgreed, claim: ClaimFacts, at: datetime) -> ClaimFacts:
    return claim.model_copy(update={"installments": event.installments})


@_claim.register
def _(event: DisputeOpened, claim: ClaimFacts, at: datetime) -> ClaimFacts:
    amount = None if event.whole_claim else event.disputed_amount
    dispute = DisputeFacts(dispute_id=str(event.dispute_id), amount=amount)
    return claim.model_copy(update={"dispute": dispute})


@_claim.register(DisputeResolved)
@_claim.register(DisputeWithdrawn)
def _(event, claim: ClaimFacts, at: datetime) -> ClaimFacts:
    return claim.model_copy(update={"dispute": None})


def _queued(account: Account, event: CommunicationQueued) -> Account:
    if account.comm(str(event.communication_id)) is not None:
        return account
    comm = Comm(
        communication_id=str(event.communication_id),
        claim_id=str(event.claim_id),
        claims=tuple(str(c) for c in event.claims),
        purpose=event.purpose,
        cause_id=str(event.cause_id),
        channel=event.channel,
        template=event.template,
        tone=event.tone,
        language=event.language,
        kind=event.kind,
        status="in_review" if event.review_required else "queued",
        at=event.not_before,
        review_required=event.review_required,
        revision=event.revision,
        step=event.step,
        group_id=None if event.group_id is None else str(event.group_id),
        **event.details.model_dump() if event.details else {},
    )
    return account.with_comm(comm)


@singledispatch
def _message(event: object, comm: Comm, at: datetime) -> Comm:
    return comm


def _status(comm: Comm, status: str, **changes) -> Comm:
    return comm.model_copy(update={"status": status, **changes})


@_message.register
def _(event: CommunicationReviewed, comm: Comm, at: datetime) -> Comm:
    if event.decision == "reject":
        return comm  # CommunicationSuppressed (review_rejected) follows it
    return _status(
        comm,
        "queued",
        at=max(comm.at, event.reviewed_at),
        edited_subject=event.edited_subject,
        edited_body=event.edited_body,
    )


@_message.register
def _(event: CommunicationDeferred, comm: Comm, at: datetime) -> Comm:
    return comm.model_copy(update={"at": event.until, "deferrals": comm.deferrals + 1})


@_message.register
def _(event: CommunicationSuppressed, comm: Comm, at: datetime) -> Comm:
    return _status(comm, "suppressed")


@_message.register
def _(event: CommunicationReleased, comm: Comm, at: datetime) -> Comm:
    return _status(comm, "released", channel=event.channel, released_at=event.released_at)


@_message.register
def _(event: CommunicationSent, comm: Comm, at: datetime) -> Comm:
    return _status(comm, "sent") if comm.status == "released" else comm


@_message.register
def _(event: CommunicationDelivered, comm: Comm, at: datetime) -> Comm:
    return _status(comm, "delivered") if comm.status in ("released", "sent") else comm


@_message.register
def _(event: CommunicationFailed, comm: Comm, at: datetime) -> Comm:
    return _status(comm, "failed") if comm.status in ("released", "sent") else comm


@_message.register
def _(event: TrackingRecorded, comm: Comm, at: datetime) -> Comm:
    return _status(comm, "delivered") if event.status == "delivered" else comm


@_message.register
def _(event: CallOutcomeRecorded, comm: Comm, at: datetime) -> Comm:
    return comm.model_copy(update={"outcome": event.outcome})


def _released(account: Account, comm: Comm, event: CommunicationReleased) -> Account:
    account = account.remember(
        Released(at=event.released_at, channel=event.channel, kind=event.kind)
    )
    if comm.purpose != "dunning_step":
        return account
    for claim_id in comm.claims:
        claim = account.claim(claim_id)
        if claim is not None and not claim.chased:
            account = account.with_claim(claim.model_copy(update={"chased": True}))
    return account
