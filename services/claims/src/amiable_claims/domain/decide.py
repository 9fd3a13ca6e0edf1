"""The claims deciders: ``decide(claim, command, context) -> events``, pure, one signature for all,
listed in :data:`DECIDERS`. They refuse with application errors that name the field or the
claim's status.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

from amiable_claims.domain import reference
from amiable_claims.domain.commands import (
    AcknowledgeDebt,
    AdjustClaim,
    AgreePaymentPlan,
    AmendClaim,
    CancelClaim,
    RecordPayment,
    RecordPromise,
    RegisterClaim,
    RequalifyClaim,
    WriteOffClaim,
)
from amiable_claims.domain.evolve import claim_registered, with_event
from amiable_claims.domain.figures import amount_due, contract_terms, prescription_date
from amiable_claims.domain.state import Claim, Policy
from amiable_events import errors
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
    PaymentPlanAgreed,
    PaymentReceived,
    PromiseToPayRecorded,
    RejectionReason,
)
from amiable_events.commands import REPEATED, Context, Decider, Repeated
from amiable_events.errors import FieldError
from amiable_events.ids import keyed_id
from amiable_rules import money


class InvalidClaim(errors.Invalid):
    """The command breaks a rule of the claim; each broken rule names its field."""


class InvoiceNumberTaken(errors.Conflict):
    title = "Invoice already registered"

    def __init__(self, invoice_number: str, claim_id: UUID) -> None:
        super().__init__(
            f"invoice {invoice_number} is already registered as claim {claim_id}",
            existing_claim_id=str(claim_id),
        )
        self.invoice_number = invoice_number
        self.claim_id = claim_id


class Conflict(errors.Conflict):
    """The claim's state forbids the command (closed, a plan already running...)."""

    def __init__(self, detail: str, claim: Claim) -> None:
        super().__init__(detail, status_of_claim=claim.status)


class CreditNoteAlreadyApplied(errors.Conflict):
    title = "Credit note already applied"

    def __init__(self, reference: str, amount: Decimal, claim: Claim) -> None:
        super().__init__(
            f"credit note {reference} already credited {amount} on this claim",
            status_of_claim=claim.status,
            credit_note_reference=reference,
        )


def _invalid(field_name: str, reason: str) -> InvalidClaim:
    return InvalidClaim([FieldError(field_name, reason)])


def siren_is_valid(value: str) -> bool:
    """A SIREN is 9 digits whose Luhn checksum is 0."""
    if len(value) != 9 or not value.isdigit():
        return False
    total = 0
    for index, char in enumerate(reversed(value)):
        digit = int(char)
        if index % 2:
            digit *= 2
            digit -= 9 if digit > 9 else 0
        total += digit
    return total % 10 == 0


def _amount_error(field_name: str, amount: Decimal, currency: str) -> FieldError | None:
    """A positive amount in the currency's precision (``amiable_rules.money``)."""
    if currency not in reference.currencies():
        return None  # the currency's own field says so
    reason = money.amount_error(amount, currency)
    return None if reason is None else FieldError(field_name, reason)


def _law_errors(command: RegisterClaim, law: str, policy: Policy) -> list[FieldError]:
    reason = policy.late_fees.law_error(law)
    if reason is not None:
        return [FieldError("governing_law", reason)]
    errors = [
        FieldError(f"late_payment_terms.{name}", why)
        for name, why in policy.late_fees.terms_errors(
            law, contract_terms(command.late_payment_terms)
        )
    ]
    fee = command.late_payment_terms and command.late_payment_terms.fixed_fee
    if fee is not None and not errors:
        error = _amount_error("late_payment_terms.fixed_fee", fee, command.currency)
        errors += [error] if error else []
    if not errors:
        errors += _rate_table_errors(command, law, policy)
    return errors


def _rate_table_errors(command: RegisterClaim, law: str, policy: Policy) -> list[FieldError]:
    """A claim whose late interest would need a reference rate from before its table's first
    row is refused: no figure could ever be computed for it (the API's date window starts after
    every table does; this guards every other way in)."""
    rule = policy.late_fees.resolve(law, contract_terms(command.late_payment_terms))
    interest = rule.interest
    if interest is None or interest.series is None:
        return []
    first_late_day = command.due_on + timedelta(days=1)
    starts = interest.series.rows[0][0]
    if interest.reference_day(first_late_day, first_late_day) >= starts:
        return []
    return [
        FieldError(
            "due_on",
            f"late interest under {rule.entry.code} needs the {interest.series.label} rate, "
            f"known from {starts.isoformat()} only",
        )
    ]


def registration_errors(command: RegisterClaim, policy: Policy) -> list[FieldError]:
    """Rules across fields that the request shape alone cannot check."""
    errors = []
    amount = _amount_error("amount", command.amount, command.currency)
    if amount:
        errors.append(amount)
    law, _ = policy.governing_laws.choose(command.tenant, command.governing_law)
    errors += _law_errors(command, law, policy)
    if command.due_on < command.issued_on:
        errors.append(FieldError("due_on", "must be on or after issued_on"))
    registration_id = command.debtor.registration_id
    french = command.debtor.country == "FR" and registration_id is not None
    if french and not siren_is_valid(registration_id):
        errors.append(
            FieldError("debtor.registration_id", "a French SIREN is 9 digits, Luhn-valid")
        )
    return errors


def decide_registration(state: None, command: RegisterClaim, context: Context) -> list:
    """Register a claim unless the tenant already has its invoice number, then qualify it.

    ``command.taken_by`` is the tenant's claim with the same invoice number, if any;
    ``command.duplicate_of`` another open claim of the same debtor that looks like the same
    invoice (same amount, currency and dates). With an idempotency key the claim id derives from
    it, so a retried request names the same claim.
    """
    now, policy = context.now, context.policy
    errors = registration_errors(command, policy)
    if errors:
        raise InvalidClaim(errors)
    if command.taken_by is not None:
        raise InvoiceNumberTaken(command.invoice_number, command.taken_by)
    claim_id = command.claim_id or (
        keyed_id(command.tenant, "claim", command.idempotency_key)
        if command.idempotency_key
        else context.new_id()
    )
    law, law_source = policy.governing_laws.choose(command.tenant, command.governing_law)
    registered = ClaimRegistered(
        claim_id=claim_id,
        invoice_number=command.invoice_number,
        amount=command.amount,
        currency=command.currency,
        issued_on=command.issued_on,
        due_on=command.due_on,
        contract_reference=command.contract_reference,
        purchase_order=command.purchase_order,
        description=command.description,
        debtor=command.debtor,
        registered_at=now,
        idempotency_key=command.idempotency_key,
        governing_law=law,
        governing_law_source=law_source,
        late_payment_terms=command.late_payment_terms,
    )
    claim = claim_registered(registered, None, command.tenant, command.debtor.id)
    return [
        registered,
        *decide_qualification(claim, RequalifyClaim(command.duplicate_of), context),
    ]


def decide_qualification(claim: Claim, command: RequalifyClaim, context: Context) -> list:
    """Qualify: valid, complete and not time-barred; otherwise reject with every reason."""
    now, duplicate_of = context.now, command.duplicate_of
    _amicable(claim)
    reasons: list[RejectionReason] = []
    if claim.reachable_contacts == 0:
        reasons.append("missing_debtor_contact")
    if claim.amount <= 0 or claim.due_on < claim.issued_on or claim.issued_on > now.date():
        reasons.append("amount_or_dates_inconsistent")
    prescription = prescription_date(claim, context.policy)
    if now.date() > prescription:
        reasons.append("time_barred")
    if duplicate_of is not None:
        reasons.append("duplicate")
    if reasons:
        return [
            ClaimRejected(
                claim_id=claim.claim_id,
                rejected_at=now,
                reasons=tuple(reasons),
                duplicate_of=duplicate_of,
            )
        ]
    return [
        ClaimQualified(claim_id=claim.claim_id, qualified_at=now, prescription_date=prescription)
    ]


def _open(claim: Claim) -> None:
    if claim.closed:
        raise Conflict(f"claim is {claim.status.replace('_', ' ')}", claim)


def _amicable(claim: Claim) -> None:
    """Negotiating (a promise, a payment plan) and requalifying belong to amicable recovery,
    which the handoff to litigation ended; money received, credit notes, acknowledgements,
    amendments, a write-off and a cancellation still apply to an escalated claim."""
    _open(claim)
    if claim.status == "escalated":
        raise Conflict("claim is escalated: amicable recovery is over", claim)


def payment_id(tenant: str, claim_id: UUID, command: RecordPayment) -> UUID:
    """A payment's identity: the client's Idempotency-Key when it sent one (two keys, two
    payments), otherwise what the payment says, so that a retried request names the payment it
    already recorded. Two identical payments without reference on one day need two keys."""
    if command.idempotency_key is not None:
        return keyed_id(tenant, "payment", str(claim_id), command.idempotency_key)
    return keyed_id(
        tenant,
        "payment",
        str(claim_id),
        "content",
        format(command.amount.normalize(), "f"),
        command.currency or "",
        command.received_on.isoformat(),
        command.method,
        command.reference or "",
    )


def decide_payment(claim: Claim, command: RecordPayment, context: Context) -> list | Repeated:
    """Record money received. Accepted on a closed claim too: it is then an overpayment. A
    payment already recorded (:func:`payment_id`) is a retry: nothing is recorded twice."""
    now = context.now
    recorded_as = payment_id(context.tenant, claim.claim_id, command)
    if any(p.payment_id == recorded_as for p in claim.payments):
        return REPEATED
    currency = command.currency or claim.currency
    if currency != claim.currency:
        raise _invalid("currency", f"the claim is in {claim.currency}")
    amount = _amount_error("amount", command.amount, currency)
    if amount:
        raise InvalidClaim([amount])
    if command.received_on > now.date():
        raise _invalid("received_on", "cannot be in the future")
    payment = PaymentReceived(
        claim_id=claim.claim_id,
        payment_id=recorded_as,
        amount=command.amount,
        currency=currency,
        received_on=command.received_on,
        reference=command.reference,
        method=command.method,
        recorded_at=now,
    )
    return [payment, *_settlement(with_event(claim, payment), now, context.policy)]


def _settlement(claim: Claim, now: datetime, policy: Policy) -> list:
    if claim.closed:
        return []
    due = amount_due(claim, now.date(), policy)
    if due.total > 0:
        return []
    last = max([p.received_on for p in claim.payments] + [c.on for c in claim.credits])
    return [ClaimSettled(claim_id=claim.claim_id, settled_on=last, overpaid=due.overpaid)]


def decide_payment_plan(
    claim: Claim, command: AgreePaymentPlan, context: Context
) -> list[PaymentPlanAgreed] | Repeated:
    """An échéancier whose instalments add up to the balance due today. The same plan again,
    while it runs, is a retry."""
    now, policy = context.now, context.policy
    grace = policy.installment_grace_days if command.grace_days is None else command.grace_days
    running = claim.plan if claim.plan_running else None
    if running and (running.installments, running.grace_days) == (command.installments, grace):
        return REPEATED
    _amicable(claim)
    if running:
        raise Conflict("a payment plan is already running", claim)
    if not command.installments:
        raise _invalid("installments", "at least one instalment")
    errors = []
    today = now.date()
    previous = None
    for index, installment in enumerate(command.installments):
        amount = _amount_error(f"installments.{index}.amount", installment.amount, claim.currency)
        if amount:
            errors.append(amount)
        if installment.due_on < today:
            errors.append(FieldError(f"installments.{index}.due_on", "cannot be in the past"))
        if previous and installment.due_on <= previous:
            errors.append(
                FieldError(f"installments.{index}.due_on", "must come after the previous one")
            )
        previous = installment.due_on
    balance = amount_due(claim, today, policy).total
    total = sum((i.amount for i in command.installments), Decimal(0))
    if total != balance:
        errors.append(
            FieldError("installments", f"amounts add up to {total}, the balance due is {balance}")
        )
    if errors:
        raise InvalidClaim(errors)
    return [
        PaymentPlanAgreed(
            claim_id=claim.claim_id,
            plan_id=context.new_id(),
            agreed_on=today,
            installments=command.installments,
            grace_days=grace,
            agreed_at=now,
        )
    ]


def check_promise(
    claim: Claim, amount: Decimal, promised_on: date, today: date, policy: Policy
) -> None:
    """The rules of a promise to pay, however it is recorded (``today`` the day it is made):
    amicable recovery still on, an amount in the claim's currency and at most what is due
    that day, a date not in the past. Raises what a request is refused with."""
    _amicable(claim)
    error = _amount_error("amount", amount, claim.currency)
    if error:
        raise InvalidClaim([error])
    due = amount_due(claim, today, policy).total
    if amount > due:
        raise _invalid("amount", f"exceeds the amount due, {due} {claim.currency}")
    if promised_on < today:
        raise _invalid("promised_on", "cannot be in the past")


def decide_promise(
    claim: Claim, command: RecordPromise, context: Context
) -> list[PromiseToPayRecorded] | Repeated:
    """A promise is identified by its amount and date: the same promise again, while it is
    open, is a retry."""
    now, policy = context.now, context.policy
    promise_id = keyed_id(
        context.tenant,
        "promise",
        str(claim.claim_id),
        format(command.amount.normalize(), "f"),
        command.promised_on.isoformat(),
    )
    if any(p.promise_id == promise_id and p.state == "open" for p in claim.promises):
        return REPEATED
    check_promise(claim, command.amount, command.promised_on, now.date(), policy)
    grace = policy.promise_grace_days if command.grace_days is None else command.grace_days
    return [
        PromiseToPayRecorded(
            claim_id=claim.claim_id,
            promise_id=promise_id,
            amount=command.amount,
            promised_on=command.promised_on,
            source_channel=command.source,
            grace_days=grace,
            recorded_at=now,
        )
    ]


def decide_write_off(
    claim: Claim, command: WriteOffClaim, context: Context
) -> list[ClaimWrittenOff] | Repeated:
    """A claim already written off answers a write-off as a retry."""
    if claim.status == "written_off":
        return REPEATED
    _open(claim)
    return [
        ClaimWrittenOff(claim_id=claim.claim_id, reason=command.reason, written_off_at=context.now)
    ]


def decide_cancel(
    claim: Claim, command: CancelClaim, context: Context
) -> list[ClaimCancelled] | Repeated:
    """A claim already cancelled answers a cancellation as a retry."""
    if claim.status == "cancelled":
        return REPEATED
    _open(claim)
    return [
        ClaimCancelled(
            claim_id=claim.claim_id,
            reason=command.reason,
            credit_note_reference=command.credit_note_reference,
            cancelled_at=context.now,
        )
    ]


def decide_adjustment(claim: Claim, command: AdjustClaim, context: Context) -> list:
    """A partial credit note: it reduces the principal; one that clears the claim settles it.

    One credit per credit-note reference per claim: the same reference and amount again is a
    retry of the request and records nothing; the reference with another amount is a 409."""
    now, amount = context.now, command.amount
    credited = next(
        (c for c in claim.credits if c.credit_note_reference == command.credit_note_reference),
        None,
    )
    if credited is not None:
        if credited.amount == amount:
            return REPEATED
        raise CreditNoteAlreadyApplied(command.credit_note_reference, credited.amount, claim)
    _open(claim)
    principal_left = claim.principal
    error = _amount_error("amount", amount, claim.currency)
    if error:
        raise InvalidClaim([error])
    if amount >= principal_left:
        raise _invalid(
            "amount",
            f"a credit note of the whole remaining principal ({principal_left}) cancels the "
            "claim: use /cancel",
        )
    adjusted = ClaimAdjusted(
        claim_id=claim.claim_id,
        amount=amount,
        credit_note_reference=command.credit_note_reference,
        reason=command.reason,
        adjusted_on=now.date(),
        adjusted_at=now,
    )
    return [adjusted, *_settlement(with_event(claim, adjusted), now, context.policy)]


def decide_acknowledgement(
    claim: Claim, command: AcknowledgeDebt, context: Context
) -> list[DebtAcknowledged] | Repeated:
    """One acknowledgement per day counts for the limitation period: another is a retry."""
    if command.acknowledged_on in claim.acknowledgements:
        return REPEATED
    _open(claim)
    if command.acknowledged_on > context.now.date():
        raise _invalid("acknowledged_on", "cannot be in the future")
    return [
        DebtAcknowledged(
            claim_id=claim.claim_id,
            acknowledged_on=command.acknowledged_on,
            reference=command.reference,
            recorded_at=context.now,
        )
    ]


def decide_amendment(claim: Claim, command: AmendClaim, context: Context) -> list[ClaimAmended]:
    _open(claim)
    changes = {k: v for k, v in vars(command).items() if v is not None}
    if not changes:
        raise _invalid("body", "nothing to amend")
    return [ClaimAmended(claim_id=claim.claim_id, amended_at=context.now, **changes)]


#: Every command on an existing claim, and its decider.
DECIDERS: dict[type, Decider] = {
    AmendClaim: decide_amendment,
    RequalifyClaim: decide_qualification,
    RecordPayment: decide_payment,
    AgreePaymentPlan: decide_payment_plan,
    RecordPromise: decide_promise,
    WriteOffClaim: decide_write_off,
    CancelClaim: decide_cancel,
    AdjustClaim: decide_adjustment,
    AcknowledgeDebt: decide_acknowledgement,
}
