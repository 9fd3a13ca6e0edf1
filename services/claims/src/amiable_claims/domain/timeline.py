"""One line of plain English per event, for the claim timeline (the audit trail), and which
free text of an event the timeline opens for its reader.

Events of other services get a generic line until a summary is written for them here, so the
timeline never misses an event. A summary is stored: it never holds personal data, sealed or
not; the event's sealed free text (:data:`FREE_TEXT`) is opened when the timeline is read.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import singledispatch

from amiable_events.base import SEALED_PREFIX
from amiable_events.claims import (
    ClaimAdjusted,
    ClaimAmended,
    ClaimCancelled,
    ClaimQualified,
    ClaimRegistered,
    ClaimRejected,
    ClaimSettled,
    ClaimWrittenOff,
    DebtAcknowledged,
    FixedFeeWaived,
    InstallmentMissed,
    LimitationApproaching,
    PaymentPlanAgreed,
    PaymentPlanDefaulted,
    PaymentReceived,
    PromiseBroken,
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
    InteractionRecorded,
    TrackingRecorded,
)
from amiable_events.disputes import (
    DisputeAssigned,
    DisputeCommented,
    DisputeEscalatedToMediation,
    DisputeOpened,
    DisputeReclassified,
    DisputeResolved,
    DisputeSlaBreached,
    DisputeWithdrawn,
    HardshipDeclared,
)
from amiable_events.dunning import (
    ClaimEscalated,
    DunningApprovalRequested,
    DunningPaused,
    DunningPlanScheduled,
    DunningRescheduled,
    DunningResumed,
    DunningStepDue,
    DunningStepSkipped,
    DunningStopped,
    PlanEvent,
)
from amiable_events.risk import (
    CreditLimitSet,
    InsolvencyRecorded,
    RiskAlertRaised,
    RiskAssessed,
    SegmentOverridden,
)


@singledispatch
def summarize(event) -> str:
    name = type(event).__name__
    return f"{name} from {event.source}"


@summarize.register
def _(event: ClaimRegistered) -> str:
    return (
        f"Invoice {event.invoice_number} of {event.amount} {event.currency} due "
        f"{event.due_on} registered against {event.debtor.legal_name}"
    )


@summarize.register
def _(event: ClaimQualified) -> str:
    return f"Qualified for recovery; time-barred after {event.prescription_date}"


@summarize.register
def _(event: ClaimRejected) -> str:
    reasons = ", ".join(reason.replace("_", " ") for reason in event.reasons)
    return f"Rejected: {reasons}"


@summarize.register
def _(event: ClaimAmended) -> str:
    fields = [
        name
        for name in ("contract_reference", "purchase_order", "description", "contacts")
        if getattr(event, name) is not None
    ]
    if event.postal_address is not None:
        fields.append("postal address")
    return f"Amended: {', '.join(f.replace('_', ' ') for f in fields)}"


@summarize.register
def _(event: PaymentReceived) -> str:
    return f"Payment of {event.amount} {event.currency} received on {event.received_on}"


@summarize.register
def _(event: ClaimSettled) -> str:
    extra = f", {event.overpaid} overpaid" if event.overpaid else ""
    return f"Settled on {event.settled_on}{extra}"


@summarize.register
def _(event: PaymentPlanAgreed) -> str:
    last = event.installments[-1].due_on
    return f"Payment plan of {len(event.installments)} instalment(s) agreed, last due {last}"


@summarize.register
def _(event: InstallmentMissed) -> str:
    return f"Instalment {event.installment + 1} due {event.due_on} missed"


@summarize.register
def _(event: PaymentPlanDefaulted) -> str:
    return f"Payment plan defaulted: instalment {event.installment + 1} due {event.due_on} missed"


@summarize.register
def _(event: PromiseToPayRecorded) -> str:
    return f"Promise to pay {event.amount} by {event.promised_on} ({event.source_channel})"


@summarize.register
def _(event: PromiseBroken) -> str:
    return f"Promise to pay {event.amount} by {event.promised_on} broken"


def _because(reason: str | None) -> str:
    """A reason in clear (events recorded before reasons were sealed); a sealed one is personal
    data and stays out of the timeline: the claim shows it opened."""
    return "" if reason is None or reason.startswith(SEALED_PREFIX) else f": {reason}"


@summarize.register
def _(event: ClaimWrittenOff) -> str:
    return f"Written off{_because(event.reason)}"


@summarize.register
def _(event: ClaimCancelled) -> str:
    note = f" (credit note {event.credit_note_reference})" if event.credit_note_reference else ""
    return f"Cancelled{_because(event.reason)}{note}"


@summarize.register
def _(event: ClaimAdjusted) -> str:
    return f"Reduced by {event.amount} (credit note {event.credit_note_reference})"


@summarize.register
def _(event: DebtAcknowledged) -> str:
    return f"Debt acknowledged by the debtor on {event.acknowledged_on}"


@summarize.register
def _(event: LimitationApproaching) -> str:
    return f"Time-barred in {event.days_left} days, on {event.prescription_date}"


@summarize.register
def _(event: FixedFeeWaived) -> str:
    return (
        f"Fixed recovery fee waived from {event.waived_from}: the debtor is in "
        f"{event.proceeding_kind} proceedings ({event.proceeding_reference})"
    )


# The risk service's events about the debtor account: on the timeline of each of the debtor's
# claims open when they are applied.


def _words(code: str) -> str:
    return code.replace("_", " ")


@summarize.register
def _(event: RiskAssessed) -> str:
    return (
        f"Debtor assessed: grade {event.grade}, segment {_words(event.segment)}, "
        f"score {event.score} (scorecard {event.scorecard_version})"
    )


@summarize.register
def _(event: RiskAlertRaised) -> str:
    return f"Risk alert on the debtor: {_words(event.signal)}"


@summarize.register
def _(event: SegmentOverridden) -> str:
    until = f" until {event.until}" if event.until else ""
    return f"Debtor's segment set by hand to {_words(event.segment)}{until}"


@summarize.register
def _(event: InsolvencyRecorded) -> str:
    return f"Debtor in {event.kind} proceedings from {event.opened_on} ({event.reference})"


@summarize.register
def _(event: CreditLimitSet) -> str:
    return f"Credit limit on the debtor set to {event.amount} {event.currency}"


# The disputes service's events about the claim.

#: The sealed free text of the events that carry some, by field: the timeline opens it with the
#: debtor's key for its reader (``[erased]`` once the debtor's key is shredded).
FREE_TEXT: dict[type, tuple[str, ...]] = {
    DisputeOpened: ("description",),
    DisputeCommented: ("comment",),
    DisputeReclassified: ("note",),
    DisputeResolved: ("resolution_note",),
    DisputeWithdrawn: ("note",),
    HardshipDeclared: ("description",),
    CommunicationReviewed: ("reason",),
    CallOutcomeRecorded: ("notes",),
    InteractionRecorded: ("summary",),
}
FREE_TEXT_BY_TYPE: dict[str, tuple[str, ...]] = {t.type: f for t, f in FREE_TEXT.items()}


def _utc(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _disputed(event: DisputeOpened | DisputeResolved) -> str:
    return "the whole claim" if event.whole_claim else f"{event.disputed_amount} {event.currency}"


def _raised_by(raised_by: str) -> str:
    return "the debtor's contact" if raised_by == "debtor_contact" else "an agent"


@summarize.register
def _(event: DisputeOpened) -> str:
    evidence = f", {len(event.evidence)} document(s) attached" if event.evidence else ""
    return (
        f"Dispute opened ({_words(event.reason)}) on {_disputed(event)} by "
        f"{_raised_by(event.raised_by)}{evidence}; to be assigned by "
        f"{_utc(event.acknowledge_by)} and resolved by {_utc(event.resolve_by)}"
    )


@summarize.register
def _(event: DisputeAssigned) -> str:
    return f"Dispute assigned to {event.assignee}"


@summarize.register
def _(event: DisputeEscalatedToMediation) -> str:
    if event.automatic:
        return "Dispute escalated to mediation automatically: unresolved past its deadline"
    mediator = f" ({event.mediator})" if event.mediator else ""
    return f"Dispute escalated to mediation{mediator}"


@summarize.register
def _(event: DisputeCommented) -> str:
    return "Comment on the dispute"


@summarize.register
def _(event: DisputeReclassified) -> str:
    return f"Dispute reclassified from {_words(event.from_reason)} to {_words(event.to_reason)}"


@summarize.register
def _(event: DisputeResolved) -> str:
    if event.outcome == "partially_upheld":
        return (
            f"Dispute resolved: partially upheld, {event.accepted_amount} {event.currency} accepted"
        )
    if event.outcome == "reissued":
        return f"Dispute resolved: the invoice is replaced by invoice {event.new_invoice_number}"
    if event.outcome == "upheld":
        return f"Dispute resolved: upheld on {_disputed(event)}"
    return "Dispute resolved: rejected"


@summarize.register
def _(event: DisputeWithdrawn) -> str:
    return "Dispute withdrawn"


@summarize.register
def _(event: HardshipDeclared) -> str:
    how = "the dispute reclassified" if event.reclassified else _raised_by(event.raised_by)
    return f"Hardship declared ({how}): the debtor cannot pay for now"


@summarize.register
def _(event: DisputeSlaBreached) -> str:
    missed = "assigned" if event.which == "acknowledge" else "resolved"
    return f"Dispute not {missed} by its deadline, {_utc(event.due_at)}"


# The dunning service's events about the claim (its tenant policy events are on no timeline).


def _next_step(event: PlanEvent) -> str:
    if not event.steps:
        return "no step left"
    step = event.steps[0]
    return f"next {_words(step.action)} on {step.planned_on}"


@summarize.register
def _(event: DunningPlanScheduled) -> str:
    return (
        f"Dunning plan {event.revision}: track {_words(event.track)}, policy "
        f"{event.policy_id} {event.policy_version}, {len(event.steps)} step(s) "
        f"({_words(event.reason)}); {_next_step(event)}"
    )


@summarize.register
def _(event: DunningPaused) -> str:
    until = f" until {event.until}" if event.until else ""
    return f"Dunning paused: {_words(event.reason)}{until}"


@summarize.register
def _(event: DunningResumed) -> str:
    return f"Dunning resumed: {_words(event.reason)}; {_next_step(event)}"


@summarize.register
def _(event: DunningRescheduled) -> str:
    return f"Dunning step {event.step} rescheduled: {_words(event.reason)}; {_next_step(event)}"


@summarize.register
def _(event: DunningStopped) -> str:
    return f"Dunning stopped: {_words(event.reason)}"


@summarize.register
def _(event: DunningStepSkipped) -> str:
    return f"Dunning step {event.step} skipped: {_words(event.reason)}"


@summarize.register
def _(event: DunningApprovalRequested) -> str:
    return f"{_words(event.action).capitalize()} ({event.step}) awaits a person's approval"


@summarize.register
def _(event: DunningStepDue) -> str:
    # Who approved it is the entry's actor; a summary names no person.
    approved = ", approved" if event.approved_by else ""
    grouped = f", with {len(event.group) - 1} other claim(s)" if len(event.group) > 1 else ""
    deadline = f", pay by {event.payment_deadline}" if event.payment_deadline else ""
    return (
        f"{_words(event.action).capitalize()} by {_words(event.channel)} (step {event.step}, "
        f"{event.tone} tone, to {_words(event.contact_role)}){deadline}{grouped}{approved}"
    )


@summarize.register
def _(event: ClaimEscalated) -> str:
    return "Handed over to litigation on a person's approval: amicable recovery is over"


# The communications service's events about the claim (its leading claim, for a message about
# several): a message's life, letters' tracking, agents' calls and the debtor's replies. Their
# sealed text (content, notes, a reviewer's reason, a reply) is never in a summary; the timeline
# opens the notes, the reason and the reply for its reader (FREE_TEXT).


def _step(step: str | None) -> str:
    return f" (dunning step {step})" if step else ""


def _others(claims: tuple) -> str:
    return f", with {len(claims) - 1} other claim(s)" if len(claims) > 1 else ""


@summarize.register
def _(event: CommunicationQueued) -> str:
    review = ", held for review" if event.review_required else ""
    return (
        f"{event.template} by {_words(event.channel)} queued ({_words(event.purpose)}, "
        f"{event.tone} tone){review}{_others(event.claims)}"
    )


_DECISIONS = {"approve": "approved", "edit": "edited and approved", "reject": "rejected"}


@summarize.register
def _(event: CommunicationReviewed) -> str:
    # Who reviewed it is the entry's actor; a summary names no person.
    return f"Message {_DECISIONS[event.decision]} on review"


@summarize.register
def _(event: CommunicationDeferred) -> str:
    return (
        f"Message by {_words(event.channel)} deferred until {_utc(event.until)} "
        f"({_words(event.rule)})"
    )


@summarize.register
def _(event: CommunicationSuppressed) -> str:
    return f"Message suppressed: {_words(event.reason)}{_step(event.step)}"


@summarize.register
def _(event: CommunicationReleased) -> str:
    return f"Message released to {_words(event.channel)} ({_words(event.kind)})"


@summarize.register
def _(event: CommunicationSent) -> str:
    registered = ", registered" if event.registered else ""
    return (
        f"{event.template} by {_words(event.channel)} sent ({event.language}, {event.tone} "
        f"tone{registered}), cost {event.cost.amount} {event.cost.currency}"
        f"{_others(event.claims)}{_step(event.step)}"
    )


@summarize.register
def _(event: CommunicationDelivered) -> str:
    return f"Message by {_words(event.channel)} delivered"


@summarize.register
def _(event: CommunicationFailed) -> str:
    # Its reason is the channel's own text (a bounce may quote an address): left out.
    return f"Message by {_words(event.channel)} not delivered{_step(event.step)}"


@summarize.register
def _(event: TrackingRecorded) -> str:
    carrier = f" with {event.carrier}" if event.carrier else ""
    return f"Letter tracking {event.tracking_number}{carrier}: {_words(event.status)}"


@summarize.register
def _(event: CallOutcomeRecorded) -> str:
    line = f"Call outcome: {event.outcome}"
    if event.promise is not None:
        line += f", promise to pay {event.promise.amount} by {event.promise.date}"
    if event.dispute is not None:
        amount = "the whole claim" if event.dispute.amount is None else event.dispute.amount
        line += f", dispute ({_words(event.dispute.reason)}) on {amount}"
    return line


_INTERACTIONS = {"reply": "Reply from the debtor", "inbound_call": "Call from the debtor"}


@summarize.register
def _(event: InteractionRecorded) -> str:
    what = _INTERACTIONS.get(event.kind, "Note")
    channel = f" by {_words(event.channel)}" if event.channel else ""
    return f"{what}{channel} recorded"
