"""What a message needs to be written: the debtor, the invoices and what is owed on them, the
next step, the creditor's profile, and the facts of a confirmation.

One model for every template: a dunning step (``DunningStepDue``) fills the invoices of its
group, the itemised amount of a formal notice and its deadline; a confirmation fills the
agreement it confirms. ``templates.REQUIRED`` says which optional part each key needs.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from amiable_events.base import Amount, CurrencyCode
from amiable_events.communications import CreditorProfile
from amiable_events.dunning import Action, AmountDue


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Invoice(_Part):
    reference: str = Field(min_length=1, max_length=100)
    issued_on: date
    due_on: date
    amount: Amount = Field(description="As invoiced")
    outstanding: Amount = Field(description="Still unpaid")
    itemised: AmountDue | None = Field(
        None, description="Formal notice: principal, interest and fee owed on its day"
    )


class NextStep(_Part):
    """What happens if nothing changes, and when: stated in every reminder, never hidden."""

    action: Action
    on: date


class Installment(_Part):
    number: int = Field(ge=1)
    amount: Amount
    due_on: date


class Remission(_Part):
    """Part of the debt forgiven if the rest is paid by ``pay_by``."""

    forgiven: Amount
    pay_by: date


class Promise(_Part):
    amount: Amount
    on: date


class DisputeReceived(_Part):
    reference: str = Field(min_length=1, max_length=100)
    amount: Amount | None = Field(None, description="The part contested; None: all of it")


class MessageContext(_Part):
    debtor_name: str = Field(min_length=1, max_length=200)
    debtor_address: tuple[str, ...] = Field((), description="A letter's and a notice's")
    contact_name: str | None = Field(None, description="The person addressed, when known")
    contact_role: str = Field("accounts_payable", description="management: the decision maker")
    creditor: CreditorProfile
    currency: CurrencyCode
    invoices: tuple[Invoice, ...] = Field(
        min_length=1, description="Every claim of the consolidation group, the leader first"
    )
    written_on: date = Field(description="The letter's date: the service's clock, never ours")
    next_step: NextStep | None = None
    payment_deadline: date | None = None
    solution_first: bool = Field(False, description="Open with the way out (US)")
    disputed_amount: Amount | None = Field(
        None, description="Under a partial dispute: the part contested, which is not claimed"
    )
    plan: tuple[Installment, ...] = Field((), description="A plan offered or agreed")
    installment: Installment | None = None
    remission: Remission | None = None
    promise: Promise | None = None
    dispute: DisputeReceived | None = None

    @model_validator(mode="after")
    def _one_currency(self) -> MessageContext:
        for invoice in self.invoices:
            if invoice.itemised is not None and invoice.itemised.currency != self.currency:
                raise ValueError(
                    f"invoice {invoice.reference}: itemised in {invoice.itemised.currency}, "
                    f"the message is in {self.currency}"
                )
        return self

    @property
    def total_outstanding(self) -> Decimal:
        return sum((invoice.outstanding for invoice in self.invoices), Decimal(0))

    @property
    def amount_requested(self) -> Decimal:
        """What a reminder asks for: the outstanding amounts less the part under dispute."""
        return self.total_outstanding - (self.disputed_amount or Decimal(0))

    @property
    def remission_percent(self) -> Decimal:
        """The share of the requested amount a remission forgives, in points (2 decimals)."""
        if self.remission is None or not self.amount_requested:
            return Decimal(0)
        share = self.remission.forgiven * 100 / self.amount_requested
        return share.quantize(Decimal("0.01"))

    @property
    def total_claimed(self) -> Decimal:
        """What a formal notice claims: the itemised totals (principal, interest, fee)."""
        return sum(
            (invoice.itemised.total for invoice in self.invoices if invoice.itemised),
            Decimal(0),
        )
