"""The claim ledger other services compute what is owed from: its fold of the claims events, and
its amount due, which must be the claims service's own figure for the same log (the claims
domain is imported here, in the test only, to hold the two together)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest

from amiable_claims.domain.evolve import fold as claims_fold
from amiable_claims.domain.figures import amount_due as claims_amount_due
from amiable_claims.main import policy as claims_policy
from amiable_claims.settings import ClaimsSettings
from amiable_events.claims import (
    ClaimAdjusted,
    ClaimCancelled,
    ClaimQualified,
    ClaimRegistered,
    ClaimRejected,
    ClaimSettled,
    ClaimWrittenOff,
    ContractualInterest,
    Debtor,
    FixedFeeWaived,
    Installment,
    LatePaymentTerms,
    PaymentPlanAgreed,
    PaymentPlanDefaulted,
    PaymentReceived,
    PromiseBroken,
)
from amiable_events.dunning import ClaimEscalated
from amiable_events.envelope import Envelope
from amiable_events.ledger import FOLDED, Figures, fold
from amiable_events.settings import FigureSettings

DUE_ON = date(2026, 3, 31)
CLAIM_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
SETTINGS = {"env": "dev"}


def at(day: date) -> datetime:
    return datetime.combine(day, time(9), UTC)


@dataclass
class Log:
    """One claim's events as claims appends them, folded by the ledger and by claims."""

    tenant: str = "acme"
    envelopes: list[Envelope] = field(default_factory=list)

    def add(self, event, day: date = DUE_ON) -> Log:
        self.envelopes.append(
            Envelope(
                id=uuid.uuid4(),
                subject=str(CLAIM_ID),
                time=at(day),
                tenant=self.tenant,
                debtor_id="D-1",
                correlation_id=uuid.uuid4(),
                data=event,
            )
        )
        return self

    def ledger(self):
        ledger = None
        for envelope in self.envelopes:
            ledger = fold(ledger, envelope.data, envelope.tenant)
        return ledger

    def register(self, amount: str = "1000.00", **changes) -> Log:
        values = dict(
            claim_id=CLAIM_ID,
            invoice_number="INV-1",
            amount=Decimal(amount),
            currency="EUR",
            issued_on=DUE_ON - timedelta(days=30),
            due_on=DUE_ON,
            debtor=Debtor(
                id="D-1",
                legal_name="Durand SAS",
                country="FR",
                language="fr-FR",
                timezone="Europe/Paris",
            ),
            registered_at=at(DUE_ON - timedelta(days=30)),
        )
        values.update(changes)
        self.add(ClaimRegistered(**values), DUE_ON - timedelta(days=30))
        return self.add(
            ClaimQualified(
                claim_id=CLAIM_ID, qualified_at=at(DUE_ON), prescription_date=date(2031, 3, 31)
            )
        )

    def pay(self, day: date, amount: str, payment_id: uuid.UUID | None = None) -> Log:
        return self.add(
            PaymentReceived(
                claim_id=CLAIM_ID,
                payment_id=payment_id or uuid.uuid4(),
                amount=Decimal(amount),
                currency="EUR",
                received_on=day,
                recorded_at=at(day),
            ),
            day,
        )

    def adjust(self, day: date, amount: str, reference: str = "AV-1") -> Log:
        return self.add(
            ClaimAdjusted(
                claim_id=CLAIM_ID,
                amount=Decimal(amount),
                credit_note_reference=reference,
                adjusted_on=day,
                adjusted_at=at(day),
            ),
            day,
        )

    def plan(self, day: date, plan_id: uuid.UUID, grace_days: int = 5) -> Log:
        return self.add(
            PaymentPlanAgreed(
                claim_id=CLAIM_ID,
                plan_id=plan_id,
                agreed_on=day,
                installments=(
                    Installment(due_on=day + timedelta(days=30), amount=Decimal("500.00")),
                    Installment(due_on=day + timedelta(days=60), amount=Decimal("540.00")),
                ),
                grace_days=grace_days,
                agreed_at=at(day),
            ),
            day,
        )

    def defaulted(self, plan_id: uuid.UUID, installment_due: date) -> Log:
        return self.add(
            PaymentPlanDefaulted(
                claim_id=CLAIM_ID, plan_id=plan_id, installment=1, due_on=installment_due
            ),
            installment_due,
        )

    def waive(self, day: date) -> Log:
        return self.add(
            FixedFeeWaived(
                claim_id=CLAIM_ID,
                waived_from=day,
                reason="insolvency_proceedings",
                proceeding_kind="safeguard",
                proceeding_reference="TC Paris 2026S1",
            ),
            day,
        )


def figures(**settings) -> tuple[Figures, object]:
    """The ledger's figures and the claims policy from the same settings."""
    return (
        Figures.from_settings(FigureSettings(**SETTINGS, **settings)),
        claims_policy(ClaimsSettings(**SETTINGS, **settings)),
    )


FIGURES, CLAIMS_POLICY = figures()


def same_as_claims(log: Log, as_of: date, rules=(FIGURES, CLAIMS_POLICY)):
    """The ledger's amount due, asserted equal, line for line, to what claims computes."""
    ledger_figures, claims_rules = rules
    ours = log.ledger().amount_due(as_of, ledger_figures)
    assert ours == claims_amount_due(claims_fold(log.envelopes), as_of, claims_rules)
    return ours


# --- the fold ---------------------------------------------------------------------------------


def test_a_registration_makes_the_ledger_and_a_second_one_changes_nothing():
    log = Log().register(amount="1250.00", governing_law="DE")
    ledger = log.ledger()
    assert (ledger.claim_id, ledger.tenant, ledger.debtor_id) == (str(CLAIM_ID), "acme", "D-1")
    assert (ledger.amount, ledger.currency, ledger.due_on) == (Decimal("1250.00"), "EUR", DUE_ON)
    assert (ledger.country, ledger.timezone, ledger.governing_law) == ("FR", "Europe/Paris", "DE")
    assert ledger.status == "qualified" and not ledger.closed
    again = Log().register(amount="1.00").envelopes[0].data
    assert fold(ledger, again, "acme") is ledger


def test_events_before_a_registration_and_events_it_does_not_fold_change_nothing():
    payment = Log().pay(DUE_ON, "10.00").envelopes[0].data
    assert fold(None, payment, "acme") is None
    ledger = Log().register().ledger()
    broken = PromiseBroken(
        claim_id=CLAIM_ID, promise_id=uuid.uuid4(), promised_on=DUE_ON, amount=Decimal("1.00")
    )
    assert fold(ledger, broken, "acme") is ledger
    assert PromiseBroken not in FOLDED and {ClaimRegistered, PaymentReceived} <= FOLDED


def test_a_payment_redelivered_with_the_same_id_counts_once():
    payment_id = uuid.uuid4()
    later = DUE_ON + timedelta(days=10)
    log = Log().register().pay(later, "300.00", payment_id).pay(later, "300.00", payment_id)
    assert [m.amount for m in log.ledger().moves] == [Decimal("300.00")]
    due = same_as_claims(log, later)
    assert due.paid == Decimal("300.00")


def test_payments_and_credit_notes_are_moves():
    log = Log().register().pay(DUE_ON, "100.00").adjust(DUE_ON, "50.00").adjust(DUE_ON, "25.00")
    ledger = log.ledger()
    assert [(m.kind, m.amount) for m in ledger.moves] == [
        ("payment", Decimal("100.00")),
        ("credit", Decimal("50.00")),
        ("credit", Decimal("25.00")),
    ]
    assert ledger.unpaid_principal == Decimal("825.00")


@pytest.mark.parametrize(
    ("closing", "status"),
    [
        (ClaimSettled(claim_id=CLAIM_ID, settled_on=DUE_ON, overpaid=Decimal(0)), "settled"),
        (ClaimWrittenOff(claim_id=CLAIM_ID, reason="x", written_off_at=at(DUE_ON)), "written_off"),
        (ClaimCancelled(claim_id=CLAIM_ID, reason="x", cancelled_at=at(DUE_ON)), "cancelled"),
    ],
)
def test_a_closing_status_is_final(closing, status):
    log = Log().register().add(closing)
    assert log.ledger().status == status and log.ledger().closed
    log.add(ClaimQualified(claim_id=CLAIM_ID, qualified_at=at(DUE_ON), prescription_date=DUE_ON))
    log.add(ClaimRejected(claim_id=CLAIM_ID, rejected_at=at(DUE_ON), reasons=("duplicate",)))
    assert log.ledger().status == status


def test_a_rejected_claim_is_not_closed_and_may_be_qualified_again():
    log = Log().register()
    log.add(ClaimRejected(claim_id=CLAIM_ID, rejected_at=at(DUE_ON), reasons=("duplicate",)))
    assert (log.ledger().status, log.ledger().closed) == ("rejected", False)
    log.add(ClaimQualified(claim_id=CLAIM_ID, qualified_at=at(DUE_ON), prescription_date=DUE_ON))
    assert log.ledger().status == "qualified"


def test_an_escalated_claim_is_not_closed_stays_escalated_and_still_settles():
    """Dunning's handoff to litigation: chased no more, still owed; as claims folds it."""
    escalated = ClaimEscalated(
        claim_id=CLAIM_ID,
        reason="litigation_handoff",
        timeline_reference=uuid.uuid4(),
        approved_by="user:collector-1",
        escalated_at=at(DUE_ON),
    )
    log = Log().register().add(escalated)
    assert (log.ledger().status, log.ledger().closed) == ("escalated", False)
    log.add(ClaimQualified(claim_id=CLAIM_ID, qualified_at=at(DUE_ON), prescription_date=DUE_ON))
    log.add(ClaimRejected(claim_id=CLAIM_ID, rejected_at=at(DUE_ON), reasons=("duplicate",)))
    assert log.ledger().status == claims_fold(log.envelopes).status == "escalated"
    log.pay(DUE_ON, "1000.00").add(
        ClaimSettled(claim_id=CLAIM_ID, settled_on=DUE_ON, overpaid=Decimal(0))
    )
    assert log.ledger().status == claims_fold(log.envelopes).status == "settled"
    assert ClaimEscalated in FOLDED


def test_a_second_fee_waiver_never_brings_the_fee_back():
    later = DUE_ON + timedelta(days=20)
    log = Log().register().waive(DUE_ON - timedelta(days=5)).waive(later)
    assert log.ledger().fee_waived_from == DUE_ON - timedelta(days=5)
    assert same_as_claims(log, later).fixed_fee == 0


def test_a_default_without_a_plan_changes_nothing():
    log = Log().register().defaulted(uuid.uuid4(), DUE_ON + timedelta(days=10))
    assert log.ledger().plan_defaulted_on is None


# --- the amount due, as claims computes it ----------------------------------------------------


@pytest.mark.parametrize("days", [-10, 0, 1, 30, 400])
def test_a_late_french_claim_owes_interest_and_the_eur_40_fee(days):
    due = same_as_claims(Log().register(), DUE_ON + timedelta(days=days))
    if days <= 0:
        assert due.total == Decimal("1000.00")
    else:
        assert due.fixed_fee == Decimal("40.00") and due.interest > 0
        assert due.total == Decimal("1040.00") + due.interest


def test_partial_payments_credits_and_a_redelivery():
    payment_id = uuid.uuid4()
    log = (
        Log()
        .register()
        .pay(DUE_ON + timedelta(days=5), "200.00", payment_id)
        .adjust(DUE_ON + timedelta(days=12), "150.00")
        .pay(DUE_ON + timedelta(days=5), "200.00", payment_id)
        .pay(DUE_ON + timedelta(days=40), "100.00")
    )
    for days in (4, 5, 12, 40, 90):
        same_as_claims(log, DUE_ON + timedelta(days=days))


def test_a_payment_and_a_credit_on_one_day_in_either_order():
    day = DUE_ON + timedelta(days=20)
    first = Log().register().adjust(day, "100.00").pay(day, "300.00")
    then = Log().register().pay(day, "300.00").adjust(day, "100.00")
    assert same_as_claims(first, day + timedelta(days=10)) == same_as_claims(
        then, day + timedelta(days=10)
    )


def test_interest_is_suspended_under_a_plan_and_runs_again_after_its_default():
    plan_id = uuid.uuid4()
    agreed = DUE_ON + timedelta(days=15)
    log = Log().register().plan(agreed, plan_id, grace_days=5)
    under_plan = [same_as_claims(log, agreed + timedelta(days=d)) for d in (0, 20, 60)]
    assert len({due.interest for due in under_plan}) == 1  # suspended
    missed = agreed + timedelta(days=60)
    log.defaulted(plan_id, missed)
    assert log.ledger().plan_defaulted_on == missed + timedelta(days=6)
    grace_end = same_as_claims(log, missed + timedelta(days=5))
    running = same_as_claims(log, missed + timedelta(days=30))
    assert grace_end.interest == under_plan[0].interest
    assert running.interest > grace_end.interest


def test_a_new_plan_suspends_interest_again_after_a_default():
    first, second = uuid.uuid4(), uuid.uuid4()
    agreed = DUE_ON + timedelta(days=15)
    log = Log().register().plan(agreed, first).defaulted(first, agreed + timedelta(days=30))
    log.plan(agreed + timedelta(days=50), second)
    assert log.ledger().plan_defaulted_on is None
    for days in (40, 50, 80):
        same_as_claims(log, agreed + timedelta(days=days))


def test_the_default_of_a_replaced_plan_does_not_end_the_current_one():
    first, second = uuid.uuid4(), uuid.uuid4()
    agreed = DUE_ON + timedelta(days=15)
    log = Log().register().plan(agreed, first).plan(agreed + timedelta(days=10), second)
    log.defaulted(first, agreed + timedelta(days=30))  # late news of the first plan
    assert log.ledger().plan_defaulted_on is None
    same_as_claims(log, agreed + timedelta(days=90))


def test_the_setting_that_keeps_interest_running_during_a_plan():
    log = Log().register().plan(DUE_ON + timedelta(days=15), uuid.uuid4())
    rules = figures(suspend_interest_on_respected_plan=False)
    assert rules[0].suspend_interest_on_respected_plan is False
    same_as_claims(log, DUE_ON + timedelta(days=90), rules)


@pytest.mark.parametrize("waived", [-5, 0, 1, 10])
def test_a_fee_waiver_removes_a_fee_not_yet_due(waived):
    log = Log().register().waive(DUE_ON + timedelta(days=waived))
    due = same_as_claims(log, DUE_ON + timedelta(days=30))
    assert due.fixed_fee == (Decimal("40.00") if waived > 1 else 0)


def test_principal_first_allocation():
    log = Log().register().pay(DUE_ON + timedelta(days=20), "500.00")
    rules = figures(payment_allocation="principal_first")
    due = same_as_claims(log, DUE_ON + timedelta(days=30), rules)
    assert due.principal_outstanding == Decimal("500.00")
    assert same_as_claims(log, DUE_ON + timedelta(days=30)).principal_outstanding > Decimal(
        "500.00"
    )


@pytest.mark.parametrize(
    "registration",
    [
        {"governing_law": "DE"},
        {"governing_law": "none"},
        {
            "late_payment_terms": LatePaymentTerms(
                interest=ContractualInterest(kind="fixed", rate=Decimal("12")),
                fixed_fee=Decimal("75.00"),
            )
        },
        {
            "late_payment_terms": LatePaymentTerms(
                interest=ContractualInterest(kind="reference_plus", margin=Decimal("3"))
            )
        },
    ],
)
def test_a_claims_law_and_contract_terms(registration):
    log = Log().register(**registration).pay(DUE_ON + timedelta(days=10), "100.00")
    for days in (5, 60):
        same_as_claims(log, DUE_ON + timedelta(days=days))


def test_a_tenant_with_its_own_governing_law():
    log = Log(tenant="acme-us").register()
    rules = figures(tenant_governing_law={"acme-us": "none"})
    due = same_as_claims(log, DUE_ON + timedelta(days=30), rules)
    assert due.total == Decimal("1000.00")
