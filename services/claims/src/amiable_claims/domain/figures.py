"""Figures derived from a claim's state: what is owed (through ``amiable_rules``), the
limitation dates, which instalments and promises are kept. Never stored: a back-dated payment
changes every later figure.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from amiable_claims.domain.state import Claim, Policy, PromiseState, movements
from amiable_events.claims import LatePaymentTerms
from amiable_rules import limitation
from amiable_rules.governing_law import GoverningLawSource
from amiable_rules.late_fees import (
    AmountDue,
    LateRule,
    Suspension,
    Terms,
)
from amiable_rules.late_fees import amount_due as statutory_amount_due
from amiable_rules.limitation import LimitationRule


def suspensions(claim: Claim, policy: Policy) -> list[Suspension]:
    """Interest does not run while a payment plan is respected (a setting)."""
    if not policy.suspend_interest_on_respected_plan or claim.plan is None:
        return []
    end = claim.plan.defaulted_on - timedelta(days=1) if claim.plan.defaulted_on else None
    return [Suspension(claim.plan.agreed_on, end)]


def governing_law(claim: Claim, policy: Policy) -> tuple[str, GoverningLawSource]:
    """The law recorded when the claim was registered, and where it came from; for a claim
    registered before laws were recorded, what its tenant's settings give now."""
    if claim.governing_law is not None:
        return claim.governing_law, claim.governing_law_source or "claim"
    return policy.governing_laws.choose(claim.tenant, None)


def contract_terms(terms: LatePaymentTerms | None) -> Terms | None:
    """The event's late-payment terms as the rules read them."""
    return Terms.from_mapping(None if terms is None else terms.model_dump())


def late_rule(claim: Claim, policy: Policy) -> LateRule:
    """The late-payment rule of the claim: its governing law's, with its contract's terms."""
    law, _ = governing_law(claim, policy)
    return policy.late_fees.resolve(law, contract_terms(claim.late_payment_terms))


def amount_due(claim: Claim, as_of: date, policy: Policy) -> AmountDue:
    return statutory_amount_due(
        principal=claim.amount,
        currency=claim.currency,
        due_on=claim.due_on,
        movements=movements(claim),
        as_of=as_of,
        rule=late_rule(claim, policy),
        allocation=policy.allocation,
        suspensions=suspensions(claim, policy),
        fee_waived_from=claim.fixed_fee_waived_from,
    )


def limitation_rule(claim: Claim, policy: Policy) -> LimitationRule:
    return policy.limitation.for_law(governing_law(claim, policy)[0])


def prescription_date(claim: Claim, policy: Policy) -> date:
    """Due date (or the last interrupting event) plus the limitation period."""
    return limitation.prescription_date(
        limitation_rule(claim, policy),
        due_on=claim.due_on,
        acknowledgements=claim.acknowledgements,
        payments=[p.received_on for p in claim.payments],
        payment_plans=[claim.plan.agreed_on] if claim.plan is not None else [],
    )


def limitation_warning_on(claim: Claim, policy: Policy, prescription: date | None = None) -> date:
    """When to warn that the claim nears its ``prescription`` date (computed when not given)."""
    rule = limitation_rule(claim, policy)
    return limitation.warning_date(rule, prescription or prescription_date(claim, policy))


def installments_paid(claim: Claim) -> list[bool]:
    """Each instalment is paid once the payments received since the plan's agreement cover it
    and every earlier one (payments fill instalments in order)."""
    if claim.plan is None:
        return []
    received = sum(
        (p.amount for p in claim.payments if p.received_on >= claim.plan.agreed_on), Decimal(0)
    )
    paid, cumulative = [], Decimal(0)
    for installment in claim.plan.installments:
        cumulative += installment.amount
        paid.append(received >= cumulative)
    return paid


def promise_kept(claim: Claim, promise: PromiseState) -> bool:
    try:
        last_day = promise.promised_on + timedelta(days=promise.grace_days)
    except OverflowError:  # a promise dated near 9999 on the log: its grace never ends
        last_day = date.max
    received = sum(
        (p.amount for p in claim.payments if promise.recorded_on <= p.received_on <= last_day),
        Decimal(0),
    )
    return received >= promise.amount
