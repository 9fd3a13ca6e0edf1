"""The claims decider: pure rules of claim registration. No I/O here, ever.

``decide`` turns a command and the state it needs into events; ``evolve`` folds events into a
claim. ``evolve`` is total: any order of events yields a valid claim, because Kafka cannot stop
two writers from appending concurrently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import singledispatch
from typing import Literal
from uuid import UUID

from amiable_claims import reference
from amiable_events.claims import ClaimRegistered, Debtor
from amiable_events.envelope import Envelope
from amiable_events.ids import NewId, keyed_id

ClaimStatus = Literal["registered"]


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str


class InvalidClaim(ValueError):
    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in errors))
        self.errors = errors


class InvoiceNumberTaken(ValueError):
    def __init__(self, invoice_number: str, claim_id: UUID) -> None:
        super().__init__(f"invoice {invoice_number} is already registered as claim {claim_id}")
        self.invoice_number = invoice_number
        self.claim_id = claim_id


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


@dataclass(frozen=True)
class Claim:
    claim_id: UUID
    tenant: str
    debtor_id: str
    invoice_number: str
    amount: Decimal
    currency: str
    issued_on: date
    due_on: date
    status: ClaimStatus
    outstanding: Decimal
    registered_at: datetime


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


def registration_errors(command: RegisterClaim) -> list[FieldError]:
    """Rules across fields that the request shape alone cannot check."""
    errors = []
    if command.amount <= 0:
        errors.append(FieldError("amount", "must be greater than 0"))
    if command.currency in reference.currencies():
        digits = reference.minor_digits(command.currency)
        exponent = command.amount.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > digits:
            errors.append(
                FieldError("amount", f"{command.currency} has at most {digits} decimal digits")
            )
    if command.due_on < command.issued_on:
        errors.append(FieldError("due_on", "must be on or after issued_on"))
    registration_id = command.debtor.registration_id
    french = command.debtor.country == "FR" and registration_id is not None
    if french and not siren_is_valid(registration_id):
        errors.append(
            FieldError("debtor.registration_id", "a French SIREN is 9 digits, Luhn-valid")
        )
    return errors


def decide_registration(
    command: RegisterClaim, existing: Claim | None, *, now: datetime, new_id: NewId
) -> list[ClaimRegistered]:
    """Register a claim unless the tenant already has its invoice number.

    ``existing`` is the tenant's claim with the same invoice number, if any. With an
    idempotency key the claim id is derived from it, so a retried request names the same claim.
    """
    errors = registration_errors(command)
    if errors:
        raise InvalidClaim(errors)
    if existing is not None:
        raise InvoiceNumberTaken(command.invoice_number, existing.claim_id)
    claim_id = (
        keyed_id(command.tenant, "claim", command.idempotency_key)
        if command.idempotency_key
        else new_id()
    )
    return [
        ClaimRegistered(
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
        )
    ]


def evolve(state: Claim | None, envelope: Envelope) -> Claim | None:
    return _evolve(envelope.data, state, envelope)


@singledispatch
def _evolve(event: object, state: Claim | None, envelope: Envelope) -> Claim | None:
    """Events this context does not fold leave the claim as it is."""
    return state


@_evolve.register
def _(event: ClaimRegistered, state: Claim | None, envelope: Envelope) -> Claim | None:
    if state is not None:
        return state  # a second registration of the same claim id changes nothing
    return Claim(
        claim_id=event.claim_id,
        tenant=envelope.tenant,
        debtor_id=envelope.debtor_id,
        invoice_number=event.invoice_number,
        amount=event.amount,
        currency=event.currency,
        issued_on=event.issued_on,
        due_on=event.due_on,
        status="registered",
        outstanding=event.amount,
        registered_at=event.registered_at,
    )


def fold(envelopes: list[Envelope]) -> Claim | None:
    state = None
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state
