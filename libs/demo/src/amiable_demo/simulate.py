"""One debtor account's history as the claims service would have written it: each command's
events with the ids, times and amounts the service would have given them.

A :class:`SimulatedClaim` keeps what the claims service folds (payments, credit notes, a running
plan) and asks ``amiable_rules.late_fees`` what is owed, as the service does: a payment that
covers everything due (principal, late interest, the fixed fee) is followed by ``ClaimSettled``
in the same command, a plan's instalments add up to the balance due the day it is agreed, and a
respected plan suspends interest (the service's default policy).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from amiable_events.base import Event
from amiable_events.claims import (
    ClaimAdjusted,
    ClaimCancelled,
    ClaimQualified,
    ClaimRegistered,
    ClaimSettled,
    ClaimWrittenOff,
    Debtor,
    Installment,
    InstallmentMissed,
    PaymentPlanAgreed,
    PaymentPlanDefaulted,
    PaymentReceived,
    PromiseBroken,
    PromiseToPayRecorded,
)
from amiable_events.disputes import DisputeOpened
from amiable_events.envelope import Envelope, account_key, service_actor
from amiable_events.ids import keyed_id
from amiable_events.risk import InsolvencyRecorded, ProceedingKind
from amiable_rules import limitation, money
from amiable_rules.late_fees import (
    AmountDue,
    LateFeeRules,
    LateRule,
    Movement,
    Suspension,
    amount_due,
)
from amiable_rules.limitation import LimitationRules

#: Who caused the events of commands: people of the creditor, through the generator.
DEMO_ACTOR = "demo:generator"
#: The claims service's defaults (amiable_claims.domain.state.Policy).
INSTALLMENT_GRACE_DAYS = 5
PROMISE_GRACE_DAYS = 3


def new_id(rng: random.Random) -> UUID:
    return UUID(int=rng.getrandbits(128), version=4)


def start_of(day: date) -> datetime:
    """When the claims service's timers fire: 00:00 UTC of the day."""
    return datetime.combine(day, time(0), tzinfo=UTC)


class Account:
    """Collects one debtor account's envelopes. An event at or after ``end`` did not happen
    yet: it is dropped (every later event of its claim is later still)."""

    def __init__(
        self, tenant: str, debtor: Debtor, rng: random.Random, end: datetime, seal
    ) -> None:
        self.tenant = tenant
        self.debtor = debtor
        self.rng = rng
        self.end = end
        self.seal = seal
        self.zone = ZoneInfo(debtor.timezone)
        self.envelopes: list[Envelope] = []
        self._last: dict[str, datetime] = {}

    @property
    def key(self) -> str:
        return account_key(self.tenant, self.debtor.id)

    def office_hours(self, subject: str, day: date) -> datetime:
        """A moment of ``day``'s office hours at the debtor (09:00-15:59 local, the same date in
        UTC for every time zone used), after anything already recorded about ``subject``."""
        local = datetime.combine(
            day, time(self.rng.randint(9, 15), self.rng.randint(0, 59)), tzinfo=self.zone
        )
        return self.after_last(subject, local.astimezone(UTC))

    def after_last(self, subject: str, moment: datetime) -> datetime:
        last = self._last.get(subject)
        if last is not None and moment <= last:
            moment = last + timedelta(seconds=1)
        self._last[subject] = moment
        return moment

    def last_day(self, subject: str) -> date | None:
        last = self._last.get(subject)
        return None if last is None else last.date()

    def record(self, moment: datetime, *events: Event, actor: str = DEMO_ACTOR) -> bool:
        """One command's events, as the command bus appends them: one correlation, the first
        causing the others. False when ``moment`` is past the end of the history."""
        if moment >= self.end:
            return False
        first, correlation = new_id(self.rng), new_id(self.rng)
        for index, event in enumerate(events):
            self.envelopes.append(
                Envelope(
                    id=first if index == 0 else new_id(self.rng),
                    subject=event.subject,
                    time=moment,
                    tenant=self.tenant,
                    debtor_id=self.debtor.id,
                    correlation_id=correlation,
                    causation_id=None if index == 0 else first,
                    data=event,
                    actor=actor,
                )
            )
        return True

    def insolvency(self, day: date, kind: ProceedingKind, opened_on: date, reference: str) -> bool:
        moment = self.office_hours(f"debtor:{self.debtor.id}", day)
        event = InsolvencyRecorded(
            debtor_id=self.debtor.id,
            kind=kind,
            opened_on=opened_on,
            reference=reference,
            recorded_at=moment,
        )
        return self.record(moment, event)


@dataclass(frozen=True)
class Rules:
    late_fees: LateFeeRules
    limitation: LimitationRules

    @classmethod
    def load(cls) -> Rules:
        return cls(LateFeeRules.load(), LimitationRules.load())


@dataclass
class SimulatedClaim:
    account: Account
    claim_id: UUID
    amount: Decimal
    currency: str
    issued_on: date
    due_on: date
    rule: LateRule
    payments: list[Movement] = field(default_factory=list)
    credits: list[Movement] = field(default_factory=list)
    plan: tuple[UUID, date, tuple[Installment, ...]] | None = None
    plan_defaulted_on: date | None = None
    misses: int = 0
    closed: bool = False

    @property
    def subject(self) -> str:
        return str(self.claim_id)

    def due(self, on: date) -> AmountDue:
        """What the claims service computes the claim owes at the end of ``on``."""
        suspensions = []
        if self.plan is not None:
            end = self.plan_defaulted_on - timedelta(days=1) if self.plan_defaulted_on else None
            suspensions.append(Suspension(self.plan[1], end))
        return amount_due(
            principal=self.amount,
            currency=self.currency,
            due_on=self.due_on,
            movements=self.payments + self.credits,
            as_of=on,
            rule=self.rule,
            suspensions=suspensions,
        )

    def register(self, day: date, event: ClaimRegistered, rules: Rules, law: str) -> bool:
        moment = self.account.office_hours(self.subject, day)
        registered = event.model_copy(update={"registered_at": moment})
        prescription = limitation.prescription_date(
            rules.limitation.for_law(law), due_on=self.due_on
        )
        qualified = ClaimQualified(
            claim_id=self.claim_id, qualified_at=moment, prescription_date=prescription
        )
        return self.account.record(moment, registered, qualified)

    def not_before(self, day: date) -> date:
        """``day``, or the day of the claim's last event if later: what happens to a claim is
        recorded in the order it happens (a payment recorded after a credit note is received
        after it too)."""
        last = self.account.last_day(self.subject)
        return day if last is None else max(day, last)

    def pay(self, day: date, amount: Decimal | None = None) -> bool:
        """A payment received and recorded on ``day``: ``amount``, or everything due that day.
        Settles the claim when it covers what is due, as the service does."""
        if self.closed:
            return False
        day = self.not_before(day)
        moment = self.account.office_hours(self.subject, day)
        if moment >= self.account.end:
            return False
        if amount is None:
            amount = self.due(day).total
        if amount <= 0:
            return False
        payment = PaymentReceived(
            claim_id=self.claim_id,
            payment_id=new_id(self.account.rng),
            amount=amount,
            currency=self.currency,
            received_on=day,
            method=self.account.rng.choice(("transfer", "transfer", "transfer", "direct_debit")),
            recorded_at=moment,
        )
        self.payments.append(Movement(day, "payment", amount))
        return self.account.record(moment, payment, *self._settlement(day))

    def _settlement(self, day: date) -> list[ClaimSettled]:
        due = self.due(day)
        if due.total > 0:
            return []
        self.closed = True
        last = max(m.on for m in self.payments + self.credits)
        return [ClaimSettled(claim_id=self.claim_id, settled_on=last, overpaid=due.overpaid)]

    def adjust(self, day: date, share: Decimal, reference: str, reason: str) -> bool:
        """A partial credit note of ``share`` of the principal."""
        if self.closed:
            return False
        day = self.not_before(day)
        moment = self.account.office_hours(self.subject, day)
        if moment >= self.account.end:
            return False
        credit = money.quantize(self.amount * share, self.currency)
        if credit <= 0:
            return False
        adjusted = ClaimAdjusted(
            claim_id=self.claim_id,
            amount=credit,
            credit_note_reference=reference,
            reason=self.account.seal(reason),
            adjusted_on=moment.date(),
            adjusted_at=moment,
        )
        self.credits.append(Movement(day, "credit", credit))
        return self.account.record(moment, adjusted, *self._settlement(day))

    def dispute(self, day: date, amount: Decimal | None = None) -> bool:
        """The debtor contests ``amount`` of the claim (all of it when None) at 10:00 local on
        ``day``, with the disputes service's default deadlines (2 and 30 days, calendar days
        here)."""
        moment = self.account.after_last(
            self.subject,
            datetime.combine(self.not_before(day), time(10), self.account.zone).astimezone(UTC),
        )
        disputed = self.amount if amount is None else amount
        event = DisputeOpened(
            claim_id=self.claim_id,
            dispute_id=keyed_id("demo-dispute", str(self.claim_id)),
            reason="quality_or_service",
            disputed_amount=disputed,
            currency=self.currency,
            whole_claim=amount is None,
            raised_by="debtor_contact",
            opened_at=moment,
            acknowledge_by=moment + timedelta(days=2),
            resolve_by=moment + timedelta(days=30),
        )
        return self.account.record(moment, event)

    def cancel(self, day: date, reference: str, reason: str) -> bool:
        moment = self.account.office_hours(self.subject, self.not_before(day))
        cancelled = ClaimCancelled(
            claim_id=self.claim_id,
            reason=self.account.seal(reason),
            credit_note_reference=reference,
            cancelled_at=moment,
        )
        self.closed = self.account.record(moment, cancelled)
        return self.closed

    def write_off(self, day: date, reason: str) -> bool:
        if self.closed:
            return False
        moment = self.account.office_hours(self.subject, self.not_before(day))
        event = ClaimWrittenOff(
            claim_id=self.claim_id, reason=self.account.seal(reason), written_off_at=moment
        )
        self.closed = self.account.record(moment, event)
        return self.closed

    def promise(self, day: date, promised_on: date) -> tuple[UUID, Decimal] | None:
        """The debtor promises to pay everything due on ``promised_on``."""
        day = self.not_before(day)
        moment = self.account.office_hours(self.subject, day)
        amount = self.due(promised_on).total
        promise_id = new_id(self.account.rng)
        event = PromiseToPayRecorded(
            claim_id=self.claim_id,
            promise_id=promise_id,
            amount=amount,
            promised_on=promised_on,
            source_channel=self.account.rng.choice(("call", "email", "portal")),
            grace_days=PROMISE_GRACE_DAYS,
            recorded_at=moment,
        )
        return (promise_id, amount) if self.account.record(moment, event) else None

    def break_promise(self, promise_id: UUID, promised_on: date, amount: Decimal) -> date:
        """The claims service's timer: the promise is broken once its grace has passed. Gives
        the day it fired."""
        fired = promised_on + timedelta(days=PROMISE_GRACE_DAYS + 1)
        moment = self.account.after_last(self.subject, start_of(fired))
        event = PromiseBroken(
            claim_id=self.claim_id, promise_id=promise_id, promised_on=promised_on, amount=amount
        )
        self.account.record(moment, event, actor=service_actor("claims"))
        return fired

    def agree_plan(self, day: date, count: int, every_days: int = 30) -> tuple[Installment, ...]:
        """A plan of ``count`` instalments adding up to the balance due on ``day``."""
        day = self.not_before(day)
        moment = self.account.office_hours(self.subject, day)
        balance = self.due(day).total
        part = (balance / count).quantize(money.unit(self.currency), ROUND_DOWN)
        amounts = [part] * (count - 1) + [balance - part * (count - 1)]
        installments = tuple(
            Installment(due_on=day + timedelta(days=every_days * (n + 1)), amount=amount)
            for n, amount in enumerate(amounts)
        )
        plan_id = new_id(self.account.rng)
        event = PaymentPlanAgreed(
            claim_id=self.claim_id,
            plan_id=plan_id,
            agreed_on=day,
            installments=installments,
            grace_days=INSTALLMENT_GRACE_DAYS,
            agreed_at=moment,
        )
        if not self.account.record(moment, event):
            return ()
        self.plan = (plan_id, day, installments)
        return installments

    def miss_installment(self, index: int) -> None:
        """The claims service's timer for an instalment unpaid after its grace: the first miss
        is noted, the second defaults the plan (interest runs again from that day)."""
        if self.plan is None or self.misses >= 2:
            return
        installment = self.plan[2][index]
        fired = installment.due_on + timedelta(days=INSTALLMENT_GRACE_DAYS + 1)
        moment = self.account.after_last(self.subject, start_of(fired))
        kind = PaymentPlanDefaulted if self.misses else InstallmentMissed
        event = kind(
            claim_id=self.claim_id,
            plan_id=self.plan[0],
            installment=index,
            due_on=installment.due_on,
        )
        if self.account.record(moment, event, actor=service_actor("claims")):
            self.misses += 1
            if kind is PaymentPlanDefaulted:
                self.plan_defaulted_on = fired
