"""Givens for the claims service's tests: a policy, commands, and claims folded from events."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from amiable_claims.adapters.projector import ClaimsProjector
from amiable_claims.app.reactions import reactions
from amiable_claims.domain.commands import RegisterClaim
from amiable_claims.domain.decide import decide_registration
from amiable_claims.domain.evolve import fold
from amiable_claims.domain.proceedings import evolve_account
from amiable_claims.domain.state import Claim
from amiable_claims.main import policy
from amiable_claims.settings import ClaimsSettings
from amiable_events.claims import Contact, Debtor
from amiable_events.clock import FrozenClock
from amiable_events.commands import Context
from amiable_events.communications import CommunicationFailed
from amiable_events.dunning import (
    ClaimEscalated,
    DunningApprovalRequested,
    DunningPaused,
    DunningPlanScheduled,
    DunningRescheduled,
    DunningResumed,
    DunningStepDue,
    DunningStepSkipped,
    DunningStopped,
    ScheduledStep,
)
from amiable_events.envelope import Envelope
from amiable_events.ids import seeded_ids
from tests.behaviour import ServiceUnderTest

NOW = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
POLICY = policy(ClaimsSettings(env="dev"))
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


def context(now: datetime = NOW, new_id=uuid.uuid4, policy=POLICY, tenant: str = "acme") -> Context:
    """What a decider is given besides the claim and the command."""
    return Context(tenant=tenant, now=now, new_id=new_id, policy=policy)


def given(*events) -> Claim:
    return fold([envelope(e) for e in events])


def registered_claim(now: datetime = NOW, **changes) -> tuple[Claim, list]:
    """A claim registered (and qualified) at ``now``: the state and its events."""
    events = decide_registration(None, register_command(**changes), context(now, seeded_ids(1)))
    return given(*events), events


def every_claims_event() -> list:
    """One event of every type the claims service emits, decided by the domain (for the
    contract tests: every event produced must validate against its published schema)."""
    from datetime import timedelta

    from amiable_claims.domain.commands import (
        AcknowledgeDebt,
        AdjustClaim,
        AgreePaymentPlan,
        RecordPayment,
        RecordPromise,
        WriteOffClaim,
    )
    from amiable_claims.domain.decide import (
        decide_acknowledgement,
        decide_adjustment,
        decide_payment,
        decide_payment_plan,
        decide_promise,
        decide_write_off,
    )
    from amiable_claims.domain.evolve import _evolve
    from amiable_claims.domain.figures import amount_due
    from amiable_claims.domain.proceedings import (
        DebtorAccount,
        OpenClaim,
        Proceeding,
        on_insolvency,
    )
    from amiable_claims.domain.timers import desired_timers, timer_event
    from amiable_events.claims import ClaimAmended, ClaimCancelled, Installment

    ids = seeded_ids(11)
    claim, events = registered_claim()
    later = NOW + timedelta(days=40)

    def then(new):
        nonlocal claim
        events.extend(new)
        for event in new:
            claim = _evolve(event, claim, envelope(event))
        return new

    rejected = decide_registration(
        None,
        register_command(
            invoice_number="INV-R",
            debtor=DEBTOR.model_copy(update={"contacts": ()}),
            duplicate_of=uuid.uuid4(),
        ),
        context(NOW, ids),
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
        decide_promise(
            claim,
            RecordPromise(Decimal("100.00"), date(2026, 11, 20), "call"),
            context(NOW, ids, POLICY),
        )
    )
    then(decide_adjustment(claim, AdjustClaim(Decimal("50.00"), "AV-1", "discount"), context()))
    then(decide_acknowledgement(claim, AcknowledgeDebt(date(2026, 11, 1), "letter"), context()))
    total = amount_due(claim, later.date(), POLICY).total
    half = (total / 2).quantize(Decimal("0.01"))
    then(
        decide_payment_plan(
            claim,
            AgreePaymentPlan(
                (
                    Installment(due_on=date(2027, 1, 1), amount=half),
                    Installment(due_on=date(2027, 2, 1), amount=total - half),
                )
            ),
            context(later, ids, POLICY),
        )
    )
    while timers := desired_timers(claim, POLICY):  # fire them one at a time
        then([timer_event(timers[0].kind, timers[0].payload, timers[0].due_at)])
    then(
        decide_payment(
            claim,
            RecordPayment(total + Decimal("5.00"), "EUR", later.date(), "VIR-1"),
            context(later, ids, POLICY),
        )
    )
    events.append(
        decide_write_off(
            claim.model_copy(update={"status": "qualified"}), WriteOffClaim("x"), context()
        )[0]
    )
    events.append(
        ClaimCancelled(
            claim_id=claim.claim_id, reason="error", credit_note_reference="AV-2", cancelled_at=NOW
        )
    )
    account = DebtorAccount(
        Proceeding("receivership", date(2026, 10, 20), "RG 26/01234"),
        (OpenClaim(claim.claim_id, claim.due_on),),
    )
    events.extend(on_insolvency(account, None))  # a reaction's: needs no envelope
    events.extend(dispute_reactions(registered_claim()[0]))
    return events


def dispute_reactions(claim: Claim) -> list:
    """The events claims appends when a dispute of ``claim`` is resolved: a reduction, and a
    cancellation by a new invoice."""
    from amiable_claims.domain.disputes import resolve
    from amiable_events.disputes import DisputeResolved

    def resolved(outcome: str, **changes) -> DisputeResolved:
        return DisputeResolved(
            claim_id=claim.claim_id,
            dispute_id=uuid.uuid4(),
            outcome=outcome,
            resolution_note="pii:v1:sealed-note",
            disputed_amount=claim.amount,
            currency=claim.currency,
            whole_claim=True,
            resolved_at=NOW,
            **changes,
        )

    return resolve(
        claim, resolved("partially_upheld", accepted_amount=Decimal("100.00"))
    ) + resolve(claim, resolved("reissued", new_invoice_number="INV-1-BIS"))


HEADER = [
    "invoice_number",
    "amount",
    "currency",
    "issued_on",
    "due_on",
    "debtor_id",
    "debtor_legal_name",
    "debtor_country",
    "contact_name",
    "contact_email",
    "contact_phone",
]


def portfolio_csv(
    rows: int,
    *,
    bad_every: int = 100,
    duplicate_every: int = 250,
    issued_on: date = date(2026, 9, 1),
) -> tuple[str, dict]:
    """Rows with, every ``bad_every`` rows, an invalid one (alternately a bad amount and a bad
    email), and every ``duplicate_every`` rows a repeat of an earlier invoice number. Every
    invoice is issued on ``issued_on`` (on or before the service's today) and due 30 days
    later."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    expected = {"created": 0, "duplicate": 0, "invalid": 0}
    for n in range(1, rows + 1):
        row = [
            f"IMP-{n:06d}",
            f"{100 + n % 900}.{n % 100:02d}",
            "EUR",
            str(issued_on),
            str(issued_on + timedelta(days=30)),
            f"D-{n % 2000}",
            f"Client {n % 2000} SARL",
            "FR",
            "Service comptable",
            f"compta{n % 2000}@client.example",
            "+33123456789",
        ]
        if n % bad_every == 0:
            expected["invalid"] += 1
            if (n // bad_every) % 2:
                row[1] = "12,50"
            else:
                row[9] = "not-an-email"
        elif n % duplicate_every == 1 and n > 1:
            expected["duplicate"] += 1
            row[0] = "IMP-000002"
        else:
            expected["created"] += 1
        writer.writerow(row)
    return out.getvalue(), expected


def reacting_claims():
    """The claims service's reactions (to other services' events) under the behaviour suite:
    its projector, and the debtor account's state, whatever the event."""
    return ServiceUnderTest(
        name="claims",
        deciders={},
        policy=POLICY,
        clock=FrozenClock(NOW),
        evolve=evolve_account,
        follows=lambda envelope: True,
        by_account=True,
        projector=ClaimsProjector(POLICY),
        reactions=reactions(POLICY),
    )


APPROVER = "user:claire.martin"


def escalation(claim_id: uuid.UUID, at: datetime = NOW) -> ClaimEscalated:
    """Dunning's handoff of the claim to litigation, approved by :data:`APPROVER`."""
    return ClaimEscalated(
        claim_id=claim_id,
        reason="litigation_handoff",
        timeline_reference=uuid.uuid4(),
        approved_by=APPROVER,
        escalated_at=at,
    )


def dunning_events(claim_id: uuid.UUID, at: datetime = NOW) -> list:
    """One of every dunning event about a claim, in a plausible order (planned, paused,
    resumed, a failed channel, a formal notice, the handoff), all at ``at``, and the failed
    delivery; the formal notice is planned 20 days after ``at``, its deadline 28 days."""
    on = at.date() + timedelta(days=20)
    notice = ScheduledStep(
        key="formal_notice",
        action="formal_notice",
        channels=("registered_letter",),
        template="formal_notice",
        tone="firm",
        solution_first=False,
        contact_role="management",
        stage="formal_notice",
        planned_on=on,
        at=datetime.combine(on, datetime.min.time(), UTC) + timedelta(hours=8),
        payment_deadline_days=8,
    )
    plan = {"claim_id": claim_id, "steps": (notice,)}
    return [
        DunningPlanScheduled(
            **plan,
            revision=1,
            reason="claim_qualified",
            policy_id="default",
            policy_version="2026.12-1",
            track="standard_b2b",
            max_reminders_per_stage=3,
            scheduled_at=at,
        ),
        DunningPaused(
            claim_id=claim_id, reason="dispute_opened", dispute_id=uuid.uuid4(), paused_at=at
        ),
        DunningResumed(**plan, revision=2, reason="dispute_rejected", resumed_at=at),
        CommunicationFailed(
            claim_id=claim_id,
            communication_id=uuid.uuid4(),
            channel="email",
            revision=2,
            step="reminder_1",
            reason="550 mailbox claire.martin@durand.example unknown",
            failed_at=at,
        ),
        DunningRescheduled(
            **plan, revision=3, reason="channel_failed", step="reminder_1", rescheduled_at=at
        ),
        DunningStepSkipped(
            claim_id=claim_id,
            revision=3,
            step="reminder_2",
            reason="stage_cap_reached",
            skipped_at=at,
        ),
        DunningStepDue(
            claim_id=claim_id,
            revision=3,
            step="formal_notice",
            action="formal_notice",
            channel="registered_letter",
            fallback_channels=(),
            template="formal_notice",
            tone="firm",
            solution_first=False,
            contact_role="management",
            stage="formal_notice",
            due_at=at,
            group_id=uuid.uuid4(),
            group=(claim_id, uuid.uuid4()),
            payment_deadline=on + timedelta(days=8),
        ),
        DunningApprovalRequested(
            claim_id=claim_id,
            revision=3,
            step="handoff",
            action="litigation_handoff",
            requested_at=at,
        ),
        escalation(claim_id, at),
        DunningStopped(claim_id=claim_id, reason="escalated", stopped_at=at),
    ]
