"""Claims HTTP API. A route builds a command and hands it to the handler; no SQL, no rule."""

from __future__ import annotations

import base64
import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from pydantic import ValidationError

from amiable_claims import domain
from amiable_claims.commands import (
    AcknowledgeDebt,
    AdjustClaim,
    CancelClaim,
    RequalifyClaim,
    WriteOffClaim,
)
from amiable_claims.domain import Claim
from amiable_claims.handlers import ClaimsHandler, Registrations, sealed_address, sealed_contacts
from amiable_claims.models import (
    AcknowledgementIn,
    AdjustmentIn,
    AmendIn,
    AmountDueOut,
    CancelIn,
    ClaimIn,
    ClaimOut,
    ClaimPage,
    ContactOut,
    CreditOut,
    DebtorOut,
    DueLineOut,
    ImportResult,
    InstallmentOut,
    PaymentIn,
    PaymentOut,
    PaymentPlanIn,
    PlanOut,
    PromiseIn,
    PromiseOut,
    Timeline,
    TimelineEntry,
    WriteOffIn,
)
from amiable_events.auth import Principal, require_scope
from amiable_events.claims import Installment
from amiable_events.commands import Idempotency
from amiable_events.envelope import account_key
from amiable_events.errors import Invalid, NotFound, TooLarge, UnsupportedMediaType
from amiable_events.idempotency import fingerprint
from amiable_events.ids import keyed_id
from amiable_events.personal import ERASED
from amiable_rules import money as amiable_money

ReaderDep = Annotated[Principal, Depends(require_scope("claims:read"))]
WriterDep = Annotated[Principal, Depends(require_scope("claims:write"))]
CorrelationDep = Annotated[uuid.UUID | None, Header(alias="X-Correlation-Id")]
IdempotencyKeyDep = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="A retry with the same key and body changes nothing and gets the same "
        "answer; the same key on another body is a 422",
    ),
]

MAX_IMPORT_ROWS = 50_000


def _handler(request: Request) -> ClaimsHandler:
    return request.app.state.claims


HandlerDep = Annotated[ClaimsHandler, Depends(_handler)]


def money(value: Decimal, currency: str) -> str:
    return str(amiable_money.quantize(value, currency))


async def present(handler: ClaimsHandler, row: dict, state: Claim | None = None) -> ClaimOut:
    """The API view of a claim, personal data opened with the debtor's key. ``state`` replaces
    the current one (a claim as it was at some time)."""
    claim = state or Claim.model_validate(row["state"])
    debtor = row["debtor"]
    opened = await handler.sealer.opener_for(account_key(row["tenant"], row["debtor_id"]))
    address = opened(debtor.get("postal_address"))
    if address not in (None, ERASED):
        address = orjson.loads(address)
    currency = claim.currency
    paid_flags = domain.installments_paid(claim)
    plan = claim.plan
    return ClaimOut(
        id=claim.claim_id,
        invoice_number=claim.invoice_number,
        amount=money(claim.amount, currency),
        currency=currency,
        outstanding=money(claim.unpaid_principal, currency),
        paid=money(claim.paid, currency),
        issued_on=claim.issued_on,
        due_on=claim.due_on,
        status=claim.status,
        rejection_reasons=list(claim.rejection_reasons),
        closed_on=claim.closed_on,
        prescription_date=domain.prescription_date(claim, handler.policy),
        payments=[
            PaymentOut(
                payment_id=p.payment_id, amount=money(p.amount, currency), received_on=p.received_on
            )
            for p in claim.payments
        ],
        credits=[
            CreditOut(
                amount=money(c.amount, currency),
                on=c.on,
                credit_note_reference=c.credit_note_reference,
            )
            for c in claim.credits
        ],
        plan=None
        if plan is None
        else PlanOut(
            plan_id=plan.plan_id,
            agreed_on=plan.agreed_on,
            grace_days=plan.grace_days,
            defaulted_on=plan.defaulted_on,
            installments=[
                InstallmentOut(
                    due_on=i.due_on,
                    amount=money(i.amount, currency),
                    paid=paid_flags[index],
                    missed=index in plan.missed,
                )
                for index, i in enumerate(plan.installments)
            ],
        ),
        promises=[
            PromiseOut(
                promise_id=p.promise_id,
                amount=money(p.amount, currency),
                promised_on=p.promised_on,
                state=p.state,
            )
            for p in claim.promises
        ],
        contract_reference=row["contract_reference"],
        purchase_order=row["purchase_order"],
        description=row["description"],
        registered_at=claim.registered_at,
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


def _encode_cursor(row: dict) -> str:
    raw = orjson.dumps([row["registered_at"].isoformat(), str(row["claim_id"])])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        registered_at, claim_id = orjson.loads(base64.urlsafe_b64decode(padded))
        return datetime.fromisoformat(registered_at), uuid.UUID(claim_id)
    except (ValueError, TypeError) as exc:
        raise Invalid.field("cursor", "malformed") from exc


router = APIRouter(prefix="/v1/claims", tags=["claims"])

COMMAND_ERRORS = {
    404: {"description": "No such claim for this tenant"},
    409: {"description": "The claim's state forbids it (e.g. settled, written off, cancelled)"},
    422: {"description": "Invalid fields, each with the reason"},
}


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
    idempotency_key: IdempotencyKeyDep = None,
    correlation_id: CorrelationDep = None,
) -> ClaimOut:
    """Register an unpaid invoice; it is qualified (`qualified` or `rejected` with reasons) in
    the same step. Answered once durably in the event log and readable. A retried request with
    the same `Idempotency-Key` gets the first answer."""
    row, created = await Registrations(handler).register(
        principal.tenant, body, idempotency_key, correlation_id or uuid.uuid4()
    )
    response.headers["Location"] = f"{router.prefix}/{row['claim_id']}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return await present(handler, row)


IMPORT_EXAMPLE_CSV = (
    "invoice_number,amount,currency,issued_on,due_on,debtor_id,debtor_legal_name,debtor_country,"
    "contact_name,contact_email\n"
    "INV-1,1200.00,EUR,2026-10-01,2026-10-31,C-42,Durand SAS,FR,Claire Martin,c@durand.example\n"
)

CSV_COLUMNS = [
    "invoice_number",
    "amount",
    "currency",
    "issued_on",
    "due_on",
    "contract_reference",
    "purchase_order",
    "description",
    "debtor_id",
    "debtor_legal_name",
    "debtor_registration_id",
    "debtor_country",
    "debtor_language",
    "debtor_timezone",
    "contact_name",
    "contact_email",
    "contact_phone",
    "contact_role",
    "address_line1",
    "address_line2",
    "address_postal_code",
    "address_city",
    "address_country",
    "governing_law",
]


def _csv_body(record: dict[str, str]) -> dict:
    """One CSV row (flat, documented header) as the JSON body of POST /v1/claims."""
    value = {k: (v.strip() or None) if isinstance(v, str) else v for k, v in record.items()}
    unknown = sorted(k for k in value if k not in CSV_COLUMNS)
    if unknown:
        raise ValueError(f"unknown column(s): {', '.join(unknown)}")
    contact = {
        k.removeprefix("contact_"): value[k]
        for k in ("contact_name", "contact_email", "contact_phone", "contact_role")
        if value.get(k)
    }
    address = None
    if value.get("address_line1") or value.get("address_city"):
        address = {
            "lines": [
                line for line in (value.get("address_line1"), value.get("address_line2")) if line
            ],
            "postal_code": value.get("address_postal_code"),
            "city": value.get("address_city"),
            "country": value.get("address_country") or value.get("debtor_country"),
        }
    debtor = {
        "id": value.get("debtor_id"),
        "legal_name": value.get("debtor_legal_name"),
        "registration_id": value.get("debtor_registration_id"),
        "country": value.get("debtor_country"),
        "language": value.get("debtor_language"),
        "timezone": value.get("debtor_timezone"),
        "contacts": [contact] if contact else [],
        "postal_address": address,
    }
    body = {
        k: value.get(k)
        for k in (
            "invoice_number",
            "amount",
            "currency",
            "issued_on",
            "due_on",
            "contract_reference",
            "purchase_order",
            "description",
            "governing_law",
        )
    }
    return {**{k: v for k, v in body.items() if v is not None}, "debtor": debtor}


def _parse_rows(content_type: str, raw: bytes) -> list:
    """Each row as a ClaimIn, or as its list of field errors."""
    text = raw.decode("utf-8-sig", errors="replace")
    if content_type.startswith("text/csv"):
        reader = csv.DictReader(io.StringIO(text))
        records: list = list(reader)
        make = _csv_body
    elif content_type.startswith(("application/x-ndjson", "application/jsonl")):
        records = [line for line in text.splitlines() if line.strip()]
        make = orjson.loads
    else:
        raise UnsupportedMediaType("send text/csv or application/x-ndjson")
    if len(records) > MAX_IMPORT_ROWS:
        raise TooLarge(
            f"at most {MAX_IMPORT_ROWS} rows a request, got {len(records)}", title="Too many rows"
        )
    rows = []
    for record in records:
        try:
            rows.append(ClaimIn.model_validate(make(record)))
        except ValidationError as exc:
            rows.append(
                [
                    {
                        "field": ".".join(str(p) for p in e["loc"]),
                        "reason": e["msg"].removeprefix("Value error, "),
                    }
                    for e in exc.errors()
                ]
            )
        except (ValueError, TypeError) as exc:
            rows.append([{"field": "row", "reason": str(exc)}])
    return rows


@router.post(
    ":import",
    operation_id="importClaims",
    response_model=ImportResult,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {
                    "schema": {"type": "string"},
                    "example": IMPORT_EXAMPLE_CSV,
                },
                "application/x-ndjson": {
                    "schema": {"type": "string"},
                    "example": '{"invoice_number": "INV-1", "amount": "1200.00", ...}\n',
                },
            },
        }
    },
    responses={
        413: {"description": "More than 50,000 rows"},
        415: {"description": "Not CSV/NDJSON"},
    },
)
async def import_claims(
    request: Request, principal: WriterDep, handler: HandlerDep
) -> ImportResult:
    """Register up to 50,000 claims from CSV (the header names the columns, see below) or NDJSON
    (one `POST /v1/claims` body per line). Each row gets its result: `created` (with the claim
    id), `duplicate` (the invoice number is already registered, with that claim's id) or
    `invalid` (each field with its reason). One bad row never blocks the others.

    CSV columns: invoice_number, amount, currency, issued_on, due_on, contract_reference,
    purchase_order, description, debtor_id, debtor_legal_name, debtor_registration_id,
    debtor_country, debtor_language, debtor_timezone, contact_name, contact_email,
    contact_phone, contact_role, address_line1, address_line2, address_postal_code,
    address_city, address_country, governing_law (`late_payment_terms`: NDJSON only)."""
    rows = _parse_rows(request.headers.get("content-type", ""), await request.body())
    results = await Registrations(handler).import_rows(principal.tenant, rows)
    counts = {status: 0 for status in ("created", "duplicate", "invalid")}
    for result in results:
        counts[result["status"]] += 1
    return ImportResult(**counts, rows=results)


@router.get("/{claim_id}", operation_id="getClaim", response_model=ClaimOut)
async def get_claim(
    claim_id: uuid.UUID,
    principal: ReaderDep,
    handler: HandlerDep,
    as_of: Annotated[
        datetime | None, Query(description="The claim as it was at this time (ISO 8601)")
    ] = None,
) -> ClaimOut:
    """One claim of the caller's tenant (404 for any other tenant's claim); with `as_of`, the
    fold of its events up to that time."""
    row = await handler.claim_row(principal.tenant, claim_id)
    if as_of is None:
        return await present(handler, row)
    until = as_of if as_of.tzinfo else as_of.replace(tzinfo=UTC)
    history = await handler.read_model.history(principal.tenant, claim_id, until)
    state = domain.fold(history)
    if state is None:
        raise NotFound(
            f"claim {claim_id} was not registered yet at {as_of}", title="Claim not found"
        )
    return await present(handler, row, state)


@router.get("", operation_id="listClaims", response_model=ClaimPage)
async def list_claims(
    principal: ReaderDep,
    handler: HandlerDep,
    debtor_id: str | None = None,
    status: domain.ClaimStatus | None = None,
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
    items = [await present(handler, row) for row in rows[:limit]]
    return ClaimPage(
        items=items, next_cursor=_encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    )


@dataclass(frozen=True)
class CommandCall:
    """What every command route needs: the writing tenant, the handler, and the request's
    correlation id and Idempotency-Key."""

    principal: Principal
    handler: ClaimsHandler
    request: Request
    correlation_id: uuid.UUID | None
    idempotency_key: str | None

    async def run(self, claim_id: uuid.UUID, command, body=None) -> ClaimOut:
        """Execute ``command`` on the claim; ``body`` fingerprints the Idempotency-Key."""
        idempotency = None
        if self.idempotency_key:
            payload = body.model_dump(mode="json") if body is not None else None
            idempotency = Idempotency(
                self.idempotency_key, fingerprint(self.request.url.path, payload)
            )
        row = await self.handler.execute(
            self.principal.tenant,
            claim_id,
            command,
            correlation_id=self.correlation_id,
            idempotency=idempotency,
        )
        return await present(self.handler, row)


async def _command_call(
    request: Request,
    principal: WriterDep,
    handler: HandlerDep,
    correlation_id: CorrelationDep = None,
    idempotency_key: IdempotencyKeyDep = None,
) -> CommandCall:
    return CommandCall(principal, handler, request, correlation_id, idempotency_key)


CommandDep = Annotated[CommandCall, Depends(_command_call)]


@router.patch(
    "/{claim_id}", operation_id="amendClaim", response_model=ClaimOut, responses=COMMAND_ERRORS
)
async def amend_claim(claim_id: uuid.UUID, body: AmendIn, call: CommandDep) -> ClaimOut:
    """Correct contact and reference fields (`ClaimAmended`); then `requalify`."""
    handler, tenant = call.handler, call.principal.tenant
    row = await handler.claim_row(tenant, claim_id)
    seal = await handler.sealer.sealer_for(account_key(tenant, row["debtor_id"]))
    command = domain.AmendClaim(
        contract_reference=body.contract_reference,
        purchase_order=body.purchase_order,
        description=body.description,
        contacts=None if body.contacts is None else sealed_contacts(seal, body.contacts),
        postal_address=sealed_address(seal, body.postal_address),
    )
    return await call.run(claim_id, command, body)


@router.post(
    "/{claim_id}/requalify",
    operation_id="requalifyClaim",
    response_model=ClaimOut,
    responses=COMMAND_ERRORS,
)
async def requalify_claim(claim_id: uuid.UUID, call: CommandDep) -> ClaimOut:
    """Check the claim again after a correction: `ClaimQualified` or `ClaimRejected`."""
    duplicate_of = await call.handler.duplicate_of(call.principal.tenant, claim_id)
    return await call.run(claim_id, RequalifyClaim(duplicate_of))


@router.post(
    "/{claim_id}/payments",
    operation_id="recordPayment",
    status_code=201,
    response_model=ClaimOut,
    responses=COMMAND_ERRORS,
)
async def record_payment(claim_id: uuid.UUID, body: PaymentIn, call: CommandDep) -> ClaimOut:
    """Record money received (may be back-dated). A payment that covers everything due
    settles the claim (`ClaimSettled`); on a closed claim, or beyond what is due, it is
    recorded as an overpayment, never refused. With an `Idempotency-Key`, a retry records
    nothing twice."""
    key = call.idempotency_key
    command = domain.RecordPayment(
        amount=Decimal(body.amount),
        currency=body.currency,
        received_on=body.received_on,
        reference=body.reference,
        method=body.method,
        payment_id=keyed_id(call.principal.tenant, "payment", key) if key else None,
    )
    return await call.run(claim_id, command, body)


@router.post(
    "/{claim_id}/payment-plan",
    operation_id="agreePaymentPlan",
    status_code=201,
    response_model=ClaimOut,
    responses=COMMAND_ERRORS,
)
async def agree_payment_plan(
    claim_id: uuid.UUID, body: PaymentPlanIn, call: CommandDep
) -> ClaimOut:
    """An échéancier: instalments whose amounts add up to the balance due today (422
    otherwise). A missed instalment (due date + grace days) is `InstallmentMissed`, a second
    one `PaymentPlanDefaulted`; late interest stops while the plan is respected (setting)."""
    command = domain.AgreePaymentPlan(
        installments=tuple(
            Installment(due_on=i.due_on, amount=Decimal(i.amount)) for i in body.installments
        ),
        grace_days=body.grace_days,
    )
    return await call.run(claim_id, command, body)


@router.post(
    "/{claim_id}/promises",
    operation_id="recordPromise",
    status_code=201,
    response_model=ClaimOut,
    responses=COMMAND_ERRORS,
)
async def record_promise(claim_id: uuid.UUID, body: PromiseIn, call: CommandDep) -> ClaimOut:
    """A promise to pay `amount` by `promised_on`; `PromiseBroken` when the date plus grace
    passes without the amount."""
    command = domain.RecordPromise(
        amount=Decimal(body.amount),
        promised_on=body.promised_on,
        source=body.source,
        grace_days=body.grace_days,
    )
    return await call.run(claim_id, command, body)


@router.post(
    "/{claim_id}/write-off",
    operation_id="writeOffClaim",
    response_model=ClaimOut,
    responses=COMMAND_ERRORS,
)
async def write_off_claim(claim_id: uuid.UUID, body: WriteOffIn, call: CommandDep) -> ClaimOut:
    """Stop recovery and write the balance off (`ClaimWrittenOff`)."""
    return await call.run(claim_id, WriteOffClaim(body.reason), body)


@router.post(
    "/{claim_id}/cancel",
    operation_id="cancelClaim",
    response_model=ClaimOut,
    responses=COMMAND_ERRORS,
)
async def cancel_claim(claim_id: uuid.UUID, body: CancelIn, call: CommandDep) -> ClaimOut:
    """The invoice is cancelled by a full credit note (`ClaimCancelled`)."""
    return await call.run(claim_id, CancelClaim(body.reason, body.credit_note_reference), body)


@router.post(
    "/{claim_id}/adjustments",
    operation_id="adjustClaim",
    status_code=201,
    response_model=ClaimOut,
    responses=COMMAND_ERRORS,
)
async def adjust_claim(claim_id: uuid.UUID, body: AdjustmentIn, call: CommandDep) -> ClaimOut:
    """A partial credit note reduces the principal (`ClaimAdjusted`)."""
    command = AdjustClaim(Decimal(body.amount), body.credit_note_reference, body.reason)
    return await call.run(claim_id, command, body)


@router.post(
    "/{claim_id}/acknowledgements",
    operation_id="recordAcknowledgement",
    status_code=201,
    response_model=ClaimOut,
    responses=COMMAND_ERRORS,
)
async def record_acknowledgement(
    claim_id: uuid.UUID, body: AcknowledgementIn, call: CommandDep
) -> ClaimOut:
    """The debtor acknowledged the debt in writing: the limitation period starts again
    (`DebtAcknowledged`)."""
    return await call.run(claim_id, AcknowledgeDebt(body.acknowledged_on, body.reference), body)


@router.get("/{claim_id}/amount-due", operation_id="getAmountDue", response_model=AmountDueOut)
async def get_amount_due(
    claim_id: uuid.UUID,
    principal: ReaderDep,
    handler: HandlerDep,
    as_of: Annotated[date | None, Query(description="Defaults to today")] = None,
) -> AmountDueOut:
    """Principal outstanding, statutory late interest and the fixed recovery fee, itemised,
    computed by replaying the claim's payments and credit notes by value date."""
    row = await handler.claim_row(principal.tenant, claim_id)
    claim = Claim.model_validate(row["state"])
    day = as_of or handler.clock.now().date()
    due = domain.amount_due(claim, day, handler.policy)
    law, law_source = domain.governing_law(claim, handler.policy)
    c = claim.currency
    return AmountDueOut(
        claim_id=claim.claim_id,
        as_of=day,
        currency=c,
        principal_outstanding=money(due.principal_outstanding, c),
        interest=money(due.interest, c),
        fixed_fee=money(due.fixed_fee, c),
        total=money(due.total, c),
        overpaid=money(due.overpaid, c),
        interest_accrued=money(due.interest_accrued, c),
        paid=money(due.paid, c),
        rule=due.rule,
        governing_law=law,
        governing_law_source=law_source,
        rule_entry=due.entry,
        rule_source=due.source,
        late_payment_terms=claim.late_payment_terms,
        lines=[
            DueLineOut(kind=line.kind, amount=money(line.amount, c), note=line.note)
            for line in due.lines
        ],
    )


@router.get("/{claim_id}/timeline", operation_id="getClaimTimeline", response_model=Timeline)
async def get_timeline(claim_id: uuid.UUID, principal: ReaderDep, handler: HandlerDep) -> Timeline:
    """Every event about the claim, from every service, in log order: the audit trail."""
    events = await handler.read_model.timeline(principal.tenant, claim_id)
    if not events:
        raise NotFound(f"no claim {claim_id} for this tenant", title="Claim not found")
    return Timeline(
        claim_id=claim_id,
        events=[
            TimelineEntry(
                event_id=e["event_id"],
                type=e["type"],
                time=e["time"],
                source=e["source"],
                summary=e["summary"],
                partition=e["partition"],
                offset=e["offset"],
                correlation_id=e["correlation_id"],
                causation_id=e["causation_id"],
            )
            for e in events
        ],
    )
