"""The API views of a claim: amounts in the currency's precision, personal data opened with
the debtor's key."""

from __future__ import annotations

from decimal import Decimal

import orjson

from amiable_claims.adapters.read_model import ClaimRecord
from amiable_claims.api.models import (
    ClaimOut,
    ContactOut,
    CreditOut,
    DebtorOut,
    InstallmentOut,
    PaymentOut,
    PlanOut,
    PromiseOut,
)
from amiable_claims.app.handlers import ClaimsHandler
from amiable_claims.domain.figures import (
    installments_paid,
    prescription_date,
)
from amiable_claims.domain.state import Claim
from amiable_events.personal import ERASED
from amiable_rules import money as amiable_money


def money(value: Decimal, currency: str) -> str:
    return str(amiable_money.quantize(value, currency))


async def present(
    handler: ClaimsHandler, record: ClaimRecord, state: Claim | None = None
) -> ClaimOut:
    """The API view of a claim, personal data opened with the debtor's key. ``state`` replaces
    the current one (a claim as it was at some time)."""
    claim = state or record.claim
    debtor = record.debtor
    opened = await handler.sealer.opener_for(record.account)
    text = await handler.sealer.text_opener_for(record.account)
    address = opened(debtor.get("postal_address"))
    if address not in (None, ERASED):
        address = orjson.loads(address)
    currency = claim.currency
    paid_flags = installments_paid(claim)
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
        close_reason=text(claim.close_reason),
        escalated_on=claim.escalated_on,
        prescription_date=prescription_date(claim, handler.policy),
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
        recovery_cost=money(claim.recovery_cost, currency),
        contract_reference=record.contract_reference,
        purchase_order=record.purchase_order,
        description=text(record.description),
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
                    role=text(contact.get("role_sealed") or contact.get("role")),
                )
                for contact in debtor.get("contacts", [])
            ],
            postal_address=address,
        ),
    )
