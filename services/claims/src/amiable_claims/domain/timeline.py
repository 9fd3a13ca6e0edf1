"""One line of plain English per event, for the claim timeline (the audit trail).

Events of other services get a generic line until a summary is written for them here, so the
timeline never misses an event.
"""

from __future__ import annotations

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
