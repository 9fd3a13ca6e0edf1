"""Claims HTTP API. A route builds a command and hands it to the handler; no SQL, no rule."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Response

from amiable_claims.adapters.read_model import ClaimRecord
from amiable_claims.api.deps import CommandDep, HandlerDep, ReaderDep, WriterDep
from amiable_claims.api.models import (
    AcknowledgementIn,
    AdjustmentIn,
    AmendIn,
    AmountDueOut,
    CancelIn,
    ClaimIn,
    ClaimOut,
    ClaimPage,
    DueLineOut,
    PaymentIn,
    PaymentPlanIn,
    PromiseIn,
    Timeline,
    TimelineEntry,
    WriteOffIn,
)
from amiable_claims.api.views import money, present
from amiable_claims.app.handlers import (
    Registrations,
    sealed_address,
    sealed_contacts,
    sealed_text,
)
from amiable_claims.domain.commands import (
    AcknowledgeDebt,
    AdjustClaim,
    AgreePaymentPlan,
    AmendClaim,
    CancelClaim,
    RecordPayment,
    RecordPromise,
    RequalifyClaim,
    WriteOffClaim,
)
from amiable_claims.domain.evolve import fold
from amiable_claims.domain.figures import (
    amount_due,
    governing_law,
)
from amiable_claims.domain.state import ClaimStatus
from amiable_claims.domain.timeline import FREE_TEXT_BY_TYPE
from amiable_events.claims import Installment
from amiable_events.cursors import CURSOR, decode_cursor, encode_cursor
from amiable_events.envelope import account_key
from amiable_events.errors import NotFound
from amiable_events.http import CorrelationDep, IdempotencyKeyDep
from amiable_events.inputs import BoundedDate, BoundedDateTime, Text


def _encode_cursor(record: ClaimRecord) -> str:
    return encode_cursor(record.claim.registered_at, record.claim_id)


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
    record, created = await Registrations(handler).register(
        principal.tenant, body, idempotency_key, correlation_id or uuid.uuid4()
    )
    response.headers["Location"] = f"{router.prefix}/{record.claim_id}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return await present(handler, record)


@router.get("/{claim_id}", operation_id="getClaim", response_model=ClaimOut)
async def get_claim(
    claim_id: uuid.UUID,
    principal: ReaderDep,
    handler: HandlerDep,
    as_of: Annotated[
        BoundedDateTime | None,
        Query(description="The claim as it was at this time (ISO 8601; UTC without an offset)"),
    ] = None,
) -> ClaimOut:
    """One claim of the caller's tenant (404 for any other tenant's claim); with `as_of`, the
    fold of its events up to that time."""
    record = await handler.claim_record(principal.tenant, claim_id)
    if as_of is None:
        return await present(handler, record)
    history = await handler.read_model.history(principal.tenant, claim_id, as_of)
    state = fold(history)
    if state is None:
        raise NotFound(
            f"claim {claim_id} was not registered yet at {as_of}", title="Claim not found"
        )
    return await present(handler, record, state)


@router.get("", operation_id="listClaims", response_model=ClaimPage)
async def list_claims(
    principal: ReaderDep,
    handler: HandlerDep,
    debtor_id: Text(100) | None = None,
    status: ClaimStatus | None = None,
    cursor: Annotated[
        str | None,
        Query(pattern=CURSOR, description="The `next_cursor` of the previous page"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ClaimPage:
    """The tenant's claims in registration order, filtered, one page at a time."""
    records = await handler.read_model.page(
        principal.tenant,
        debtor_id=debtor_id,
        status=status,
        after=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    items = [await present(handler, record) for record in records[:limit]]
    more = len(records) > limit
    return ClaimPage(items=items, next_cursor=_encode_cursor(records[limit - 1]) if more else None)


@router.patch(
    "/{claim_id}", operation_id="amendClaim", response_model=ClaimOut, responses=COMMAND_ERRORS
)
async def amend_claim(claim_id: uuid.UUID, body: AmendIn, call: CommandDep) -> ClaimOut:
    """Correct contact and reference fields (`ClaimAmended`); then `requalify`."""
    seal = await call.seal(claim_id)
    command = AmendClaim(
        contract_reference=body.contract_reference,
        purchase_order=body.purchase_order,
        description=sealed_text(seal, body.description),
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
    duplicate_of = await call.handler.duplicate_of(call.tenant, claim_id)
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
    recorded as an overpayment, never refused. A retry records nothing twice: the payment is
    named by its `Idempotency-Key`, or without one by its amount, currency, date, method and
    reference, so two identical payments without reference on one day need two keys."""
    command = RecordPayment(
        amount=Decimal(body.amount),
        currency=body.currency,
        received_on=body.received_on,
        reference=body.reference,
        method=body.method,
        idempotency_key=call.command.idempotency_key,
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
    command = AgreePaymentPlan(
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
    command = RecordPromise(
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
    """Stop recovery and write the balance off (`ClaimWrittenOff`). The reason is free text
    that may name a person: sealed with the debtor's key. Again on a written-off claim: a
    replay."""
    seal = await call.seal(claim_id)
    return await call.run(claim_id, WriteOffClaim(seal(body.reason)), body)


@router.post(
    "/{claim_id}/cancel",
    operation_id="cancelClaim",
    response_model=ClaimOut,
    responses=COMMAND_ERRORS,
)
async def cancel_claim(claim_id: uuid.UUID, body: CancelIn, call: CommandDep) -> ClaimOut:
    """The invoice is cancelled by a full credit note (`ClaimCancelled`). The reason is
    sealed like personal data. Again on a cancelled claim: a replay."""
    seal = await call.seal(claim_id)
    command = CancelClaim(seal(body.reason), body.credit_note_reference)
    return await call.run(claim_id, command, body)


@router.post(
    "/{claim_id}/adjustments",
    operation_id="adjustClaim",
    status_code=201,
    response_model=ClaimOut,
    responses=COMMAND_ERRORS,
)
async def adjust_claim(claim_id: uuid.UUID, body: AdjustmentIn, call: CommandDep) -> ClaimOut:
    """A partial credit note reduces the principal (`ClaimAdjusted`); its reason is sealed
    like personal data. One credit per credit-note reference: the same one again is a replay,
    with another amount a 409."""
    seal = await call.seal(claim_id)
    reason = sealed_text(seal, body.reason)
    command = AdjustClaim(Decimal(body.amount), body.credit_note_reference, reason)
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
    (`DebtAcknowledged`). The reference is free text that may name a person: sealed. One
    acknowledgement counts per day: another on the same day is a replay."""
    seal = await call.seal(claim_id)
    command = AcknowledgeDebt(body.acknowledged_on, sealed_text(seal, body.reference))
    return await call.run(claim_id, command, body)


@router.get("/{claim_id}/amount-due", operation_id="getAmountDue", response_model=AmountDueOut)
async def get_amount_due(
    claim_id: uuid.UUID,
    principal: ReaderDep,
    handler: HandlerDep,
    as_of: Annotated[BoundedDate | None, Query(description="Defaults to today")] = None,
) -> AmountDueOut:
    """Principal outstanding, statutory late interest and the fixed recovery fee, itemised,
    computed by replaying the claim's payments and credit notes by value date."""
    claim = (await handler.claim_record(principal.tenant, claim_id)).claim
    day = as_of or handler.clock.now().date()
    # Replaying the payments against the rate table, period by period: off the event loop.
    due = await asyncio.to_thread(amount_due, claim, day, handler.policy)
    law, law_source = governing_law(claim, handler.policy)
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
    account = account_key(principal.tenant, events[0]["debtor_id"])
    text = await handler.sealer.text_opener_for(account)
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
                actor=e["actor"],
                free_text={
                    name: text(e["payload"][name])
                    for name in FREE_TEXT_BY_TYPE.get(e["type"], ())
                    if e["payload"].get(name) is not None
                },
            )
            for e in events
        ],
    )
