"""Compose a message from the account's state: the template context of one communication, then
its rendering. Pure: what the sender unsealed (``Personal``) and the day it writes on are
inputs.

A message states the claims of its group that are still open: one paid since it was queued
drops out, and when none is left there is nothing to write (``NothingToSay``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from amiable_communications.domain.context import (
    DisputeReceived,
    Installment,
    Invoice,
    MessageContext,
    NextStep,
    Promise,
)
from amiable_communications.domain.state import Account, ClaimFacts, Comm
from amiable_communications.domain.templates import Rendered, render
from amiable_events.communications import CreditorProfile
from amiable_events.ledger import Figures


class NothingToSay(ValueError):
    """None of the message's claims is open any more."""


@dataclass(frozen=True)
class Personal:
    """What the sender unsealed for this message; ``None`` when absent or erased."""

    contact_name: str | None = None
    address_lines: tuple[str, ...] = ()
    email: str | None = None
    phone: str | None = None


def compose(
    account: Account,
    comm: Comm,
    profile: CreditorProfile,
    figures: Figures,
    written_on: date,
    personal: Personal,
) -> MessageContext:
    claims = [c for c in (account.claim(i) for i in comm.claims) if c is not None and c.open]
    if not claims:
        raise NothingToSay(f"communication {comm.communication_id}: no open claim")
    leader = claims[0]
    formal = comm.template == "notice.formal"
    return MessageContext(
        debtor_name=account.legal_name or account.debtor_id,
        debtor_address=personal.address_lines,
        contact_name=personal.contact_name,
        contact_role=comm.contact_role,
        creditor=profile,
        currency=leader.ledger.currency,
        invoices=tuple(_invoice(c, comm, formal, figures, written_on) for c in claims),
        written_on=written_on,
        next_step=_next_step(leader, comm),
        payment_deadline=comm.payment_deadline,
        solution_first=comm.solution_first,
        disputed_amount=comm.disputed_amount or _disputed(leader),
        plan=_plan(leader),
        installment=_installment(leader, comm.installment),
        promise=None if leader.promise is None else Promise(**leader.promise.model_dump()),
        dispute=_dispute(leader),
    )


def write(
    account: Account,
    comm: Comm,
    profile: CreditorProfile,
    figures: Figures,
    written_on: date,
    personal: Personal,
) -> Rendered:
    """The message as it goes out, in the language and tone it was queued with."""
    context = compose(account, comm, profile, figures, written_on, personal)
    return render(comm.template, comm.language, comm.tone, context)


def _invoice(
    claim: ClaimFacts, comm: Comm, formal: bool, figures: Figures, written_on: date
) -> Invoice:
    ledger = claim.ledger
    itemised = None
    if formal:
        # The step's own figures for the claim that opened it (what dunning stated on its day);
        # the rest of the group is computed the same way, on the day the notice is written.
        own = comm.amount_due if claim.claim_id == comm.claim_id else None
        itemised = own or claim.ledger.itemised(written_on, figures)
    return Invoice(
        reference=ledger.invoice_number,
        issued_on=ledger.issued_on,
        due_on=ledger.due_on,
        amount=ledger.amount,
        outstanding=ledger.unpaid_principal,
        itemised=itemised,
    )


def _next_step(claim: ClaimFacts, comm: Comm) -> NextStep | None:
    step = next((s for s in claim.plan if s.at > comm.at), None)
    return None if step is None else NextStep(action=step.action, on=step.planned_on)


def _plan(claim: ClaimFacts) -> tuple[Installment, ...]:
    return tuple(
        Installment(number=n, amount=i.amount, due_on=i.due_on)
        for n, i in enumerate(claim.installments, start=1)
    )


def _installment(claim: ClaimFacts, index: int | None) -> Installment | None:
    """The plan's instalment a reminder is about (``index`` counts from 0, as dunning's)."""
    if index is None or not 0 <= index < len(claim.installments):
        return None
    chosen = claim.installments[index]
    return Installment(number=index + 1, amount=chosen.amount, due_on=chosen.due_on)


def _dispute(claim: ClaimFacts) -> DisputeReceived | None:
    if claim.dispute is None:
        return None
    return DisputeReceived(reference=claim.dispute.dispute_id, amount=claim.dispute.amount)


def _disputed(claim: ClaimFacts):
    return None if claim.dispute is None else claim.dispute.amount
