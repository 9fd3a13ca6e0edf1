"""Events of the claims (intake) bounded context."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from amiable_events.base import Amount, CountryCode, CurrencyCode, Event, Sealed


class Contact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Sealed | None = None
    email: Sealed | None = None
    phone: Sealed | None = None
    role: str | None = Field(None, max_length=100, description="e.g. accounts payable, CFO")


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


class ClaimRegistered(Event):
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
    description: str | None = None
    debtor: Debtor
    registered_at: datetime
    idempotency_key: str | None = Field(
        None, description="The Idempotency-Key of the request that registered the claim"
    )


EVENTS: tuple[type[Event], ...] = (ClaimRegistered,)
