"""Commands: what a client asks of a claim, as plain frozen dataclasses. Each has one decider in
:mod:`.decide`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Literal
from uuid import UUID

from amiable_events.claims import (
    Contact,
    Debtor,
    Installment,
    LatePaymentTerms,
)


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
    # The claim's id when the caller fixes it (an imported row: from its invoice number, so a
    # retried file names the same claims); otherwise from the idempotency key, or a new id.
    claim_id: UUID | None = None
    # What the tenant already has, as the application looked it up: the claim with this
    # invoice number, and an open claim of the same debtor that looks like this one.
    taken_by: UUID | None = None
    duplicate_of: UUID | None = None
    governing_law: str | None = None  # None: the tenant's default
    late_payment_terms: LatePaymentTerms | None = None


@dataclass(frozen=True)
class RecordPayment:
    amount: Decimal
    currency: str | None  # None: the claim's currency
    received_on: date
    reference: str | None = None
    method: str = "transfer"
    idempotency_key: str | None = None  # the client's: it names the payment


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


@dataclass(frozen=True)
class RequalifyClaim:
    duplicate_of: UUID | None = None


@dataclass(frozen=True)
class WriteOffClaim:
    reason: str


@dataclass(frozen=True)
class CancelClaim:
    reason: str
    credit_note_reference: str | None = None


@dataclass(frozen=True)
class AdjustClaim:
    amount: Decimal
    credit_note_reference: str
    reason: str | None = None


@dataclass(frozen=True)
class AcknowledgeDebt:
    acknowledged_on: date
    reference: str | None = None
