"""The claims decider: the pure rules of a claim's life. No I/O here, ever.

``decide_*`` turn a command and the claim's state into events; ``evolve`` folds events into a
claim. ``evolve`` is total: any order of events yields a valid claim (a payment after closure is
an overpayment, not an exception), because Kafka cannot stop two writers from appending.
Amounts owed are never stored: they are derived from the claim's events by
:func:`amount_due`, so a back-dated payment changes every later figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from functools import singledispatch
from typing import Literal, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from amiable_claims import reference
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
    Contact,
    DebtAcknowledged,
    Debtor,
    Installment,
    InstallmentMissed,
    LatePaymentTerms,
    LimitationApproaching,
    PaymentPlanAgreed,
    PaymentPlanDefaulted,
    PaymentReceived,
    PromiseBroken,
    PromiseToPayRecorded,
    RejectionReason,
)
from amiable_events.envelope import Envelope
from amiable_events.errors import FieldError
from amiable_events.ids import NewId, keyed_id
from amiable_rules import limitation, money
from amiable_rules.governing_law import GoverningLaws, GoverningLawSource
from amiable_rules.late_fees import (
    Allocation,
    AmountDue,
    LateFeeRules,
    LateRule,
    Movement,
    Suspension,
    Terms,
    open_principal,
)
from amiable_rules.late_fees import amount_due as statutory_amount_due
from amiable_rules.limitation import LimitationRule, LimitationRules

ClosedStatus = Literal["settled", "written_off", "cancelled"]
ClaimStatus = Literal["registered", "qualified", "rejected", ClosedStatus]
CLOSED: frozenset[str] = frozenset(get_args(ClosedStatus))


# ---------------------------------------------------------------- errors a command can meet


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


def _invalid(field_name: str, reason: str) -> InvalidClaim:
    return InvalidClaim([FieldError(field_name, reason)])


# ---------------------------------------------------------------- policy: rules as data


@dataclass(frozen=True)
class Policy:
    late_fees: LateFeeRules
    limitation: LimitationRules
    governing_laws: GoverningLaws
    allocation: Allocation = "fees_interest_first"
    suspend_interest_on_respected_plan: bool = True
    installment_grace_days: int = 5
    promise_grace_days: int = 3


# ---------------------------------------------------------------- state


class _State(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PaymentFact(_State):
    payment_id: UUID
    amount: Decimal
    received_on: date


class CreditFact(_State):
    on: date
    amount: Decimal
    credit_note_reference: str


class PlanState(_State):
    plan_id: UUID
    agreed_on: date
    installments: tuple[Installment, ...]
    grace_days: int
    missed: tuple[int, ...] = ()
    defaulted_on: date | None = None


class PromiseState(_State):
    promise_id: UUID
    amount: Decimal
    promised_on: date
    grace_days: int
    recorded_on: date
    state: Literal["open", "kept", "broken"] = "open"


class Claim(_State):
    claim_id: UUID
    tenant: str
    debtor_id: str
    invoice_number: str
    amount: Decimal
    currency: str
    issued_on: date
    due_on: date
    country: str  # the debtor's: it chooses no rule (the governing law does)
    reachable_contacts: int
    status: ClaimStatus
    registered_at: datetime
    rejection_reasons: tuple[str, ...] = ()
    duplicate_of: UUID | None = None
    closed_on: date | None = None
    close_reason: str | None = None
    payments: tuple[PaymentFact, ...] = ()
    credits: tuple[CreditFact, ...] = ()
    plan: PlanState | None = None
    promises: tuple[PromiseState, ...] = ()
    acknowledgements: tuple[date, ...] = ()
    limitation_warned_for: date | None = None
    governing_law: str | None = None  # None: registered before the law was recorded
    governing_law_source: GoverningLawSource | None = None
    late_payment_terms: LatePaymentTerms | None = None

    @property
    def closed(self) -> bool:
        return self.status in CLOSED

    @property
    def paid(self) -> Decimal:
        return sum((p.amount for p in self.payments), Decimal(0))

    @property
    def principal(self) -> Decimal:
        """The invoiced amount less the credit notes."""
        return self.amount - sum((c.amount for c in self.credits), Decimal(0))

    @property
    def unpaid_principal(self) -> Decimal:
        """What is owed on the invoice itself, before late charges, whatever the allocation
        (``amiable_rules.late_fees.open_principal``); with them it is :func:`amount_due`."""
        return open_principal(
            principal=self.amount, currency=self.currency, movements=movements(self)
        )

    @property
    def plan_running(self) -> bool:
        return self.plan is not None and self.plan.defaulted_on is None and not self.closed


# ---------------------------------------------------------------- derived figures


def movements(claim: Claim) -> list[Movement]:
    return [Movement(p.received_on, "payment", p.amount) for p in claim.payments] + [
        Movement(c.on, "credit", c.amount) for c in claim.credits
    ]


def suspensions(claim: Claim, policy: Policy) -> list[Suspension]:
    """Interest does not run while a payment plan is respected (a setting)."""
    if not policy.suspend_interest_on_respected_plan or claim.plan is None:
        return []
    end = claim.plan.defaulted_on - timedelta(days=1) if claim.plan.defaulted_on else None
    return [Suspension(claim.plan.agreed_on, end)]


def governing_law(claim: Claim, policy: Policy) -> tuple[str, GoverningLawSource]:
    """The law recorded when the claim was registered, and where it came from; for a claim
    registered before laws were recorded, what its tenant's settings give now."""
    if claim.governing_law is not None:
        return claim.governing_law, claim.governing_law_source or "claim"
    return policy.governing_laws.choose(claim.tenant, None)


def contract_terms(terms: LatePaymentTerms | None) -> Terms | None:
    """The event's late-payment terms as the rules read them."""
    return Terms.from_mapping(None if terms is None else terms.model_dump())


def late_rule(claim: Claim, policy: Policy) -> LateRule:
    """The late-payment rule of the claim: its governing law's, with its contract's terms."""
    law, _ = governing_law(claim, policy)
    return policy.late_fees.resolve(law, contract_terms(claim.late_payment_terms))


def amount_due(claim: Claim, as_of: date, policy: Policy) -> AmountDue:
    return statutory_amount_due(
        principal=claim.amount,
        currency=claim.currency,
        due_on=claim.due_on,
        movements=movements(claim),
        as_of=as_of,
        rule=late_rule(claim, policy),
        allocation=policy.allocation,
        suspensions=suspensions(claim, policy),
    )


def limitation_rule(claim: Claim, policy: Policy) -> LimitationRule:
    return policy.limitation.for_law(governing_law(claim, policy)[0])


def prescription_date(claim: Claim, policy: Policy) -> date:
    """Due date (or the last interrupting event) plus the limitation period."""
    return limitation.prescription_date(
        limitation_rule(claim, policy),
        due_on=claim.due_on,
        acknowledgements=claim.acknowledgements,
        payments=[p.received_on for p in claim.payments],
        payment_plans=[claim.plan.agreed_on] if claim.plan is not None else [],
    )


def limitation_warning_on(claim: Claim, policy: Policy) -> date:
    rule = limitation_rule(claim, policy)
    return limitation.warning_date(rule, prescription_date(claim, policy))


def installments_paid(claim: Claim) -> list[bool]:
    """Each instalment is paid once the payments received since the plan's agreement cover it
    and every earlier one (payments fill instalments in order)."""
    if claim.plan is None:
        return []
    received = sum(
        (p.amount for p in claim.payments if p.received_on >= claim.plan.agreed_on), Decimal(0)
    )
    paid, cumulative = [], Decimal(0)
    for installment in claim.plan.installments:
        cumulative += installment.amount
        paid.append(received >= cumulative)
    return paid


def promise_kept(claim: Claim, promise: PromiseState) -> bool:
    received = sum(
        (
            p.amount
            for p in claim.payments
            if promise.recorded_on
            <= p.received_on
            <= promise.promised_on + timedelta(days=promise.grace_days)
        ),
        Decimal(0),
    )
    return received >= promise.amount


# ---------------------------------------------------------------- commands


@dataclass(frozen=True)
class RegisterClaim:
    tenant: str
    invoice_number: str
    amount: Decimal
    currency: str
    issued_on: date
    due_on: date
    debtor: Debtor
    contract_reference: str | None = None
    purchase_order: str | None = None
    description: str | None = None
    idempotency_key: str | None = None
    governing_law: str | None = None  # None: the tenant's default
    late_payment_terms: LatePaymentTerms | None = None


@dataclass(frozen=True)
class RecordPayment:
    amount: Decimal
    currency: str | None  # None: the claim's currency
    received_on: date
    reference: str | None = None
    method: str = "transfer"
    payment_id: UUID | None = None


@dataclass(frozen=True)
class AgreePaymentPlan:
    installments: tuple[Installment, ...]
    grace_days: int | None = None


@dataclass(frozen=True)
class RecordPromise:
    amount: Decimal
    promised_on: date
    source: Literal["call", "email", "portal"]
    grace_days: int | None = None


@dataclass(frozen=True)
class AmendClaim:
    contract_reference: str | None = None
    purchase_order: str | None = None
    description: str | None = None
    contacts: tuple[Contact, ...] | None = None
    postal_address: str | None = None


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
    return errors


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


def _reachable(contacts: Sequence[Contact], postal_address: str | None) -> int:
    return sum(1 for c in contacts if c.email or c.phone) + (1 if postal_address else 0)


def decide_registration(
    command: RegisterClaim,
    taken_by: UUID | None,
    *,
    now: datetime,
    new_id: NewId,
    policy: Policy,
    duplicate_of: UUID | None = None,
) -> list:
    """Register a claim unless the tenant already has its invoice number, then qualify it.

    ``taken_by`` is the tenant's claim with the same invoice number, if any; ``duplicate_of``
    another open claim of the same debtor that looks like the same invoice (same amount,
    currency and dates). With an idempotency key the claim id derives from it, so a retried
    request names the same claim.
    """
    errors = registration_errors(command, policy)
    if errors:
        raise InvalidClaim(errors)
    if taken_by is not None:
        raise InvoiceNumberTaken(command.invoice_number, taken_by)
    claim_id = (
        keyed_id(command.tenant, "claim", command.idempotency_key)
        if command.idempotency_key
        else new_id()
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
    claim = _registered(registered, None, command.tenant, command.debtor.id)
    return [
        registered,
        *decide_qualification(claim, now=now, policy=policy, duplicate_of=duplicate_of),
    ]


def decide_qualification(
    claim: Claim, *, now: datetime, policy: Policy, duplicate_of: UUID | None = None
) -> list:
    """Qualify: valid, complete and not time-barred; otherwise reject with every reason."""
    if claim.closed:
        raise Conflict(f"claim is {claim.status}", claim)
    reasons: list[RejectionReason] = []
    if claim.reachable_contacts == 0:
        reasons.append("missing_debtor_contact")
    if claim.amount <= 0 or claim.due_on < claim.issued_on or claim.issued_on > now.date():
        reasons.append("amount_or_dates_inconsistent")
    prescription = prescription_date(claim, policy)
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


def decide_payment(
    claim: Claim, command: RecordPayment, *, now: datetime, new_id: NewId, policy: Policy
) -> list:
    """Record money received. Accepted on a closed claim too: it is then an overpayment. A
    payment whose id is already recorded (a retried request) records nothing."""
    if command.payment_id and any(p.payment_id == command.payment_id for p in claim.payments):
        return []
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
        payment_id=command.payment_id or new_id(),
        amount=command.amount,
        currency=currency,
        received_on=command.received_on,
        reference=command.reference,
        method=command.method,
        recorded_at=now,
    )
    return [payment, *_settlement(_fold_one(claim, payment), now, policy)]


def _settlement(claim: Claim, now: datetime, policy: Policy) -> list:
    if claim.closed:
        return []
    due = amount_due(claim, now.date(), policy)
    if due.total > 0:
        return []
    last = max([p.received_on for p in claim.payments] + [c.on for c in claim.credits])
    return [ClaimSettled(claim_id=claim.claim_id, settled_on=last, overpaid=due.overpaid)]


def decide_payment_plan(
    claim: Claim, command: AgreePaymentPlan, *, now: datetime, new_id: NewId, policy: Policy
) -> list[PaymentPlanAgreed]:
    """An échéancier whose instalments add up to the balance due today."""
    _open(claim)
    if claim.plan_running:
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
    grace = policy.installment_grace_days if command.grace_days is None else command.grace_days
    return [
        PaymentPlanAgreed(
            claim_id=claim.claim_id,
            plan_id=new_id(),
            agreed_on=today,
            installments=command.installments,
            grace_days=grace,
            agreed_at=now,
        )
    ]


def decide_promise(
    claim: Claim, command: RecordPromise, *, now: datetime, new_id: NewId, policy: Policy
) -> list[PromiseToPayRecorded]:
    _open(claim)
    amount = _amount_error("amount", command.amount, claim.currency)
    if amount:
        raise InvalidClaim([amount])
    if command.promised_on < now.date():
        raise _invalid("promised_on", "cannot be in the past")
    grace = policy.promise_grace_days if command.grace_days is None else command.grace_days
    return [
        PromiseToPayRecorded(
            claim_id=claim.claim_id,
            promise_id=new_id(),
            amount=command.amount,
            promised_on=command.promised_on,
            source_channel=command.source,
            grace_days=grace,
            recorded_at=now,
        )
    ]


def decide_write_off(claim: Claim, reason: str, *, now: datetime) -> list[ClaimWrittenOff]:
    _open(claim)
    return [ClaimWrittenOff(claim_id=claim.claim_id, reason=reason, written_off_at=now)]


def decide_cancel(
    claim: Claim, reason: str, credit_note_reference: str | None, *, now: datetime
) -> list[ClaimCancelled]:
    _open(claim)
    return [
        ClaimCancelled(
            claim_id=claim.claim_id,
            reason=reason,
            credit_note_reference=credit_note_reference,
            cancelled_at=now,
        )
    ]


def decide_adjustment(
    claim: Claim,
    amount: Decimal,
    credit_note_reference: str,
    reason: str | None,
    *,
    now: datetime,
    policy: Policy,
) -> list:
    """A partial credit note: it reduces the principal; one that clears the claim settles it."""
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
        credit_note_reference=credit_note_reference,
        reason=reason,
        adjusted_on=now.date(),
        adjusted_at=now,
    )
    return [adjusted, *_settlement(_fold_one(claim, adjusted), now, policy)]


def decide_acknowledgement(
    claim: Claim, acknowledged_on: date, reference_text: str | None, *, now: datetime
) -> list[DebtAcknowledged]:
    _open(claim)
    if acknowledged_on > now.date():
        raise _invalid("acknowledged_on", "cannot be in the future")
    return [
        DebtAcknowledged(
            claim_id=claim.claim_id,
            acknowledged_on=acknowledged_on,
            reference=reference_text,
            recorded_at=now,
        )
    ]


def decide_amendment(claim: Claim, command: AmendClaim, *, now: datetime) -> list[ClaimAmended]:
    _open(claim)
    changes = {k: v for k, v in vars(command).items() if v is not None}
    if not changes:
        raise _invalid("body", "nothing to amend")
    return [ClaimAmended(claim_id=claim.claim_id, amended_at=now, **changes)]


# ---------------------------------------------------------------- timers (pure)


@dataclass(frozen=True)
class TimerSpec:
    timer_id: str
    kind: Literal["installment", "promise", "limitation"]
    due_at: datetime
    payload: dict


def _start_of(day: date) -> datetime:
    """Timers fall due at 00:00 UTC of the day after a grace period ends."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def desired_timers(claim: Claim, policy: Policy) -> list[TimerSpec]:
    """The timers a claim in this state must have pending; the projection keeps exactly these."""
    if claim.closed:
        return []
    specs = []
    plan = claim.plan
    if claim.plan_running:
        paid = installments_paid(claim)
        for index, installment in enumerate(plan.installments):
            if paid[index] or index in plan.missed:
                continue
            # Misses that will have happened before this one falls due: the instalments
            # already missed, and the earlier ones still unpaid (their timers fire first,
            # possibly in the same pass). The first miss is InstallmentMissed, the second
            # defaults the plan, later ones have nothing left to do.
            earlier_unpaid = sum(1 for j in range(index) if not paid[j] and j not in plan.missed)
            specs.append(
                TimerSpec(
                    f"installment:{plan.plan_id}:{index}",
                    "installment",
                    _start_of(installment.due_on + timedelta(days=plan.grace_days + 1)),
                    {
                        "claim_id": str(claim.claim_id),
                        "plan_id": str(plan.plan_id),
                        "installment": index,
                        "due_on": installment.due_on.isoformat(),
                        "misses_before": len(plan.missed) + earlier_unpaid,
                    },
                )
            )
    for promise in claim.promises:
        if promise.state != "open" or promise_kept(claim, promise):
            continue
        specs.append(
            TimerSpec(
                f"promise:{promise.promise_id}",
                "promise",
                _start_of(promise.promised_on + timedelta(days=promise.grace_days + 1)),
                {
                    "claim_id": str(claim.claim_id),
                    "promise_id": str(promise.promise_id),
                    "promised_on": promise.promised_on.isoformat(),
                    "amount": str(promise.amount),
                },
            )
        )
    if claim.status != "rejected":
        prescription = prescription_date(claim, policy)
        if claim.limitation_warned_for != prescription:
            specs.append(
                TimerSpec(
                    f"limitation:{claim.claim_id}:{prescription.isoformat()}",
                    "limitation",
                    _start_of(limitation_warning_on(claim, policy)),
                    {
                        "claim_id": str(claim.claim_id),
                        "prescription_date": prescription.isoformat(),
                    },
                )
            )
    return specs


def timer_event(kind: str, payload: dict, due_at: datetime):
    """The event a due timer emits, or None when there is nothing left to do. The projection
    cancels a timer as soon as it no longer applies (instalment paid, promise kept, claim
    closed), so a timer still pending is due."""
    claim_id = UUID(payload["claim_id"])
    if kind == "installment":
        if payload["misses_before"] >= 2:
            return None  # the plan defaulted at an earlier instalment
        event_type = PaymentPlanDefaulted if payload["misses_before"] else InstallmentMissed
        return event_type(
            claim_id=claim_id,
            plan_id=UUID(payload["plan_id"]),
            installment=payload["installment"],
            due_on=date.fromisoformat(payload["due_on"]),
        )
    if kind == "promise":
        return PromiseBroken(
            claim_id=claim_id,
            promise_id=UUID(payload["promise_id"]),
            promised_on=date.fromisoformat(payload["promised_on"]),
            amount=Decimal(payload["amount"]),
        )
    if kind == "limitation":
        prescription = date.fromisoformat(payload["prescription_date"])
        return LimitationApproaching(
            claim_id=claim_id,
            prescription_date=prescription,
            days_left=(prescription - due_at.date()).days,
        )
    raise ValueError(f"unknown timer kind {kind}")


#: Events that only a timer emits: applying one marks its timer fired.
TIMER_EVENTS = (InstallmentMissed, PaymentPlanDefaulted, PromiseBroken, LimitationApproaching)


# ---------------------------------------------------------------- evolve


def evolve(state: Claim | None, envelope: Envelope) -> Claim | None:
    return _evolve(envelope.data, state, envelope)


def fold(envelopes: Sequence[Envelope]) -> Claim | None:
    state = None
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state


def _fold_one(claim: Claim, event) -> Claim:
    """Fold a just-decided event (no envelope yet) to see its consequences."""
    return _evolve(event, claim, None)


@singledispatch
def _evolve(event: object, state: Claim | None, envelope: Envelope | None) -> Claim | None:
    """Events this context does not fold (other services') leave the claim as it is."""
    return state


def _registered(event: ClaimRegistered, state: Claim | None, tenant: str, debtor_id: str):
    if state is not None:
        return state  # a second registration of the same claim id changes nothing
    return Claim(
        claim_id=event.claim_id,
        tenant=tenant,
        debtor_id=debtor_id,
        invoice_number=event.invoice_number,
        amount=event.amount,
        currency=event.currency,
        issued_on=event.issued_on,
        due_on=event.due_on,
        country=event.debtor.country,
        reachable_contacts=_reachable(event.debtor.contacts, event.debtor.postal_address),
        status="registered",
        registered_at=event.registered_at,
        governing_law=event.governing_law,
        governing_law_source=event.governing_law_source,
        late_payment_terms=event.late_payment_terms,
    )


@_evolve.register
def _(event: ClaimRegistered, state, envelope):
    return _registered(event, state, envelope.tenant, envelope.debtor_id)


@_evolve.register
def _(event: ClaimQualified, state, envelope):
    if state is None or state.closed:
        return state
    return state.model_copy(
        update={"status": "qualified", "rejection_reasons": (), "duplicate_of": None}
    )


@_evolve.register
def _(event: ClaimRejected, state, envelope):
    if state is None or state.closed:
        return state
    return state.model_copy(
        update={
            "status": "rejected",
            "rejection_reasons": tuple(event.reasons),
            "duplicate_of": event.duplicate_of,
        }
    )


@_evolve.register
def _(event: ClaimAmended, state, envelope):
    if state is None or (event.contacts is None and event.postal_address is None):
        return state
    contacts = event.contacts if event.contacts is not None else ()
    # an amendment names the contacts and address as they are now
    reachable = (
        _reachable(contacts, event.postal_address)
        if event.contacts is not None
        else (state.reachable_contacts + (1 if event.postal_address else 0))
    )
    return state.model_copy(update={"reachable_contacts": reachable})


@_evolve.register
def _(event: PaymentReceived, state, envelope):
    if state is None:
        return state
    payment = PaymentFact(
        payment_id=event.payment_id, amount=event.amount, received_on=event.received_on
    )
    if any(p.payment_id == event.payment_id for p in state.payments):
        return state
    claim = state.model_copy(update={"payments": (*state.payments, payment)})
    promises = tuple(
        p.model_copy(update={"state": "kept"})
        if p.state == "open" and promise_kept(claim, p)
        else p
        for p in claim.promises
    )
    return claim.model_copy(update={"promises": promises})


@_evolve.register
def _(event: ClaimSettled, state, envelope):
    if state is None or state.closed:
        return state
    return state.model_copy(
        update={"status": "settled", "closed_on": event.settled_on, "close_reason": "paid"}
    )


@_evolve.register
def _(event: PaymentPlanAgreed, state, envelope):
    if state is None:
        return state
    plan = PlanState(
        plan_id=event.plan_id,
        agreed_on=event.agreed_on,
        installments=event.installments,
        grace_days=event.grace_days,
    )
    return state.model_copy(update={"plan": plan})


def _missed(state: Claim | None, plan_id: UUID, index: int, defaulted_on: date | None):
    if state is None or state.plan is None or state.plan.plan_id != plan_id:
        return state
    missed = tuple(sorted({*state.plan.missed, index}))
    update = {"missed": missed}
    if defaulted_on is not None and state.plan.defaulted_on is None:
        update["defaulted_on"] = defaulted_on
    return state.model_copy(update={"plan": state.plan.model_copy(update=update)})


@_evolve.register
def _(event: InstallmentMissed, state, envelope):
    return _missed(state, event.plan_id, event.installment, None)


@_evolve.register
def _(event: PaymentPlanDefaulted, state, envelope):
    if state is None or state.plan is None:
        return state
    grace = timedelta(days=state.plan.grace_days + 1)
    return _missed(state, event.plan_id, event.installment, event.due_on + grace)


@_evolve.register
def _(event: PromiseToPayRecorded, state, envelope):
    if state is None or any(p.promise_id == event.promise_id for p in state.promises):
        return state
    promise = PromiseState(
        promise_id=event.promise_id,
        amount=event.amount,
        promised_on=event.promised_on,
        grace_days=event.grace_days,
        recorded_on=event.recorded_at.date(),
    )
    return state.model_copy(update={"promises": (*state.promises, promise)})


@_evolve.register
def _(event: PromiseBroken, state, envelope):
    if state is None:
        return state
    promises = tuple(
        p.model_copy(update={"state": "broken"}) if p.promise_id == event.promise_id else p
        for p in state.promises
    )
    return state.model_copy(update={"promises": promises})


@_evolve.register
def _(event: ClaimWrittenOff, state, envelope):
    if state is None or state.closed:
        return state
    return state.model_copy(
        update={
            "status": "written_off",
            "closed_on": event.written_off_at.date(),
            "close_reason": event.reason,
        }
    )


@_evolve.register
def _(event: ClaimCancelled, state, envelope):
    if state is None or state.closed:
        return state
    return state.model_copy(
        update={
            "status": "cancelled",
            "closed_on": event.cancelled_at.date(),
            "close_reason": event.reason,
        }
    )


@_evolve.register
def _(event: ClaimAdjusted, state, envelope):
    if state is None:
        return state
    credit = CreditFact(
        on=event.adjusted_on, amount=event.amount, credit_note_reference=event.credit_note_reference
    )
    return state.model_copy(update={"credits": (*state.credits, credit)})


@_evolve.register
def _(event: DebtAcknowledged, state, envelope):
    if state is None or event.acknowledged_on in state.acknowledgements:
        return state
    return state.model_copy(
        update={"acknowledgements": (*state.acknowledgements, event.acknowledged_on)}
    )


@_evolve.register
def _(event: LimitationApproaching, state, envelope):
    if state is None:
        return state
    return state.model_copy(update={"limitation_warned_for": event.prescription_date})
