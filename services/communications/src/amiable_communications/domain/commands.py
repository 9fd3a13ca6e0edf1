"""What people ask of the communications service, and the deciders: set the creditor's profile
and a debtor's contact preferences, record a letter's tracking, an agent's call outcome, a
reviewer's decision, an interaction. Pure.

Free text arrives sealed: the application seals it with the debtor account's key before a
decider sees it. A command on one message decides on the account's state and on the message as
the projection's row has it, since a settled message leaves the account's state (a plain letter
once it is sent).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from amiable_communications.domain.state import Account, Preferences
from amiable_events.commands import REPEATED, Context
from amiable_events.communications import (
    LETTER_CHANNELS,
    TASK_CHANNELS,
    CallOutcome,
    CallOutcomeRecorded,
    CommunicationReviewed,
    CommunicationSuppressed,
    ContactPreferencesSet,
    CreditorProfile,
    CreditorProfileSet,
    DisputeOutcome,
    InteractionRecorded,
    PromiseOutcome,
    TrackingRecorded,
)
from amiable_events.dunning import Channel
from amiable_events.errors import Conflict, FieldError, Invalid, NotFound


@dataclass(frozen=True)
class Message:
    """One message as the projection's row has it: what a command on it needs to know."""

    communication_id: str
    claim_id: str
    channel: str
    status: str
    revision: int | None = None
    step: str | None = None
    outcome: str | None = None
    tracking_number: str | None = None
    carrier: str | None = None
    tracking_status: str | None = None


@dataclass(frozen=True)
class Target:
    """What a command decides on: the debtor account, and the message it is about if any."""

    account: Account
    message: Message | None = None


@dataclass(frozen=True)
class Profiled:
    """The tenant's creditor profile, as set last (None: never)."""

    profile: CreditorProfile | None


@dataclass(frozen=True)
class SetCreditorProfile:
    profile: CreditorProfile
    set_by: str


@dataclass(frozen=True)
class SetContactPreferences:
    debtor_id: str
    preferences: Preferences
    set_by: str


@dataclass(frozen=True)
class RecordTracking:
    communication_id: UUID
    tracking_number: str
    carrier: str | None
    status: str


@dataclass(frozen=True)
class RecordCallOutcome:
    communication_id: UUID
    outcome: CallOutcome
    agent: str
    promise: PromiseOutcome | None = None
    dispute: DisputeOutcome | None = None
    notes: str | None = None  # sealed


@dataclass(frozen=True)
class Review:
    communication_id: UUID
    decision: str
    reviewer: str
    subject: str | None = None  # sealed
    body: str | None = None  # sealed
    reason: str | None = None  # sealed


@dataclass(frozen=True)
class RecordInteraction:
    claim_id: UUID
    interaction_id: UUID
    kind: str
    summary: str  # sealed
    recorded_by: str
    channel: Channel | None = None
    in_reply_to: UUID | None = None
    occurred_at: datetime | None = None


def set_profile(profiled: Profiled, command: SetCreditorProfile, context: Context):
    if profiled.profile == command.profile:
        return REPEATED
    return [
        CreditorProfileSet(
            tenant=context.tenant,
            profile=command.profile,
            set_by=command.set_by,
            set_at=context.now,
        )
    ]


def set_preferences(target: Target, command: SetContactPreferences, context: Context):
    if target.account.preferences == command.preferences:
        return REPEATED
    return [
        ContactPreferencesSet(
            debtor_id=command.debtor_id,
            **command.preferences.model_dump(),
            set_by=command.set_by,
            set_at=context.now,
        )
    ]


def _message(target: Target, communication_id: UUID) -> Message:
    if target.message is None or target.message.communication_id != str(communication_id):
        raise NotFound(
            f"no communication {communication_id} for this tenant", title="Communication not found"
        )
    return target.message


def record_tracking(target: Target, command: RecordTracking, context: Context):
    message = _message(target, command.communication_id)
    if message.channel not in LETTER_CHANNELS or message.status not in ("sent", "delivered"):
        raise Conflict(
            f"communication {command.communication_id} is a {message.channel} {message.status}: "
            "only a letter that was sent can be tracked",
            title="Not a sent letter",
            communication_status=message.status,
            channel=message.channel,
        )
    known = (message.tracking_number, message.carrier, message.tracking_status)
    if known == (command.tracking_number, command.carrier, command.status):
        return REPEATED
    return [
        TrackingRecorded(
            claim_id=UUID(message.claim_id),
            communication_id=command.communication_id,
            tracking_number=command.tracking_number,
            carrier=command.carrier,
            status=command.status,
            recorded_at=context.now,
        )
    ]


def _outcome_details(command: RecordCallOutcome) -> None:
    errors = []
    for field, outcome in (("promise", "promise_to_pay"), ("dispute", "dispute_raised")):
        given = getattr(command, field) is not None
        if command.outcome == outcome and not given:
            errors.append(FieldError(field, f"required for the outcome {outcome}"))
        elif command.outcome != outcome and given:
            errors.append(FieldError(field, f"only for the outcome {outcome}"))
    if errors:
        raise Invalid(errors)


def record_call_outcome(target: Target, command: RecordCallOutcome, context: Context):
    message = _message(target, command.communication_id)
    if message.channel not in TASK_CHANNELS:
        raise NotFound(
            f"no call task {command.communication_id} for this tenant", title="Task not found"
        )
    _outcome_details(command)
    if message.outcome is not None or message.status not in ("sent", "delivered"):
        raise Conflict(
            f"task {command.communication_id} is not open: "
            + (f"its outcome is {message.outcome}" if message.outcome else message.status),
            title="Task not open",
            communication_status=message.status,
            outcome=message.outcome,
        )
    return [
        CallOutcomeRecorded(
            claim_id=UUID(message.claim_id),
            communication_id=command.communication_id,
            outcome=command.outcome,
            promise=command.promise,
            dispute=command.dispute,
            notes=command.notes,
            agent=command.agent,
            recorded_at=context.now,
        )
    ]


def _review_fields(command: Review) -> None:
    errors = []
    edited = command.subject is not None or command.body is not None
    if command.decision == "edit" and not edited:
        errors.append(FieldError("body", "an edit gives the subject, the body or both"))
    if command.decision != "edit" and edited:
        errors.append(FieldError("body", "a subject or a body is only for an edit"))
    if command.decision != "reject" and command.reason is not None:
        errors.append(FieldError("reason", "a reason is only for a rejection"))
    if errors:
        raise Invalid(errors)


def review(target: Target, command: Review, context: Context):
    message = _message(target, command.communication_id)
    _review_fields(command)
    if message.status != "in_review":
        raise Conflict(
            f"communication {command.communication_id} is {message.status}, not in review",
            title="Not in review",
            communication_status=message.status,
        )
    common = {"claim_id": UUID(message.claim_id), "communication_id": command.communication_id}
    reviewed = CommunicationReviewed(
        **common,
        decision=command.decision,
        reviewer=command.reviewer,
        edited_subject=command.subject,
        edited_body=command.body,
        reason=command.reason,
        reviewed_at=context.now,
    )
    if command.decision != "reject":
        return [reviewed]
    return [
        reviewed,
        CommunicationSuppressed(
            **common,
            reason="review_rejected",
            revision=message.revision,
            step=message.step,
            suppressed_at=context.now,
        ),
    ]


def record_interaction(target: Target, command: RecordInteraction, context: Context):
    if target.account.claim(str(command.claim_id)) is None:
        raise NotFound(f"no claim {command.claim_id} for this tenant", title="Claim not found")
    occurred_at = command.occurred_at or context.now
    if occurred_at > context.now:
        raise Invalid.field("occurred_at", "an interaction cannot have happened in the future")
    return [
        InteractionRecorded(
            claim_id=command.claim_id,
            interaction_id=command.interaction_id,
            kind=command.kind,
            channel=command.channel,
            summary=command.summary,
            in_reply_to=command.in_reply_to,
            recorded_by=command.recorded_by,
            occurred_at=occurred_at,
            recorded_at=context.now,
        )
    ]


#: The deciders on a debtor account (and one of its messages)
DECIDERS = {
    SetContactPreferences: set_preferences,
    RecordTracking: record_tracking,
    RecordCallOutcome: record_call_outcome,
    Review: review,
    RecordInteraction: record_interaction,
}
#: The decider on the tenant's settings (a tenant event, keyed ``<tenant>:``)
PROFILE_DECIDERS = {SetCreditorProfile: set_profile}
