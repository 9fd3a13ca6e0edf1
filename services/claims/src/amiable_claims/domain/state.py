"""A claim's state: what the log says about it, folded by :mod:`.evolve`, and the policy (the
service's rules as data). Pure: no I/O here, ever.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal, get_args
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from amiable_events.claims import (
    Contact,
    Installment,
    LatePaymentTerms,
)
from amiable_rules.governing_law import GoverningLaws, GoverningLawSource
from amiable_rules.late_fees import (
    Allocation,
    LateFeeRules,
    Movement,
    open_principal,
)
from amiable_rules.limitation import LimitationRules
from amiable_rules.local_time import zone

ClosedStatus = Literal["settled", "written_off", "cancelled"]
#: ``escalated``: a person handed the claim over to litigation (dunning's ``ClaimEscalated``).
#: Amicable recovery is over, but the money is still owed: the claim is not closed.
ClaimStatus = Literal["registered", "qualified", "rejected", "escalated", ClosedStatus]
CLOSED: frozenset[str] = frozenset(get_args(ClosedStatus))


@dataclass(frozen=True)
class Policy:
    late_fees: LateFeeRules
    limitation: LimitationRules
    governing_laws: GoverningLaws
    allocation: Allocation = "fees_interest_first"
    suspend_interest_on_respected_plan: bool = True
    installment_grace_days: int = 5
    promise_grace_days: int = 3


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
    #: No fixed fee falling due on or after this day (the debtor's collective proceedings)
    fixed_fee_waived_from: date | None = None
    timezone: str | None = None  # the debtor's, as registered
    #: The local date and the reason of the claim's first dispute (the dispute-rate KPI)
    disputed_on: date | None = None
    dispute_reason: str | None = None
    #: The local date a person handed the claim over to litigation (status ``escalated``)
    escalated_on: date | None = None
    #: What the messages about the claim cost, in its currency (``domain.costs``)
    recovery_cost: Decimal = Decimal(0)

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

    def local_date(self, moment: datetime) -> date:
        """The day ``moment`` falls on in the debtor's time zone."""
        return moment.astimezone(zone(self.timezone or "UTC")).date()


def movements(claim: Claim) -> list[Movement]:
    return [Movement(p.received_on, "payment", p.amount) for p in claim.payments] + [
        Movement(c.on, "credit", c.amount) for c in claim.credits
    ]


def reachable_contacts(contacts: Sequence[Contact], postal_address: str | None) -> int:
    """How many ways there are to reach the debtor: contacts with an email or a phone, and a
    postal address."""
    return sum(1 for c in contacts if c.email or c.phone) + (1 if postal_address else 0)
