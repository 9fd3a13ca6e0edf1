"""Givens for the claims service's tests: a policy, commands, and claims folded from events."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

from amiable_claims.domain import Claim, Policy, RegisterClaim, decide_registration, fold
from amiable_claims.late_fees import LateFeeRules
from amiable_events.claims import Contact, Debtor
from amiable_events.envelope import Envelope
from amiable_events.ids import seeded_ids

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
POLICY = Policy(late_fees=LateFeeRules.load())
DEBTOR = Debtor(
    id="C-42",
    legal_name="Durand SAS",
    registration_id="732829320",
    country="FR",
    language="fr-FR",
    timezone="Europe/Paris",
    contacts=(Contact(email="pii:v1:sealed-email", role="accounts payable"),),
)


def register_command(**changes) -> RegisterClaim:
    values = dict(
        tenant="acme",
        invoice_number="INV-1",
        amount=Decimal("1250.00"),
        currency="EUR",
        issued_on=date(2026, 10, 1),
        due_on=date(2026, 10, 31),
        debtor=DEBTOR,
    )
    values.update(changes)
    return RegisterClaim(**values)


def envelope(event, time: datetime = NOW) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        subject=str(event.claim_id),
        time=time,
        tenant="acme",
        debtor_id=DEBTOR.id,
        correlation_id=uuid.uuid4(),
        data=event,
    )


def given(*events) -> Claim:
    return fold([envelope(e) for e in events])


def registered_claim(now: datetime = NOW, **changes) -> tuple[Claim, list]:
    """A claim registered (and qualified) at ``now``: the state and its events."""
    events = decide_registration(
        register_command(**changes), None, now=now, new_id=seeded_ids(1), policy=POLICY
    )
    return given(*events), events


def every_claims_event() -> list:
    """One event of every type the claims service emits, decided by the domain (for the
    contract tests: every event produced must validate against its published schema)."""
    from datetime import timedelta

    from amiable_claims import domain
    from amiable_events.claims import ClaimAmended, ClaimCancelled, Installment

    ids = seeded_ids(11)
    claim, events = registered_claim()
    later = NOW + timedelta(days=40)

    def then(new):
        nonlocal claim
        events.extend(new)
        for event in new:
            claim = domain._evolve(event, claim, envelope(event))
        return new

    rejected = decide_registration(
        register_command(invoice_number="INV-R", debtor=DEBTOR.model_copy(update={"contacts": ()})),
        None,
        now=NOW,
        new_id=ids,
        policy=POLICY,
        duplicate_of=uuid.uuid4(),
    )
    events.extend(rejected)
    events.append(
        ClaimAmended(
            claim_id=claim.claim_id,
            amended_at=NOW,
            purchase_order="PO-1",
            contacts=DEBTOR.contacts,
            postal_address="pii:v1:sealed-address",
        )
    )
    then(
        domain.decide_promise(
            claim,
            domain.RecordPromise(Decimal("100.00"), date(2026, 11, 20), "call"),
            now=NOW,
            new_id=ids,
            policy=POLICY,
        )
    )
    then(
        domain.decide_adjustment(
            claim, Decimal("50.00"), "AV-1", "discount", now=NOW, policy=POLICY
        )
    )
    then(domain.decide_acknowledgement(claim, date(2026, 11, 1), "letter", now=NOW))
    total = domain.amount_due(claim, later.date(), POLICY).total
    half = (total / 2).quantize(Decimal("0.01"))
    then(
        domain.decide_payment_plan(
            claim,
            domain.AgreePaymentPlan(
                (
                    Installment(due_on=date(2027, 1, 1), amount=half),
                    Installment(due_on=date(2027, 2, 1), amount=total - half),
                )
            ),
            now=later,
            new_id=ids,
            policy=POLICY,
        )
    )
    while timers := domain.desired_timers(claim, POLICY):  # fire them one at a time
        then([domain.timer_event(timers[0].kind, timers[0].payload, timers[0].due_at)])
    then(
        domain.decide_payment(
            claim,
            domain.RecordPayment(total + Decimal("5.00"), "EUR", later.date(), "VIR-1"),
            now=later,
            new_id=ids,
            policy=POLICY,
        )
    )
    events.append(
        domain.decide_write_off(claim.model_copy(update={"status": "qualified"}), "x", now=NOW)[0]
    )
    events.append(
        ClaimCancelled(
            claim_id=claim.claim_id, reason="error", credit_note_reference="AV-2", cancelled_at=NOW
        )
    )
    return events
