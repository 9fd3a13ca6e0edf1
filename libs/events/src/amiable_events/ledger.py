"""What is owed on a claim, for a service that reads the claim log but does not own the claim
(disputes, dunning, communications): the claim's money facts folded from the claims events (and
its status, which dunning's ``ClaimEscalated`` moves too), and the amount due computed from them
with the shared rules (``amiable_rules.late_fees``), as the claims service computes it.

The fold is pure and total: an event about a claim it has not seen registered changes nothing.
The settings that change the figures (``amiable_events.settings.FigureSettings``) are the claims
service's, by the same names, so one deployment setting gives every service the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import singledispatch
from typing import Literal

from pydantic import BaseModel, ConfigDict

from amiable_events.claims import (
    ClaimAdjusted,
    ClaimCancelled,
    ClaimQualified,
    ClaimRegistered,
    ClaimRejected,
    ClaimSettled,
    ClaimWrittenOff,
    FixedFeeWaived,
    LatePaymentTerms,
    PaymentPlanAgreed,
    PaymentPlanDefaulted,
    PaymentReceived,
)
from amiable_events.dunning import AmountDue as Itemised
from amiable_events.dunning import ClaimEscalated, DueLine
from amiable_rules.governing_law import GoverningLaws
from amiable_rules.late_fees import (
    Allocation,
    AmountDue,
    LateFeeRules,
    Movement,
    Suspension,
    Terms,
    amount_due,
    open_principal,
)

#: ``escalated``: handed over to litigation (dunning's ``ClaimEscalated``): chased no more, but
#: not closed, the money is still owed.
LedgerStatus = Literal[
    "registered", "qualified", "rejected", "escalated", "settled", "written_off", "cancelled"
]
CLOSED = frozenset({"settled", "written_off", "cancelled"})


@dataclass(frozen=True)
class Figures:
    """The rules that compute what is owed, as data."""

    late_fees: LateFeeRules
    governing_laws: GoverningLaws
    allocation: Allocation = "fees_interest_first"
    suspend_interest_on_respected_plan: bool = True

    @classmethod
    def from_settings(cls, settings) -> Figures:
        """From a service's :class:`amiable_events.settings.FigureSettings`."""
        return cls(
            late_fees=LateFeeRules.load(),
            governing_laws=GoverningLaws(
                default=settings.default_governing_law,
                by_tenant=settings.tenant_governing_law,
            ),
            allocation=settings.payment_allocation,
            suspend_interest_on_respected_plan=settings.suspend_interest_on_respected_plan,
        )


class _Fact(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Move(_Fact):
    on: date
    kind: Literal["payment", "credit"]
    amount: Decimal
    ref: str  # a payment id or a credit note reference


class ClaimLedger(_Fact):
    """One claim's money facts, and where and when its debtor is."""

    claim_id: str
    tenant: str
    debtor_id: str
    invoice_number: str
    amount: Decimal
    currency: str
    issued_on: date
    due_on: date
    country: str
    timezone: str
    language: str
    status: LedgerStatus = "registered"
    governing_law: str | None = None
    late_payment_terms: LatePaymentTerms | None = None
    moves: tuple[Move, ...] = ()
    plan_id: str | None = None
    plan_agreed_on: date | None = None
    plan_grace_days: int = 0
    #: The day interest runs again: the missed instalment's last day of grace, plus one
    plan_defaulted_on: date | None = None
    fee_waived_from: date | None = None

    @property
    def closed(self) -> bool:
        return self.status in CLOSED

    def movements(self) -> list[Movement]:
        return [Movement(m.on, m.kind, m.amount) for m in self.moves]

    @property
    def unpaid_principal(self) -> Decimal:
        return open_principal(
            principal=self.amount, currency=self.currency, movements=self.movements()
        )

    def amount_due(self, as_of: date, figures: Figures) -> AmountDue:
        """What is owed at the end of ``as_of``, itemised, as claims computes it."""
        law, _ = figures.governing_laws.choose(self.tenant, self.governing_law)
        terms = None if self.late_payment_terms is None else self.late_payment_terms.model_dump()
        suspensions = []
        if figures.suspend_interest_on_respected_plan and self.plan_agreed_on is not None:
            end = self.plan_defaulted_on - timedelta(days=1) if self.plan_defaulted_on else None
            suspensions.append(Suspension(self.plan_agreed_on, end))
        return amount_due(
            principal=self.amount,
            currency=self.currency,
            due_on=self.due_on,
            movements=self.movements(),
            as_of=as_of,
            rule=figures.late_fees.resolve(law, Terms.from_mapping(terms)),
            allocation=figures.allocation,
            suspensions=suspensions,
            fee_waived_from=self.fee_waived_from,
        )

    def itemised(self, as_of: date, figures: Figures) -> Itemised:
        """:meth:`amount_due` as events state it (a formal notice's amount, on its day)."""
        due = self.amount_due(as_of, figures)
        return Itemised(
            as_of=due.as_of,
            currency=due.currency,
            principal_outstanding=due.principal_outstanding,
            interest=due.interest,
            fixed_fee=due.fixed_fee,
            total=due.total,
            rule=due.rule,
            lines=tuple(DueLine(kind=x.kind, amount=x.amount, note=x.note) for x in due.lines),
        )


def fold(ledger: ClaimLedger | None, event: object, tenant: str) -> ClaimLedger | None:
    """The ledger after one more event of its claim (any other event changes nothing)."""
    if isinstance(event, ClaimRegistered):
        return ledger or _registered(event, tenant)
    if ledger is None:
        return None
    return _fold(event, ledger)


def _registered(event: ClaimRegistered, tenant: str) -> ClaimLedger:
    return ClaimLedger(
        claim_id=str(event.claim_id),
        tenant=tenant,
        debtor_id=event.debtor.id,
        invoice_number=event.invoice_number,
        amount=event.amount,
        currency=event.currency,
        issued_on=event.issued_on,
        due_on=event.due_on,
        country=event.debtor.country,
        timezone=event.debtor.timezone,
        language=event.debtor.language,
        governing_law=event.governing_law,
        late_payment_terms=event.late_payment_terms,
    )


@singledispatch
def _fold(event: object, ledger: ClaimLedger) -> ClaimLedger:
    return ledger


#: The events that only move a claim's status (a closed claim's status never moves again, and an
#: escalated one only to closed), as the claims service folds them
STATUS_OF: dict[type, LedgerStatus] = {
    ClaimQualified: "qualified",
    ClaimRejected: "rejected",
    ClaimEscalated: "escalated",
    ClaimSettled: "settled",
    ClaimWrittenOff: "written_off",
    ClaimCancelled: "cancelled",
}


def _status(event: object, ledger: ClaimLedger) -> ClaimLedger:
    status = STATUS_OF[type(event)]
    if ledger.closed or (ledger.status == "escalated" and status not in CLOSED):
        return ledger
    return ledger.model_copy(update={"status": status})


for _kind in STATUS_OF:
    _fold.register(_kind, _status)


def _move(ledger: ClaimLedger, move: Move) -> ClaimLedger:
    # A payment's id is its natural key (a redelivered payment adds nothing, as in claims).
    if move.kind == "payment" and any(m.ref == move.ref for m in ledger.moves):
        return ledger
    return ledger.model_copy(update={"moves": (*ledger.moves, move)})


@_fold.register
def _(event: PaymentReceived, ledger):
    return _move(
        ledger,
        Move(on=event.received_on, kind="payment", amount=event.amount, ref=str(event.payment_id)),
    )


@_fold.register
def _(event: ClaimAdjusted, ledger):
    return _move(
        ledger,
        Move(
            on=event.adjusted_on,
            kind="credit",
            amount=event.amount,
            ref=event.credit_note_reference,
        ),
    )


@_fold.register
def _(event: PaymentPlanAgreed, ledger):
    return ledger.model_copy(
        update={
            "plan_id": str(event.plan_id),
            "plan_agreed_on": event.agreed_on,
            "plan_grace_days": event.grace_days,
            "plan_defaulted_on": None,
        }
    )


@_fold.register
def _(event: PaymentPlanDefaulted, ledger):
    # The default of a plan a later one replaced (a late timer of it) ends nothing, as in claims.
    if ledger.plan_id != str(event.plan_id) or ledger.plan_defaulted_on is not None:
        return ledger
    grace = timedelta(days=ledger.plan_grace_days + 1)
    return ledger.model_copy(update={"plan_defaulted_on": event.due_on + grace})


@_fold.register
def _(event: FixedFeeWaived, ledger):
    if ledger.fee_waived_from is not None and ledger.fee_waived_from <= event.waived_from:
        return ledger
    return ledger.model_copy(update={"fee_waived_from": event.waived_from})


#: The events the ledger folds: a consumer reads its claim's file for these and skips the rest.
FOLDED: frozenset[type] = frozenset({ClaimRegistered, *_fold.registry}) - {object}
