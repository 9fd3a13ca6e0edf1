"""Request and response bodies of the claims API: shapes, formats and their examples."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from amiable_claims.domain import reference
from amiable_claims.domain.state import ClaimStatus
from amiable_events.claims import LatePaymentTerms
from amiable_events.inputs import BoundedDate, JsonSchemaExtra, Money, Text
from amiable_events.personal import ERASED
from amiable_rules.governing_law import GoverningLawSource
from amiable_rules.late_fees import LateFeeRules

E164 = r"^\+[1-9]\d{1,14}$"
#: The addresses accepted, stated as a pattern so that the OpenAPI says exactly what passes: a
#: dot-atom local part (RFC 5322, no quoted strings), '@', and a domain of LDH labels with a
#: dot (no address literals).
EMAIL = (
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def _email(value: str) -> str:
    if re.fullmatch(EMAIL, value) is None:
        raise ValueError("not an e-mail address: a dot-atom local part, '@', a domain with a dot")
    return value


Email = Annotated[
    str,
    Field(max_length=254, examples=["claire@debtor.example"]),
    AfterValidator(_email),
    JsonSchemaExtra({"pattern": EMAIL}),
]

#: Codes checked against the reference data; the OpenAPI lists them.
Country = Annotated[
    str,
    JsonSchemaExtra({"enum": sorted(reference.countries())}),
    Field(description="ISO 3166-1 alpha-2", examples=["FR"]),
]
Currency = Annotated[
    str,
    JsonSchemaExtra({"enum": sorted(reference.currencies())}),
    Field(description="ISO 4217", examples=["EUR"]),
]
TimeZone = Annotated[
    str,
    JsonSchemaExtra({"enum": sorted(reference.timezones())}),
    Field(max_length=64, description="IANA time zone", examples=["Europe/Paris"]),
]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(_Input):
    name: Text(200, examples=["Claire Martin"]) | None = None
    email: Email | None = None
    phone: str | None = Field(None, pattern=E164, examples=["+33612345678"])
    role: Text(100, min_length=0, examples=["accounts payable"]) | None = None


class PostalAddressIn(_Input):
    lines: list[Text(200)] = Field(min_length=1, max_length=4, examples=[["12 rue de la Paix"]])
    postal_code: Text(20, min_length=0, examples=["75002"]) | None = None
    city: Text(100, examples=["Paris"])
    region: Text(100, min_length=0) | None = None
    country: Country

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if value not in reference.countries():
            raise ValueError(f"{value} is not an ISO 3166-1 alpha-2 country code")
        return value


class DebtorIn(_Input):
    id: Text(100, description="Your own id for this customer")
    legal_name: Text(300, examples=["Durand Industries SAS"])
    registration_id: (
        Text(50, min_length=0, description="Company registration number; for FR the 9-digit SIREN")
        | None
    ) = None
    country: Country
    language: (
        Text(35, description="BCP 47 tag; defaults from the country", examples=["fr-FR"]) | None
    ) = None
    timezone: TimeZone | None = Field(
        None, description="IANA time zone; defaults from the country when it has only one"
    )
    contacts: list[ContactIn] = Field(default_factory=list, max_length=20)
    postal_address: PostalAddressIn | None = None

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if value not in reference.countries():
            raise ValueError(f"{value} is not an ISO 3166-1 alpha-2 country code")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is not None and value not in reference.timezones():
            raise ValueError("not a time zone of the IANA tz database")
        return value


#: A contractual rate or margin, percent a year or points: bounded so that a day's interest
#: stays within the decimal context (a 40-digit rate made every figure of the claim a 500).
RATE = r"^[0-9]{1,3}(\.[0-9]{1,4})?$"
MARGIN = r"^-?[0-9]{1,3}(\.[0-9]{1,4})?$"


class ContractualInterestIn(_Input):
    kind: Literal["fixed", "reference_plus"]
    rate: str | None = Field(
        None, pattern=RATE, description="fixed: the rate, percent a year (below 1000)"
    )
    margin: str | None = Field(
        None, pattern=MARGIN, description="reference_plus: points over the reference rate"
    )
    reference: (
        Annotated[str, JsonSchemaExtra({"enum": sorted(LateFeeRules.load().series)})] | None
    ) = Field(
        None,
        description="reference_plus: the reference rate series; by default the governing law's own",
    )


class LatePaymentTermsIn(_Input):
    """The contract's late-payment terms as a request states them (bounded); the claim's
    event carries them as :class:`LatePaymentTerms`."""

    interest: ContractualInterestIn | None = None
    fixed_fee: Money | None = Field(None, description="A fixed sum, in the claim's currency")


class ClaimIn(_Input):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "invoice_number": "INV-2026-0042",
                    "amount": "12500.00",
                    "currency": "EUR",
                    "issued_on": "2026-10-01",
                    "due_on": "2026-10-31",
                    "purchase_order": "PO-778",
                    "debtor": {
                        "id": "C-42",
                        "legal_name": "Durand Industries SAS",
                        "registration_id": "732829320",
                        "country": "FR",
                        "contacts": [
                            {
                                "name": "Claire Martin",
                                "email": "claire.martin@durand.example",
                                "phone": "+33612345678",
                                "role": "accounts payable",
                            }
                        ],
                        "postal_address": {
                            "lines": ["12 rue de la Paix"],
                            "postal_code": "75002",
                            "city": "Paris",
                            "country": "FR",
                        },
                    },
                }
            ]
        },
    )

    invoice_number: Text(64, examples=["INV-2026-0042"])
    amount: Money
    currency: Currency
    issued_on: BoundedDate = Field(examples=["2026-10-01"])
    due_on: BoundedDate = Field(examples=["2026-10-31"])
    contract_reference: Text(100, min_length=0) | None = None
    purchase_order: Text(100, min_length=0) | None = None
    description: Text(2000, min_length=0, multiline=True) | None = None
    debtor: DebtorIn
    governing_law: (
        Annotated[str, JsonSchemaExtra({"enum": [*sorted(reference.countries()), "none"]})] | None
    ) = Field(
        None,
        description="The law governing the claim's contract: an ISO 3166-1 alpha-2 country "
        "code, or 'none' when no statute applies (interest only from late_payment_terms). It "
        "chooses the late-payment and limitation rules. Defaults to the creditor's "
        "(AMIABLE_TENANT_GOVERNING_LAW, else AMIABLE_DEFAULT_GOVERNING_LAW); the debtor's "
        "country plays no part.",
        examples=["FR"],
    )
    late_payment_terms: LatePaymentTermsIn | None = Field(
        None,
        description="The contract's own late-payment terms; each replaces the statutory "
        "figure: interest {kind: fixed, rate} or {kind: reference_plus, margin, reference?}, "
        "and/or a fixed_fee in the claim's currency.",
        examples=[{"interest": {"kind": "fixed", "rate": "12.00"}, "fixed_fee": "50.00"}],
    )

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in reference.currencies():
            raise ValueError(f"{value} is not an ISO 4217 currency code")
        return value

    @field_validator("late_payment_terms")
    @classmethod
    def _as_event_terms(cls, value: LatePaymentTermsIn | None) -> LatePaymentTerms | None:
        """Checked against the request's bounds, then carried as the event's terms."""
        if value is None:
            return None
        return LatePaymentTerms.model_validate(value.model_dump(exclude_none=True))

    @field_validator("governing_law")
    @classmethod
    def _known_law(cls, value: str | None) -> str | None:
        if value is None or value == "none" or value in reference.countries():
            return value
        raise ValueError(f"{value} is neither an ISO 3166-1 alpha-2 country code nor 'none'")


class ContactOut(BaseModel):
    name: str | None
    email: str | None
    phone: str | None
    role: str | None


class DebtorOut(BaseModel):
    id: str
    legal_name: str
    registration_id: str | None
    country: str
    language: str
    timezone: str
    contacts: list[ContactOut]
    postal_address: dict[str, Any] | str | None = Field(
        description=f"The address, or '{ERASED}' after the debtor's personal data was erased"
    )


class PaymentOut(BaseModel):
    payment_id: uuid.UUID
    amount: str
    received_on: date


class CreditOut(BaseModel):
    amount: str
    on: date
    credit_note_reference: str


class InstallmentOut(BaseModel):
    due_on: date
    amount: str
    paid: bool
    missed: bool


class PlanOut(BaseModel):
    plan_id: uuid.UUID
    agreed_on: date
    grace_days: int
    installments: list[InstallmentOut]
    defaulted_on: date | None


class PromiseOut(BaseModel):
    promise_id: uuid.UUID
    amount: str
    promised_on: date
    state: Literal["open", "kept", "broken"]


class ClaimOut(BaseModel):
    id: uuid.UUID
    invoice_number: str
    amount: str
    currency: str
    outstanding: str
    issued_on: date
    due_on: date
    status: ClaimStatus
    rejection_reasons: list[str]
    paid: str
    closed_on: date | None
    close_reason: str | None = Field(
        None,
        description="Why the claim closed: `paid` when settled, otherwise the reason given to "
        "write it off or cancel it (`[erased]` once the debtor's personal data is erased)",
    )
    escalated_on: date | None = Field(
        None,
        description="The day (debtor's time zone) a person approved the handoff to litigation: "
        "status `escalated`, amicable recovery over, the money still owed",
    )
    prescription_date: date = Field(description="The claim is time-barred after this date")
    payments: list[PaymentOut]
    credits: list[CreditOut]
    plan: PlanOut | None
    promises: list[PromiseOut]
    recovery_cost: str = Field(
        description="What the messages sent about the claim cost, in its currency: its share "
        "of each (a message about several claims shares its cost evenly between them)",
        examples=["1.25"],
    )
    contract_reference: str | None
    purchase_order: str | None
    description: str | None
    registered_at: datetime
    debtor: DebtorOut


class ClaimPage(BaseModel):
    items: list[ClaimOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= to get the next page")


class PaymentIn(_Input):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "amount": "2500.00",
                    "received_on": "2026-11-20",
                    "reference": "VIR-2026-11-0093",
                    "method": "transfer",
                }
            ]
        },
    )

    amount: Money
    currency: Currency | None = Field(None, description="Defaults to the claim's; another is a 422")
    received_on: BoundedDate = Field(description="Value date; may be in the past (back-dated)")
    reference: Text(100, min_length=0, examples=["VIR-2026-10-0093"]) | None = None

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str | None) -> str | None:
        if value is not None and value not in reference.currencies():
            raise ValueError(f"{value} is not an ISO 4217 currency code")
        return value

    method: Literal["transfer", "card", "direct_debit", "cheque", "cash", "other"] = "transfer"


class InstallmentIn(_Input):
    due_on: BoundedDate
    amount: Money


class PaymentPlanIn(_Input):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "installments": [
                        {"due_on": "2026-12-15", "amount": "6300.00"},
                        {"due_on": "2027-01-15", "amount": "6298.42"},
                    ],
                    "grace_days": 5,
                }
            ]
        },
    )

    installments: list[InstallmentIn] = Field(min_length=1, max_length=60)
    grace_days: int | None = Field(None, ge=0, le=60, description="Defaults to the setting")


class PromiseIn(_Input):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [{"amount": "3000.00", "promised_on": "2026-12-05", "source": "call"}]
        },
    )

    amount: Money
    promised_on: BoundedDate
    source: Literal["call", "email", "portal"]
    grace_days: int | None = Field(None, ge=0, le=60)


class WriteOffIn(_Input):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [{"reason": "debtor in liquidation, claim filed with the liquidator"}]
        },
    )

    reason: Text(500, multiline=True, examples=["debtor insolvent"])


class CancelIn(_Input):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {"reason": "invoice issued in error", "credit_note_reference": "AV-2026-0012"}
            ]
        },
    )

    reason: Text(500, multiline=True, examples=["invoice issued in error"])
    credit_note_reference: Text(100, examples=["AV-2026-0012"]) | None = None


class AdjustmentIn(_Input):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "amount": "400.00",
                    "credit_note_reference": "AV-2026-0013",
                    "reason": "damaged goods",
                }
            ]
        },
    )

    amount: Money
    credit_note_reference: Text(100)
    reason: Text(500, min_length=0, multiline=True) | None = None


class AcknowledgementIn(_Input):
    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {"acknowledged_on": "2026-11-18", "reference": "debtor's email of 18 November"}
            ]
        },
    )

    acknowledged_on: BoundedDate = Field(description="Date of the debtor's written acknowledgement")
    reference: Text(200, min_length=0, examples=["email of 2026-11-02"]) | None = None


class AmendIn(_Input):
    """Only the fields sent are changed; `contacts` replaces the whole list."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "purchase_order": "PO-779",
                    "contacts": [
                        {
                            "name": "Inès Marchand",
                            "email": "ines.marchand@durand.example",
                            "role": "CFO",
                        }
                    ],
                }
            ]
        },
    )

    contract_reference: Text(100, min_length=0) | None = None
    purchase_order: Text(100, min_length=0) | None = None
    description: Text(2000, min_length=0, multiline=True) | None = None
    contacts: list[ContactIn] | None = Field(None, max_length=20)
    postal_address: PostalAddressIn | None = None


class DueLineOut(BaseModel):
    kind: Literal["principal", "interest", "fixed_fee"]
    amount: str
    note: str


class AmountDueOut(BaseModel):
    claim_id: uuid.UUID
    as_of: date
    currency: str
    principal_outstanding: str
    interest: str
    fixed_fee: str
    total: str
    overpaid: str
    interest_accrued: str
    paid: str
    rule: str = Field(description="The rule applied, in words")
    governing_law: str = Field(description="The claim's governing law, or 'none'")
    governing_law_source: GoverningLawSource = Field(
        description="Where the governing law came from: the claim's registration, the "
        "tenant's setting or the service's default"
    )
    rule_entry: str = Field(
        description="The statutory entry applied: the law's own (FR, DE, GB), the EU default "
        "for another EU member state, or 'none'"
    )
    rule_source: str = Field(description="The legal source of that entry")
    late_payment_terms: LatePaymentTerms | None = Field(
        description="The contract's late-payment terms, when the claim carries any"
    )
    lines: list[DueLineOut]


class TimelineEntry(BaseModel):
    event_id: uuid.UUID
    type: str
    time: datetime
    source: str
    summary: str
    partition: int
    offset: int
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None
    actor: str | None = Field(
        None,
        description="Who caused the event: the subject of the bearer token of the request, or "
        "service:<name> for what a service did on its own (reactions, timers); null for events "
        "recorded before it existed",
        examples=["accounts-clerk@acme", "service:claims"],
    )
    free_text: dict[str, str] = Field(
        default_factory=dict,
        description="The event's free text, which may name a person and which the summary "
        "leaves out, by field: a dispute's description, comment, note or resolution note. "
        "Sealed in the log, opened here with the debtor's key; [erased] once the debtor's "
        "personal data is erased",
        examples=[{"resolution_note": "Credit note sent to the accounts payable team"}],
    )


class Timeline(BaseModel):
    claim_id: uuid.UUID
    events: list[TimelineEntry]


class ImportRow(BaseModel):
    row: int = Field(description="1-based row number in the file (header excluded)")
    status: Literal["created", "duplicate", "invalid"]
    claim_id: uuid.UUID | None = None
    invoice_number: str | None = None
    errors: list[dict[str, str]] = []


class ImportResult(BaseModel):
    created: int
    duplicate: int
    invalid: int
    rows: list[ImportRow]
