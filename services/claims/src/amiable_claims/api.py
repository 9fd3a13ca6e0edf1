"""Claims HTTP API: validate -> load state -> decide -> append -> wait until readable -> answer."""

from __future__ import annotations

import asyncio
import base64
import uuid
import weakref
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from amiable_claims import reference
from amiable_claims.domain import (
    Claim,
    FieldError,
    InvalidClaim,
    InvoiceNumberTaken,
    RegisterClaim,
    decide_registration,
)
from amiable_events.auth import Principal, require_scope
from amiable_events.claims import Contact, Debtor
from amiable_events.envelope import Envelope, account_key
from amiable_events.http import Problem
from amiable_events.ids import keyed_id
from amiable_events.personal import ERASED

ReaderDep = Annotated[Principal, Depends(require_scope("claims:read"))]
WriterDep = Annotated[Principal, Depends(require_scope("claims:write"))]

E164 = r"^\+[1-9]\d{1,14}$"


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactIn(_Input):
    name: str | None = Field(None, min_length=1, max_length=200, examples=["Claire Martin"])
    email: EmailStr | None = Field(None, examples=["claire.martin@debtor.example"])
    phone: str | None = Field(None, pattern=E164, examples=["+33612345678"])
    role: str | None = Field(None, max_length=100, examples=["accounts payable"])


class PostalAddressIn(_Input):
    lines: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=4, examples=[["12 rue de la Paix"]]
    )
    postal_code: str | None = Field(None, max_length=20, examples=["75002"])
    city: str = Field(min_length=1, max_length=100, examples=["Paris"])
    region: str | None = Field(None, max_length=100)
    country: str = Field(pattern=r"^[A-Z]{2}$", examples=["FR"])


class DebtorIn(_Input):
    id: str = Field(min_length=1, max_length=100, description="Your own id for this customer")
    legal_name: str = Field(min_length=1, max_length=300, examples=["Durand Industries SAS"])
    registration_id: str | None = Field(
        None, max_length=50, description="Company registration number; for FR the 9-digit SIREN"
    )
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2", examples=["FR"])
    language: str | None = Field(
        None, description="BCP 47 tag; defaults from the country", examples=["fr-FR"]
    )
    timezone: str | None = Field(
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


class ClaimIn(_Input):
    invoice_number: str = Field(min_length=1, max_length=64, examples=["INV-2026-0042"])
    amount: str = Field(
        description="Decimal string in the currency's major unit, > 0", examples=["12500.00"]
    )
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217", examples=["EUR"])
    issued_on: date = Field(examples=["2026-10-01"])
    due_on: date = Field(examples=["2026-10-31"])
    contract_reference: str | None = Field(None, max_length=100)
    purchase_order: str | None = Field(None, max_length=100)
    description: str | None = Field(None, max_length=2000)
    debtor: DebtorIn

    @field_validator("amount", mode="before")
    @classmethod
    def _amount_is_decimal_string(cls, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("must be a decimal string such as '1250.00', not a JSON number")
        try:
            parsed = Decimal(value)
        except InvalidOperation:
            raise ValueError("must be a decimal string such as '1250.00'") from None
        if not parsed.is_finite() or not value.replace(".", "", 1).isdigit():
            raise ValueError("must be a decimal string such as '1250.00'")
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in reference.currencies():
            raise ValueError(f"{value} is not an ISO 4217 currency code")
        return value


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


class ClaimOut(BaseModel):
    id: uuid.UUID
    invoice_number: str
    amount: str
    currency: str
    outstanding: str
    issued_on: date
    due_on: date
    status: Literal["registered"]
    contract_reference: str | None
    purchase_order: str | None
    description: str | None
    registered_at: datetime
    debtor: DebtorOut


class ClaimPage(BaseModel):
    items: list[ClaimOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= to get the next page")


def _money(value: Decimal, currency: str) -> str:
    return str(value.quantize(Decimal(1).scaleb(-reference.minor_digits(currency))))


class ClaimsHandler:
    """Runs claim commands. One lock per tenant serialises the invoice-number check with the
    append, so one replica never registers the same invoice twice."""

    def __init__(self, *, log, runner, read_model, sealer, clock, timeout: float) -> None:
        self._log = log
        self._runner = runner
        self.read_model = read_model
        self._sealer = sealer
        self._clock = clock
        self._timeout = timeout
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    def _lock(self, tenant: str) -> asyncio.Lock:
        lock = self._locks.get(tenant)
        if lock is None:
            lock = self._locks[tenant] = asyncio.Lock()
        return lock

    async def register(
        self, tenant: str, body: ClaimIn, idempotency_key: str | None, correlation_id: uuid.UUID
    ) -> tuple[dict, bool]:
        """The claim row and whether it was created now (False: an idempotent replay)."""
        async with self._lock(tenant):
            await self._catch_up(tenant, body.debtor.id)
            if idempotency_key:
                first = await self.read_model.with_idempotency_key(tenant, idempotency_key)
                if first is not None:
                    if first["invoice_number"] != body.invoice_number:
                        raise Problem(
                            422,
                            "Idempotency-Key reused",
                            "this Idempotency-Key was used for another request",
                            errors=[
                                {
                                    "field": "Idempotency-Key",
                                    "reason": f"used for invoice {first['invoice_number']}",
                                }
                            ],
                        )
                    return first, False
            existing = await self.read_model.first_with_invoice(tenant, body.invoice_number)
            command = await self._command(tenant, body, idempotency_key)
            now = self._clock.now()
            try:
                events = decide_registration(command, _claim(existing), now=now, new_id=uuid.uuid4)
            except InvalidClaim as exc:
                raise _invalid(exc.errors) from exc
            except InvoiceNumberTaken as exc:
                raise Problem(
                    409,
                    "Invoice already registered",
                    str(exc),
                    existing_claim_id=str(exc.claim_id),
                ) from exc
            event = events[0]
            event_id = (
                keyed_id(tenant, "claim-registered", idempotency_key)
                if idempotency_key
                else uuid.uuid4()
            )
            envelope = Envelope(
                id=event_id,
                subject=str(event.claim_id),
                time=now,
                tenant=tenant,
                debtor_id=body.debtor.id,
                correlation_id=correlation_id,
                data=event,
            )
            [appended] = await self._log.append([envelope])
            if not await self._runner.wait_until_applied(
                appended.partition, appended.offset, self._timeout
            ):
                raise Problem(
                    503,
                    "Registered, not yet readable",
                    "the claim is in the log but the read model lags; GET it shortly",
                    claim_id=str(event.claim_id),
                )
            return await self.read_model.claim(tenant, event.claim_id), True

    async def _catch_up(self, tenant: str, debtor_id: str) -> None:
        """Read your writes: the debtor's partition is applied up to its end before deciding."""
        if not await self._runner.wait_caught_up(account_key(tenant, debtor_id), self._timeout):
            raise Problem(503, "Read model lagging", "the claims projection is catching up")

    async def _command(self, tenant: str, body: ClaimIn, idempotency_key: str | None):
        errors = []
        debtor = body.debtor
        language = debtor.language or reference.default_language(debtor.country)
        canonical = reference.canonical_language(language)
        if canonical is None:
            errors.append(FieldError("debtor.language", f"{language} is not a known BCP 47 tag"))
        timezone = debtor.timezone or reference.default_timezone(debtor.country)
        if timezone is None:
            errors.append(
                FieldError("debtor.timezone", f"required: {debtor.country} spans several zones")
            )
        elif not reference.is_timezone(timezone):
            errors.append(FieldError("debtor.timezone", f"{timezone} is not an IANA time zone"))
        if errors:
            raise _invalid(errors)
        seal = await self._sealer.sealer_for(account_key(tenant, debtor.id))

        def sealed(value: str | None) -> str | None:
            return None if value is None else seal(value)

        address = debtor.postal_address
        return RegisterClaim(
            tenant=tenant,
            invoice_number=body.invoice_number,
            amount=Decimal(body.amount),
            currency=body.currency,
            issued_on=body.issued_on,
            due_on=body.due_on,
            contract_reference=body.contract_reference,
            purchase_order=body.purchase_order,
            description=body.description,
            idempotency_key=idempotency_key,
            debtor=Debtor(
                id=debtor.id,
                legal_name=debtor.legal_name,
                registration_id=debtor.registration_id,
                country=debtor.country,
                language=canonical,
                timezone=timezone,
                contacts=tuple(
                    Contact(
                        name=sealed(contact.name),
                        email=sealed(contact.email),
                        phone=sealed(contact.phone),
                        role=contact.role,
                    )
                    for contact in debtor.contacts
                ),
                postal_address=sealed(
                    orjson.dumps(address.model_dump(mode="json")).decode() if address else None
                ),
            ),
        )

    async def present(self, row: dict) -> ClaimOut:
        """The API view of a claim row, personal data opened with the debtor's key."""
        debtor = row["debtor"]
        opened = await self._sealer.opener_for(account_key(row["tenant"], row["debtor_id"]))
        address = opened(debtor.get("postal_address"))
        if address not in (None, ERASED):
            address = orjson.loads(address)
        return ClaimOut(
            id=row["claim_id"],
            invoice_number=row["invoice_number"],
            amount=_money(row["amount"], row["currency"]),
            currency=row["currency"],
            outstanding=_money(row["outstanding"], row["currency"]),
            issued_on=row["issued_on"],
            due_on=row["due_on"],
            status=row["status"],
            contract_reference=row["contract_reference"],
            purchase_order=row["purchase_order"],
            description=row["description"],
            registered_at=row["registered_at"],
            debtor=DebtorOut(
                id=debtor["id"],
                legal_name=debtor["legal_name"],
                registration_id=debtor.get("registration_id"),
                country=debtor["country"],
                language=debtor["language"],
                timezone=debtor["timezone"],
                contacts=[
                    ContactOut(
                        name=opened(contact.get("name")),
                        email=opened(contact.get("email")),
                        phone=opened(contact.get("phone")),
                        role=contact.get("role"),
                    )
                    for contact in debtor.get("contacts", [])
                ],
                postal_address=address,
            ),
        )


def _claim(row: dict | None) -> Claim | None:
    if row is None:
        return None
    return Claim(
        claim_id=row["claim_id"],
        tenant=row["tenant"],
        debtor_id=row["debtor_id"],
        invoice_number=row["invoice_number"],
        amount=row["amount"],
        currency=row["currency"],
        issued_on=row["issued_on"],
        due_on=row["due_on"],
        status=row["status"],
        outstanding=row["outstanding"],
        registered_at=row["registered_at"],
    )


def _invalid(errors: list[FieldError]) -> Problem:
    return Problem(
        422,
        "Invalid request",
        f"{len(errors)} field(s) are invalid",
        errors=[{"field": e.field, "reason": e.reason} for e in errors],
    )


def _encode_cursor(row: dict) -> str:
    raw = orjson.dumps([row["registered_at"].isoformat(), str(row["claim_id"])])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        registered_at, claim_id = orjson.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(registered_at), uuid.UUID(claim_id)
    except (ValueError, TypeError) as exc:
        raise Problem(
            422,
            "Invalid request",
            "bad cursor",
            errors=[{"field": "cursor", "reason": "malformed"}],
        ) from exc


def _handler(request: Request) -> ClaimsHandler:
    return request.app.state.claims


HandlerDep = Annotated[ClaimsHandler, Depends(_handler)]

router = APIRouter(prefix="/v1/claims", tags=["claims"])


@router.post(
    "",
    operation_id="registerClaim",
    status_code=201,
    response_model=ClaimOut,
    responses={
        401: {"description": "No valid bearer token"},
        403: {"description": "Token lacks scope claims:write"},
        409: {"description": "The tenant already has this invoice number; names the claim"},
        422: {"description": "Invalid fields, each with the reason"},
        503: {"description": "The read model lags; retry with the same Idempotency-Key"},
    },
)
async def register_claim(
    body: ClaimIn,
    principal: WriterDep,
    handler: HandlerDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
    x_correlation_id: Annotated[uuid.UUID | None, Header()] = None,
) -> ClaimOut:
    """Register an unpaid invoice. Answered once the claim is durably in the event log and
    readable. A retried request with the same `Idempotency-Key` gets the first answer."""
    row, created = await handler.register(
        principal.tenant, body, idempotency_key, x_correlation_id or uuid.uuid4()
    )
    response.headers["Location"] = f"{router.prefix}/{row['claim_id']}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return await handler.present(row)


@router.get("/{claim_id}", operation_id="getClaim", response_model=ClaimOut)
async def get_claim(claim_id: uuid.UUID, principal: ReaderDep, handler: HandlerDep) -> ClaimOut:
    """One claim of the caller's tenant (404 for any other tenant's claim)."""
    row = await handler.read_model.claim(principal.tenant, claim_id)
    if row is None:
        raise Problem(404, "Claim not found", f"no claim {claim_id} for this tenant")
    return await handler.present(row)


@router.get("", operation_id="listClaims", response_model=ClaimPage)
async def list_claims(
    principal: ReaderDep,
    handler: HandlerDep,
    debtor_id: str | None = None,
    status: Literal["registered"] | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ClaimPage:
    """The tenant's claims in registration order, filtered, one page at a time."""
    rows = await handler.read_model.page(
        principal.tenant,
        debtor_id=debtor_id,
        status=status,
        after=_decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    items = [await handler.present(row) for row in rows[:limit]]
    return ClaimPage(
        items=items, next_cursor=_encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    )
