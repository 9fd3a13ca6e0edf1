"""What the communications service queues in reaction to the log: the message of a dunning
step, the confirmation of what the debtor just did, the thank-you for a settled claim that was
chased. Pure: the account's state right after the trigger, in log order.

A message's id derives from its trigger, so a trigger read twice queues one message. Before it
queues anything the reaction checks, in log order, that the claim is still open, not paused
and its debtor not erased; otherwise it records ``CommunicationSuppressed`` with the reason, so
every step of a plan has a visible outcome.
"""

from __future__ import annotations

from collections.abc import Sequence

from amiable_communications.domain.governor import Debtor, order_channels
from amiable_communications.domain.state import Account, ClaimFacts
from amiable_events.base import Event
from amiable_events.claims import ClaimSettled, PaymentPlanAgreed, PromiseToPayRecorded
from amiable_events.communications import (
    TASK_CHANNELS,
    CommunicationQueued,
    CommunicationSuppressed,
    Kind,
    Purpose,
    StepDetails,
    SuppressReason,
)
from amiable_events.disputes import DisputeOpened
from amiable_events.dunning import Channel, DunningStepDue
from amiable_events.envelope import Envelope
from amiable_events.ids import keyed_id

SERVICE = "communications"
#: The channels a confirmation or a thank-you may go by, in order.
CONFIRMATION_CHANNELS: tuple[Channel, ...] = ("email", "letter")
CONFIRMATIONS: dict[type, str] = {
    PromiseToPayRecorded: "confirm.promise",
    PaymentPlanAgreed: "confirm.payment_plan",
    DisputeOpened: "confirm.dispute",
}


def communication_id(trigger: Envelope):
    return keyed_id("communication", str(trigger.id))


def debtor_of(account: Account) -> Debtor:
    p = account.preferences
    return Debtor(
        country=account.country,
        timezone=account.timezone,
        opted_out=p.opted_out,
        opted_out_channels=frozenset(p.opted_out_channels),
        preferred_channel=p.preferred_channel,
    )


def kind_of(purpose: Purpose, channel: Channel) -> Kind:
    if purpose != "dunning_step" or channel in ("bailiff", "lawyer"):
        return "transactional"
    return "call_attempt" if channel in TASK_CHANNELS else "reminder"


def channel_for(account: Account, channels: Sequence[Channel]) -> Channel | SuppressReason:
    """The first of ``channels`` (the debtor's preferred one first) that the debtor accepts and
    has an address for; else why none."""
    allowed = order_channels(channels, debtor_of(account))
    if not allowed:
        return "opted_out"
    return next((c for c in allowed if account.reachable_by(c)), "no_address")


def on_step_due(account: Account, envelope: Envelope) -> list[Event]:
    event: DunningStepDue = envelope.data
    claim = account.claim(str(event.claim_id))
    if claim is None or account.opener(str(event.group_id), event.channel) != claim.claim_id:
        return []
    common = {
        "claim_id": event.claim_id,
        "communication_id": communication_id(envelope),
    }
    reason = _not_chased(account, claim)
    channel = channel_for(account, (event.channel, *event.fallback_channels))
    if reason is None and channel in ("opted_out", "no_address"):
        reason = channel
    if reason is not None:
        return [
            CommunicationSuppressed(
                **common,
                reason=reason,
                revision=event.revision,
                step=event.step,
                suppressed_at=envelope.time,
            )
        ]
    return [
        CommunicationQueued(
            **common,
            purpose="dunning_step",
            cause_id=envelope.id,
            claims=event.group or (event.claim_id,),
            channel=channel,
            template=event.template,
            tone=event.tone,
            language=account.speaks,
            kind=kind_of("dunning_step", channel),
            not_before=event.due_at,
            review_required=event.review,
            revision=event.revision,
            step=event.step,
            group_id=event.group_id,
            details=StepDetails(
                solution_first=event.solution_first,
                contact_role=event.contact_role,
                amount_due=event.amount_due,
                payment_deadline=event.payment_deadline,
                disputed_amount=event.disputed_amount,
                installment=event.installment,
            ),
            queued_at=envelope.time,
        )
    ]


def _not_chased(account: Account, claim: ClaimFacts) -> SuppressReason | None:
    if account.erased:
        return "debtor_erased"
    if not claim.open:
        return "claim_closed"
    if claim.dunning == "paused":
        return "claim_paused"
    return None


def on_confirmed(account: Account, envelope: Envelope) -> list[Event]:
    template = CONFIRMATIONS[type(envelope.data)]
    return _transactional(account, envelope, "confirmation", template)


def on_settled(account: Account, envelope: Envelope) -> list[Event]:
    claim = account.claim(str(envelope.data.claim_id))
    if claim is None or not claim.chased:
        return []  # paid without being chased: no message at all
    return _transactional(account, envelope, "thanks", "thanks.settled")


def _transactional(
    account: Account, envelope: Envelope, purpose: Purpose, template: str
) -> list[Event]:
    claim_id = envelope.data.claim_id
    if account.erased or account.claim(str(claim_id)) is None:
        return []
    common = {"claim_id": claim_id, "communication_id": communication_id(envelope)}
    channel = channel_for(account, CONFIRMATION_CHANNELS)
    if channel in ("opted_out", "no_address"):
        return [CommunicationSuppressed(**common, reason=channel, suppressed_at=envelope.time)]
    return [
        CommunicationQueued(
            **common,
            purpose=purpose,
            cause_id=envelope.id,
            claims=(claim_id,),
            channel=channel,
            template=template,
            tone="courteous",
            language=account.speaks,
            kind="transactional",
            not_before=envelope.time,
            queued_at=envelope.time,
        )
    ]


TABLE = {
    DunningStepDue: on_step_due,
    **{event: on_confirmed for event in CONFIRMATIONS},
    ClaimSettled: on_settled,
}
