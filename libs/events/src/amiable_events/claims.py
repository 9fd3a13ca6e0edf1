"""Events of the claims (intake) bounded context."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema

from amiable_events.base import Amount, CountryCode, CurrencyCode, Event, Sealed

SEALED_TEXT = (
    "Free text that may name a person: sealed (pii:v1:) like personal data in events recorded "
    "since issue 7, in clear in older ones"
)


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Sealed | None = None
    email: Sealed | None = None
    phone: Sealed | None = None
    role: str | None = Field(
        None,
        max_length=100,
        description="e.g. accounts payable, CFO; in clear only on contacts recorded before "
        "role_sealed existed",
    )
    role_sealed: Sealed | None = Field(
        None,
        description="The role, sealed: free text that may name a person (e.g. 'assistant to "
        "M. Durand'). New events carry it instead of role.",
    )


class Debtor(BaseModel):
    """The debtor company as the creditor described it when registering the claim."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(description="The creditor's own id for this customer")
    legal_name: str
    registration_id: str | None = None
    country: CountryCode
    language: str = Field(description="BCP 47 tag")
    timezone: str = Field(description="IANA time zone")
    contacts: tuple[Contact, ...] = ()
    postal_address: Sealed | None = Field(None, description="Sealed JSON of the postal address")


Percent = Annotated[
    Decimal,
    PlainSerializer(lambda value: format(value, "f"), return_type=str, when_used="json"),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^-?\d+(\.\d+)?$",
            "description": "Exact decimal, in percent a year or in percentage points, as a string.",
        }
    ),
]


class ContractualInterest(BaseModel):
    """A late-payment rate the contract sets."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["fixed", "reference_plus"]
    rate: Percent | None = Field(None, description="fixed: the rate, percent a year")
    margin: Percent | None = Field(
        None, description="reference_plus: points over the reference rate"
    )
    reference: str | None = Field(
        None,
        description="reference_plus: the reference rate series (ECB_MRO, DE_BASISZINSSATZ, "
        "BOE_BANK_RATE); by default the governing law's own",
    )


class LatePaymentTerms(BaseModel):
    """The late-payment terms of the claim's contract; each replaces the statutory figure."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    interest: ContractualInterest | None = None
    fixed_fee: Amount | None = Field(None, description="A fixed sum, in the claim's currency")


class ClaimRegistered(Event):
    """A creditor registered an unpaid invoice on a debtor company: the first event of every
    claim, with the invoice and the debtor as known at registration (names of people, contacts
    and the address sealed). The same command qualifies it: ``ClaimQualified`` or
    ``ClaimRejected`` follows."""

    type: ClassVar[str] = "amiable.claims.claim-registered.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    invoice_number: str
    amount: Amount
    currency: CurrencyCode
    issued_on: date
    due_on: date
    contract_reference: str | None = None
    purchase_order: str | None = None
    description: str | None = Field(None, description=SEALED_TEXT)
    debtor: Debtor
    registered_at: datetime
    idempotency_key: str | None = Field(
        None, description="The Idempotency-Key of the request that registered the claim"
    )
    governing_law: str | None = Field(
        None,
        description="The law governing the claim (ISO 3166-1 alpha-2, or 'none': no statute), "
        "which chooses the late-payment and limitation rules. Absent from claims registered "
        "before it was recorded: their creditor's default applies.",
    )
    governing_law_source: Literal["claim", "tenant", "service_default"] | None = Field(
        None,
        description="Where governing_law came from: the registration request, the tenant's "
        "setting or the service's default",
    )
    late_payment_terms: LatePaymentTerms | None = Field(
        None, description="The contract's late-payment terms, if it has any"
    )


RejectionReason = Literal[
    "missing_debtor_contact", "amount_or_dates_inconsistent", "time_barred", "duplicate"
]


class ClaimQualified(Event):
    """The claim is valid, complete and not time-barred: it may be chased."""

    type: ClassVar[str] = "amiable.claims.claim-qualified.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    qualified_at: datetime
    prescription_date: date = Field(description="The date after which the claim is time-barred")


class ClaimRejected(Event):
    """The claim must not be chased until it is corrected and requalified."""

    type: ClassVar[str] = "amiable.claims.claim-rejected.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    rejected_at: datetime
    reasons: tuple[RejectionReason, ...]
    duplicate_of: UUID | None = None


class ClaimAmended(Event):
    """Contact and reference fields corrected by the creditor. Absent fields are unchanged."""

    type: ClassVar[str] = "amiable.claims.claim-amended.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    amended_at: datetime
    contract_reference: str | None = None
    purchase_order: str | None = None
    description: str | None = Field(None, description=SEALED_TEXT)
    contacts: tuple[Contact, ...] | None = None
    postal_address: Sealed | None = None


class PaymentReceived(Event):
    """Money received for the claim. Allocation to fees, interest and principal is derived on
    read, so a back-dated payment changes every later figure."""

    type: ClassVar[str] = "amiable.claims.payment-received.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    payment_id: UUID
    amount: Amount
    currency: CurrencyCode
    received_on: date
    reference: str | None = None
    method: Literal["transfer", "card", "direct_debit", "cheque", "cash", "other"] = "transfer"
    recorded_at: datetime


class ClaimSettled(Event):
    """Everything due (principal, late interest, fixed fee) is paid."""

    type: ClassVar[str] = "amiable.claims.claim-settled.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    settled_on: date
    overpaid: Amount = Field(description="Credit balance left by an overpayment, 0 if none")


class Installment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    due_on: date
    amount: Amount


class PaymentPlanAgreed(Event):
    """An échéancier: instalments summing to the balance due when it was agreed."""

    type: ClassVar[str] = "amiable.claims.payment-plan-agreed.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    plan_id: UUID
    agreed_on: date
    installments: tuple[Installment, ...]
    grace_days: int = Field(ge=0)
    agreed_at: datetime


class InstallmentMissed(Event):
    """An instalment of the claim's payment plan was not paid in full by its due date plus
    the plan's grace days: the first miss, a warning. A second miss defaults the plan
    (``PaymentPlanDefaulted``). Appended by claims' timer."""

    type: ClassVar[str] = "amiable.claims.installment-missed.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    plan_id: UUID
    installment: int = Field(ge=0, description="Index of the instalment in the plan")
    due_on: date


class PaymentPlanDefaulted(Event):
    """A second instalment was missed: the plan is void and chasing resumes."""

    type: ClassVar[str] = "amiable.claims.payment-plan-defaulted.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    plan_id: UUID
    installment: int = Field(ge=0, description="The instalment whose miss defaulted the plan")
    due_on: date


class PromiseToPayRecorded(Event):
    """The debtor promised to pay ``amount`` by ``promised_on`` (on a call, by email or on the
    portal): dunning pauses the claim until the promise is kept or, ``grace_days`` after that
    date, broken (``PromiseBroken``)."""

    type: ClassVar[str] = "amiable.claims.promise-to-pay-recorded.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    promise_id: UUID
    amount: Amount
    promised_on: date
    source_channel: Literal["call", "email", "portal"]
    grace_days: int = Field(ge=0)
    recorded_at: datetime


class PromiseBroken(Event):
    """The promised amount had not been received ``grace_days`` after ``promised_on``: chasing
    resumes (dunning plans again, reason ``promise_broken``). Appended by claims' timer."""

    type: ClassVar[str] = "amiable.claims.promise-broken.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    promise_id: UUID
    promised_on: date
    amount: Amount


class ClaimWrittenOff(Event):
    """The creditor stopped recovering the claim and booked what is still owed as a loss: the
    claim is closed and chasing stops. ``reason`` is sealed text."""

    type: ClassVar[str] = "amiable.claims.claim-written-off.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    reason: str = Field(description=SEALED_TEXT)
    written_off_at: datetime


class ClaimCancelled(Event):
    """The invoice was cancelled by a full credit note."""

    type: ClassVar[str] = "amiable.claims.claim-cancelled.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    reason: str = Field(description=SEALED_TEXT)
    credit_note_reference: str | None = None
    cancelled_at: datetime
    reissued_as: str | None = Field(
        None,
        max_length=64,
        description="The invoice number that replaces this one (a dispute resolved 'reissued')",
    )


class ClaimAdjusted(Event):
    """A partial credit note reduces the principal."""

    type: ClassVar[str] = "amiable.claims.claim-adjusted.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    amount: Amount = Field(description="Reduction of the principal")
    credit_note_reference: str
    reason: str | None = Field(None, description=SEALED_TEXT)
    adjusted_on: date
    adjusted_at: datetime


class DebtAcknowledged(Event):
    """The debtor acknowledged the debt in writing: interrupts the limitation period."""

    type: ClassVar[str] = "amiable.claims.debt-acknowledged.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    acknowledged_on: date
    reference: str | None = Field(None, description=f"Where the debtor wrote it. {SEALED_TEXT}")
    recorded_at: datetime


class LimitationApproaching(Event):
    """The claim becomes time-barred on ``prescription_date`` (five years for a French
    commercial claim; the governing law's rule), ``days_left`` days after this warning: an
    acknowledgement of the debt or proceedings must come before then. Appended by claims'
    timer, once per prescription date."""

    type: ClassVar[str] = "amiable.claims.limitation-approaching.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    prescription_date: date
    days_left: int


class FixedFeeWaived(Event):
    """The fixed recovery fee of this claim is not due when it would fall due on or after
    ``waived_from``: the debtor is in collective proceedings, which bar paying it (Code de
    commerce D441-5). A fee that fell due before that date stays due. Appended by claims in
    reaction to the risk service's ``InsolvencyRecorded`` (for the debtor's open claims, and for
    a claim registered later)."""

    type: ClassVar[str] = "amiable.claims.fixed-fee-waived.v1"
    source: ClassVar[str] = "claims"

    claim_id: UUID
    waived_from: date = Field(description="The day the proceedings opened")
    reason: Literal["insolvency_proceedings"]
    proceeding_kind: Literal["safeguard", "receivership", "liquidation"]
    proceeding_reference: str = Field(
        max_length=100, description="The court's reference for the case"
    )


class DebtorPersonalDataErased(Event):
    """The debtor account's personal data was erased (its key shredded): every sealed value of
    the account, in the log and in every projection, reads as ``[erased]`` from now on, and
    every consumer drops what it keeps in clear about the account's people (docs/architecture.md,
    "Erasure"). About a debtor account, not a claim: subject ``debtor:<debtor_id>``."""

    type: ClassVar[str] = "amiable.claims.debtor-personal-data-erased.v1"
    source: ClassVar[str] = "claims"

    debtor_id: str = Field(description="The creditor's own id for this customer")
    erased_at: datetime

    @property
    def subject(self) -> str:
        return f"debtor:{self.debtor_id}"


EVENTS: tuple[type[Event], ...] = (
    ClaimRegistered,
    ClaimQualified,
    ClaimRejected,
    ClaimAmended,
    PaymentReceived,
    ClaimSettled,
    PaymentPlanAgreed,
    InstallmentMissed,
    PaymentPlanDefaulted,
    PromiseToPayRecorded,
    PromiseBroken,
    ClaimWrittenOff,
    ClaimCancelled,
    ClaimAdjusted,
    DebtAcknowledged,
    LimitationApproaching,
    DebtorPersonalDataErased,
    FixedFeeWaived,
)
