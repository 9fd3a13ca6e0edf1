"""``evolve(claim, envelope) -> claim``: the fold of a claim's events, a ``singledispatch`` on the
event type. Total: any order of events yields a valid claim (a payment after closure is an
overpayment, not an exception), because Kafka cannot stop two writers from appending.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from functools import singledispatch
from uuid import UUID

from amiable_claims.domain.costs import share
from amiable_claims.domain.figures import promise_kept
from amiable_claims.domain.state import (
    Claim,
    CreditFact,
    PaymentFact,
    PlanState,
    PromiseState,
    reachable_contacts,
)
from amiable_events.claims import (
    ClaimAdjusted,
    ClaimAmended,
    ClaimCancelled,
    ClaimQualified,
    ClaimRegistered,
    ClaimRejected,
    ClaimSettled,
    ClaimWrittenOff,
    DebtAcknowledged,
    FixedFeeWaived,
    InstallmentMissed,
    LimitationApproaching,
    PaymentPlanAgreed,
    PaymentPlanDefaulted,
    PaymentReceived,
    PromiseBroken,
    PromiseToPayRecorded,
)
from amiable_events.communications import CommunicationSent
from amiable_events.disputes import DisputeOpened
from amiable_events.dunning import ClaimEscalated
from amiable_events.envelope import Envelope


def evolve(state: Claim | None, envelope: Envelope) -> Claim | None:
    return _evolve(envelope.data, state, envelope)


def fold(envelopes: Sequence[Envelope]) -> Claim | None:
    state = None
    for envelope in envelopes:
        state = evolve(state, envelope)
    return state


def with_event(claim: Claim, event) -> Claim:
    """Fold a just-decided event (no envelope yet) to see its consequences."""
    return _evolve(event, claim, None)


@singledispatch
def _evolve(event: object, state: Claim | None, envelope: Envelope | None) -> Claim | None:
    """Events this context does not fold (other services') leave the claim as it is."""
    return state


def claim_registered(event: ClaimRegistered, state: Claim | None, tenant: str, debtor_id: str):
    if state is not None:
        return state  # a second registration of the same claim id changes nothing
    return Claim(
        claim_id=event.claim_id,
        tenant=tenant,
        debtor_id=debtor_id,
        invoice_number=event.invoice_number,
        amount=event.amount,
        currency=event.currency,
        issued_on=event.issued_on,
        due_on=event.due_on,
        country=event.debtor.country,
        reachable_contacts=reachable_contacts(event.debtor.contacts, event.debtor.postal_address),
        status="registered",
        registered_at=event.registered_at,
        governing_law=event.governing_law,
        governing_law_source=event.governing_law_source,
        late_payment_terms=event.late_payment_terms,
        timezone=event.debtor.timezone,
    )


@_evolve.register
def _(event: ClaimRegistered, state, envelope):
    return claim_registered(event, state, envelope.tenant, envelope.debtor_id)


@_evolve.register
def _(event: ClaimQualified, state, envelope):
    # A handoff to litigation is a person's decision that a requalification does not undo.
    if state is None or state.closed or state.status == "escalated":
        return state
    return state.model_copy(
        update={"status": "qualified", "rejection_reasons": (), "duplicate_of": None}
    )


@_evolve.register
def _(event: ClaimRejected, state, envelope):
    if state is None or state.closed or state.status == "escalated":
        return state
    return state.model_copy(
        update={
            "status": "rejected",
            "rejection_reasons": tuple(event.reasons),
            "duplicate_of": event.duplicate_of,
        }
    )


@_evolve.register
def _(event: ClaimAmended, state, envelope):
    if state is None or (event.contacts is None and event.postal_address is None):
        return state
    contacts = event.contacts if event.contacts is not None else ()
    # an amendment names the contacts and address as they are now
    reachable = (
        reachable_contacts(contacts, event.postal_address)
        if event.contacts is not None
        else (state.reachable_contacts + (1 if event.postal_address else 0))
    )
    return state.model_copy(update={"reachable_contacts": reachable})


@_evolve.register
def _(event: PaymentReceived, state, envelope):
    if state is None:
        return state
    payment = PaymentFact(
        payment_id=event.payment_id, amount=event.amount, received_on=event.received_on
    )
    if any(p.payment_id == event.payment_id for p in state.payments):
        return state
    claim = state.model_copy(update={"payments": (*state.payments, payment)})
    promises = tuple(
        p.model_copy(update={"state": "kept"})
        if p.state == "open" and promise_kept(claim, p)
        else p
        for p in claim.promises
    )
    return claim.model_copy(update={"promises": promises})


@_evolve.register
def _(event: ClaimSettled, state, envelope):
    if state is None or state.closed:
        return state
    return state.model_copy(
        update={"status": "settled", "closed_on": event.settled_on, "close_reason": "paid"}
    )


@_evolve.register
def _(event: PaymentPlanAgreed, state, envelope):
    if state is None:
        return state
    plan = PlanState(
        plan_id=event.plan_id,
        agreed_on=event.agreed_on,
        installments=event.installments,
        grace_days=event.grace_days,
    )
    return state.model_copy(update={"plan": plan})


def _missed(state: Claim | None, plan_id: UUID, index: int, defaulted_on: date | None):
    if state is None or state.plan is None or state.plan.plan_id != plan_id:
        return state
    missed = tuple(sorted({*state.plan.missed, index}))
    update = {"missed": missed}
    if defaulted_on is not None and state.plan.defaulted_on is None:
        update["defaulted_on"] = defaulted_on
    return state.model_copy(update={"plan": state.plan.model_copy(update=update)})


@_evolve.register
def _(event: InstallmentMissed, state, envelope):
    return _missed(state, event.plan_id, event.installment, None)


@_evolve.register
def _(event: PaymentPlanDefaulted, state, envelope):
    if state is None or state.plan is None:
        return state
    grace = timedelta(days=state.plan.grace_days + 1)
    return _missed(state, event.plan_id, event.installment, event.due_on + grace)


@_evolve.register
def _(event: PromiseToPayRecorded, state, envelope):
    if state is None or any(p.promise_id == event.promise_id for p in state.promises):
        return state
    promise = PromiseState(
        promise_id=event.promise_id,
        amount=event.amount,
        promised_on=event.promised_on,
        grace_days=event.grace_days,
        recorded_on=event.recorded_at.date(),
    )
    return state.model_copy(update={"promises": (*state.promises, promise)})


@_evolve.register
def _(event: PromiseBroken, state, envelope):
    if state is None:
        return state
    promises = tuple(
        p.model_copy(update={"state": "broken"}) if p.promise_id == event.promise_id else p
        for p in state.promises
    )
    return state.model_copy(update={"promises": promises})


@_evolve.register
def _(event: ClaimWrittenOff, state, envelope):
    if state is None or state.closed:
        return state
    return state.model_copy(
        update={
            "status": "written_off",
            "closed_on": event.written_off_at.date(),
            "close_reason": event.reason,
        }
    )


@_evolve.register
def _(event: ClaimCancelled, state, envelope):
    if state is None or state.closed:
        return state
    return state.model_copy(
        update={
            "status": "cancelled",
            "closed_on": event.cancelled_at.date(),
            "close_reason": event.reason,
        }
    )


@_evolve.register
def _(event: ClaimAdjusted, state, envelope):
    if state is None:
        return state
    credit = CreditFact(
        on=event.adjusted_on, amount=event.amount, credit_note_reference=event.credit_note_reference
    )
    return state.model_copy(update={"credits": (*state.credits, credit)})


@_evolve.register
def _(event: DebtAcknowledged, state, envelope):
    if state is None or event.acknowledged_on in state.acknowledgements:
        return state
    return state.model_copy(
        update={"acknowledgements": (*state.acknowledgements, event.acknowledged_on)}
    )


@_evolve.register
def _(event: LimitationApproaching, state, envelope):
    if state is None:
        return state
    return state.model_copy(update={"limitation_warned_for": event.prescription_date})


@_evolve.register
def _(event: FixedFeeWaived, state, envelope):
    if state is None:
        return state
    # a second waiver (another proceeding recorded) never brings back a fee the first removed
    current = state.fixed_fee_waived_from
    waived_from = event.waived_from if current is None else min(current, event.waived_from)
    return state.model_copy(update={"fixed_fee_waived_from": waived_from})


@_evolve.register
def _(event: DisputeOpened, state, envelope):
    # The dispute rate counts a claim once, on the day and for the reason it was first disputed.
    if state is None or state.disputed_on is not None:
        return state
    return state.model_copy(
        update={"disputed_on": state.local_date(event.opened_at), "dispute_reason": event.reason}
    )


@_evolve.register
def _(event: ClaimEscalated, state, envelope):
    # Dunning's: a claim closed before the handoff reached the log stays closed.
    if state is None or state.closed:
        return state
    if state.status == "escalated":
        return state  # the first handoff dates it; a redelivered one adds nothing
    return state.model_copy(
        update={"status": "escalated", "escalated_on": state.local_date(event.escalated_at)}
    )


@_evolve.register
def _(event: CommunicationSent, state, envelope):
    # Communications': the message's share of its cost, on each claim it was about
    # (``domain.costs``); the projector gives it to each of them.
    if state is None:
        return state
    cost = share(event, state.claim_id, state.currency)
    if not cost:
        return state
    return state.model_copy(update={"recovery_cost": state.recovery_cost + cost})
