"""Sample streams: the events the five services write, in log order, for five short stories of
one debtor account each (``amiable events sample``), and one example of every event type.

Consumers use them as test fixtures, so they follow the services' own rules rather than look
plausible: a request's events get the ids its route derives from the Idempotency-Key and carry
the caller's ``sub`` as actor; a reaction's events are caused by their trigger, with
``ids.caused_id`` ids, at the trigger's time, actor ``service:<name>``; a timer's event has
``ids.timer_event_id`` of the timer the service arms, at its due time, correlated by the claim;
the sender's events have ids derived from the message. Dunning steps fall on French business
days at 09:00 in Paris (the shipped policy's ``standard_b2b`` track), messages within the
contact governor's hours, and every amount owed is the shared ledger's
(``amiable_events.ledger``: statutory late interest and the EUR 40 fixed fee).

Deterministic: fixed times, uuid5 ids, and personal data sealed with the demo's derived keys and
nonces (``amiable_demo.sealing``), so the same bytes on every run and every date.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from uuid import UUID

from amiable_demo import sealing
from amiable_events.base import Event
from amiable_events.catalog import REGISTRY
from amiable_events.claims import (
    ClaimAdjusted,
    ClaimAmended,
    ClaimCancelled,
    ClaimQualified,
    ClaimRegistered,
    ClaimRejected,
    ClaimSettled,
    ClaimWrittenOff,
    Contact,
    DebtAcknowledged,
    Debtor,
    DebtorPersonalDataErased,
    FixedFeeWaived,
    Installment,
    InstallmentMissed,
    LimitationApproaching,
    PaymentPlanAgreed,
    PaymentPlanDefaulted,
    PaymentReceived,
    PromiseBroken,
    PromiseToPayRecorded,
)
from amiable_events.communications import (
    CallOutcomeRecorded,
    CommunicationDeferred,
    CommunicationDelivered,
    CommunicationFailed,
    CommunicationQueued,
    CommunicationReleased,
    CommunicationReviewed,
    CommunicationSent,
    CommunicationSuppressed,
    ContactPreferencesSet,
    Cost,
    CreditorProfile,
    CreditorProfileSet,
    InteractionRecorded,
    Party,
    StepDetails,
    TrackingRecorded,
)
from amiable_events.disputes import (
    DisputeAssigned,
    DisputeCommented,
    DisputeEscalatedToMediation,
    DisputeOpened,
    DisputeReclassified,
    DisputeResolved,
    DisputeSlaBreached,
    DisputeWithdrawn,
    HardshipDeclared,
)
from amiable_events.dunning import (
    ClaimEscalated,
    DunningApprovalRequested,
    DunningPaused,
    DunningPlanScheduled,
    DunningPolicyActivated,
    DunningPolicyPublished,
    DunningRescheduled,
    DunningResumed,
    DunningStepDue,
    DunningStepSkipped,
    DunningStopped,
    ScheduledStep,
)
from amiable_events.envelope import Envelope, service_actor
from amiable_events.ids import caused_id, caused_steps, keyed_id, timer_event_id
from amiable_events.ledger import ClaimLedger, Figures, fold
from amiable_events.risk import (
    CreditLimitSet,
    InsolvencyRecorded,
    Reason,
    RiskAlertRaised,
    RiskAssessed,
    SegmentOverridden,
)
from amiable_rules import limitation
from amiable_rules.business_days import is_business_day, next_business_day
from amiable_rules.governing_law import GoverningLaws
from amiable_rules.late_fees import LateFeeRules
from amiable_rules.limitation import LimitationRules
from amiable_rules.local_time import zone

TENANT = "acme-industrie"
#: The ``sub`` of the creditor's people calling the APIs: who caused each request's events.
CLERK = "acme|ar-clerk-07"
COLLECTOR = "acme|collector-02"
AGENT = "acme|call-agent-11"
COUNTRY, TIMEZONE, LANGUAGE, LAW = "FR", "Europe/Paris", "fr-FR", "FR"
PARIS = zone(TIMEZONE)
#: The services' defaults: French law unless the claim says otherwise, the shipped policy.
FIGURES = Figures(late_fees=LateFeeRules.load(), governing_laws=GoverningLaws(default=LAW))
POLICY_ID, POLICY_VERSION, MAX_REMINDERS = "default", "2026.12-1", 3
SCORECARD_VERSION = "2026.12-1"
#: What one message costs (the communications service's defaults, EUR).
COSTS = {
    "email": "0.02",
    "phone": "3.50",
    "letter": "1.45",
    "registered_letter": "6.95",
    "lawyer": "0",
}
MESSAGE_ID_DOMAIN = "amiable.invalid"


@dataclass(frozen=True)
class StepSpec:
    """A step of the shipped policy's ``standard_b2b`` track, FR (neutral tone by default)."""

    key: str
    offset: int  # business days after the due date
    action: str
    channels: tuple[str, ...]
    template: str
    stage: str
    tone: str = "neutral"
    contact_role: str = "accounts_payable"
    needs_approval: bool = False
    payment_deadline_days: int | None = None


STANDARD_B2B = (
    StepSpec("call_overdue", 2, "call_task", ("phone",), "call.first_overdue", "amicable"),
    StepSpec("email_reminder", 7, "email", ("email",), "email.reminder", "amicable"),
    StepSpec("letter_reminder", 15, "letter", ("letter",), "letter.reminder", "amicable"),
    StepSpec("letter_email_copy", 15, "email", ("email",), "email.letter_copy", "amicable"),
    StepSpec(
        "registered_letter",
        25,
        "registered_letter",
        ("registered_letter",),
        "letter.registered",
        "firm",
        tone="firm",
        contact_role="management",
    ),
    StepSpec(
        "formal_notice",
        35,
        "formal_notice",
        ("registered_letter", "email"),
        "notice.formal",
        "formal_notice",
        tone="firm",
        contact_role="management",
        payment_deadline_days=8,
    ),
    StepSpec(
        "litigation_handoff",
        50,
        "litigation_handoff",
        ("lawyer",),
        "handoff.litigation",
        "after_formal_notice",
        tone="firm",
        contact_role="management",
        needs_approval=True,
    ),
)
#: The step actions the governor counts as reminders (dunning's ``REMINDERS``): grouped per day.
REMINDERS = frozenset({"call_task", "email", "sms", "letter", "registered_letter"})


def paris(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A local time in the debtor's zone, in UTC as the log has it."""
    return datetime.combine(day, time(hour, minute, second), PARIS).astimezone(UTC)


def add_business_days(day: date, count: int) -> date:
    """``count`` French business days after ``day``, before it when negative (dunning's
    ``schedule.add_business_days``)."""
    for _ in range(abs(count)):
        if count > 0:
            day = next_business_day(day + timedelta(days=1), COUNTRY)
        else:
            day -= timedelta(days=1)
            while not is_business_day(day, COUNTRY):
                day -= timedelta(days=1)
    return next_business_day(day, COUNTRY)


def business_days_between(start: date, end: date) -> int:
    return sum(
        is_business_day(start + timedelta(days=n), COUNTRY)
        for n in range(1, (end - start).days + 1)
    )


def scheduled(spec: StepSpec, day: date) -> ScheduledStep:
    return ScheduledStep(
        key=spec.key,
        action=spec.action,
        channels=spec.channels,
        template=spec.template,
        tone=spec.tone,
        solution_first=False,
        contact_role=spec.contact_role,
        stage=spec.stage,
        planned_on=day,
        at=paris(day, 9),
        needs_approval=spec.needs_approval,
        payment_deadline_days=spec.payment_deadline_days,
    )


def standard_plan(due_on: date, after: datetime) -> tuple[ScheduledStep, ...]:
    """The ``standard_b2b`` steps still to come after ``after``."""
    steps = (scheduled(s, add_business_days(due_on, s.offset)) for s in STANDARD_B2B)
    return tuple(s for s in steps if s.at >= after)


def shifted(steps: tuple[ScheduledStep, ...], start: datetime) -> tuple[ScheduledStep, ...]:
    """Dunning's ``plans.shifted``: the first step on the first business day from ``start``,
    the others keeping their business-day spacing (all at 09:00 local here)."""
    if not steps or steps[0].at >= start:
        return steps
    local = start.astimezone(PARIS)
    day = next_business_day(local.date(), COUNTRY)
    if day == local.date() and local.time() > time(9):
        day = next_business_day(day + timedelta(days=1), COUNTRY)
    first = steps[0].planned_on
    out = []
    for step in steps:
        gap = business_days_between(first, step.planned_on)
        new_day = add_business_days(day, gap) if gap else day
        out.append(step.model_copy(update={"planned_on": new_day, "at": paris(new_day, 9)}))
    return tuple(out)


def installment_reminders(installments, now: datetime) -> tuple[ScheduledStep, ...]:
    """Dunning's reminders of a payment plan: a courteous email three business days before
    each instalment and one the business day after it, those still to come."""
    out = []
    for index, installment in enumerate(installments):
        for key, offset, template, tone in (
            ("before", -3, "plan.installment_before", "courteous"),
            ("after", 1, "plan.installment_after", "neutral"),
        ):
            day = add_business_days(installment.due_on, offset)
            if paris(day, 9) <= now:
                continue
            out.append(
                ScheduledStep(
                    key=f"installment_{index + 1}_{key}",
                    action="email",
                    channels=("email",),
                    template=template,
                    tone=tone,
                    solution_first=False,
                    contact_role="accounts_payable",
                    stage="amicable",
                    planned_on=day,
                    at=paris(day, 9),
                    installment=index,
                )
            )
    return tuple(sorted(out, key=lambda s: s.at))


def money(text: str) -> Decimal:
    return Decimal(text)


class Story:
    """One debtor account's events in log order, appended the way each service appends them."""

    def __init__(self, debtor_id: str, legal_name: str, siren: str, person: str, city: str):
        self.debtor_id = debtor_id
        self.account = f"{TENANT}:{debtor_id}"
        self.key = sealing.account_key(self.account)
        slug = legal_name.split()[0].lower()
        address = {"lines": [f"12 rue des Tanneurs, 69002 {city}"], "country": COUNTRY}
        self.debtor = Debtor(
            id=debtor_id,
            legal_name=legal_name,
            registration_id=siren,
            country=COUNTRY,
            language=LANGUAGE,
            timezone=TIMEZONE,
            contacts=(
                Contact(
                    name=self.seal(person),
                    email=self.seal(f"compta@{slug}.example"),
                    phone=self.seal("+33 4 72 00 00 00"),
                    role_sealed=self.seal("comptabilité fournisseurs"),
                ),
            ),
            postal_address=self.seal(json.dumps(address, ensure_ascii=False)),
        )
        self.envelopes: list[Envelope] = []
        self.ledgers: dict[UUID, ClaimLedger] = {}
        self.revisions: dict[UUID, int] = {}

    def seal(self, text: str) -> str:
        return sealing.seal(self.key, self.account, text)

    # --- how each kind of writer appends -------------------------------------------------

    def _append(self, envelopes: list[Envelope]) -> list[Envelope]:
        for envelope in envelopes:
            claim_id = getattr(envelope.data, "claim_id", None)
            if claim_id is not None:
                ledger = fold(self.ledgers.get(claim_id), envelope.data, TENANT)
                if ledger is not None:
                    self.ledgers[claim_id] = ledger
        self.envelopes += envelopes
        return envelopes

    def request(
        self,
        at: datetime,
        *events: Event,
        first_id: UUID,
        correlation_id: UUID | None = None,
        actor: str = CLERK,
    ) -> list[Envelope]:
        """A request's events (the command bus): the first has ``first_id``, it causes the
        others."""
        steps = [None, *caused_steps(events[1:])]
        return self._append(
            [
                Envelope(
                    id=first_id if n == 0 else caused_id(first_id, event.source, steps[n]),
                    subject=event.subject,
                    time=at,
                    tenant=TENANT,
                    debtor_id=self.debtor_id,
                    correlation_id=correlation_id or first_id,
                    causation_id=None if n == 0 else first_id,
                    data=event,
                    actor=actor,
                )
                for n, event in enumerate(events)
            ]
        )

    def command(self, at, *events, subject, command: str, key: str, actor=CLERK):
        """A command with an Idempotency-Key: its first id is scoped to tenant, subject and
        command type (``CommandBus.execute``)."""
        service = events[0].source
        first_id = keyed_id(TENANT, str(subject), command, key, service, "command")
        return self.request(at, *events, first_id=first_id, actor=actor)

    def react(self, trigger: Envelope, *events: Event) -> list[Envelope]:
        """A reaction's events (``reactions.caused_envelopes``), all of one service."""
        service = events[0].source
        return self._append(
            [
                trigger.caused(
                    event,
                    id=caused_id(trigger.id, service, step),
                    time=trigger.time,
                    subject=event.subject,
                    actor=service_actor(service),
                )
                for event, step in zip(events, caused_steps(events), strict=True)
            ]
        )

    def timer(self, timer_id: str, due_at: datetime, event: Event) -> Envelope:
        """The event a durable timer appends (``TimerRow.envelope``), correlated by its claim."""
        service = event.source
        subject = event.subject
        event_id = timer_event_id(service, timer_id)
        try:
            correlation = UUID(subject)
        except ValueError:
            correlation = event_id
        envelope = Envelope(
            id=event_id,
            subject=subject,
            time=due_at,
            tenant=TENANT,
            debtor_id=self.debtor_id,
            correlation_id=correlation,
            data=event,
            actor=service_actor(service),
        )
        return self._append([envelope])[0]

    def sent(self, claim_id: UUID, at: datetime, *events: Event) -> list[Envelope]:
        """The sender's events, ids derived from the message (``sender.event_id``)."""
        names = {
            CommunicationSent: "sent",
            CommunicationDelivered: "delivered",
            CommunicationFailed: "failed",
        }
        return self._append(
            [
                Envelope(
                    id=keyed_id("communications", names[type(e)], str(e.communication_id)),
                    subject=str(claim_id),
                    time=at,
                    tenant=TENANT,
                    debtor_id=self.debtor_id,
                    correlation_id=claim_id,
                    data=e,
                    actor=service_actor("communications"),
                )
                for e in events
            ]
        )

    # --- the claims service ----------------------------------------------------------------

    def register(
        self, invoice: str, amount: str, issued_on: date, due_on: date, at: datetime
    ) -> tuple[UUID, Envelope]:
        """``POST /v1/claims`` with an Idempotency-Key: registered and qualified at once."""
        key = f"register-{invoice}"
        claim_id = keyed_id(TENANT, "claim", key)
        rule = LimitationRules.load().for_law(LAW)
        registered = ClaimRegistered(
            claim_id=claim_id,
            invoice_number=invoice,
            amount=money(amount),
            currency="EUR",
            issued_on=issued_on,
            due_on=due_on,
            contract_reference="CT-2025-118",
            purchase_order=f"PO-{invoice[-4:]}",
            description=self.seal("Fourniture de pièces usinées, lot de mars"),
            debtor=self.debtor,
            registered_at=at,
            idempotency_key=key,
            governing_law=LAW,
            governing_law_source="claim",
        )
        qualified = ClaimQualified(
            claim_id=claim_id,
            qualified_at=at,
            prescription_date=limitation.prescription_date(rule, due_on=due_on),
        )
        first_id = keyed_id(TENANT, "claim-registered", key)
        envelopes = self.request(at, registered, qualified, first_id=first_id)
        self.revisions[claim_id] = 0
        return claim_id, envelopes[1]

    def due(self, claim_id: UUID, on: date) -> Decimal:
        return self.ledgers[claim_id].amount_due(on, FIGURES).total

    def pay(self, claim_id: UUID, amount: Decimal, received_on: date, at: datetime, key: str):
        """``POST /v1/claims/{id}/payments``: settled in the same command when it covers what
        is due (principal, late interest, the fixed fee)."""
        payment = PaymentReceived(
            claim_id=claim_id,
            payment_id=keyed_id(TENANT, "payment", str(claim_id), key),
            amount=amount,
            currency="EUR",
            received_on=received_on,
            reference=f"VIR {self.ledgers[claim_id].invoice_number}",
            method="transfer",
            recorded_at=at,
        )
        ledger = fold(self.ledgers[claim_id], payment, TENANT)
        due = ledger.amount_due(at.date(), FIGURES)
        settled = []
        if due.total <= 0:
            settled = [
                ClaimSettled(claim_id=claim_id, settled_on=received_on, overpaid=due.overpaid)
            ]
        envelopes = self.command(
            at, payment, *settled, subject=claim_id, command="RecordPayment", key=key
        )
        return envelopes[0], envelopes[-1]

    # --- risk --------------------------------------------------------------------------------

    def _assessment(self, at: datetime, figures: tuple, trigger: str, claim_id=None):
        score, band, grade, *reasons = figures
        return RiskAssessed(
            debtor_id=self.debtor_id,
            score=score,
            band=band,
            grade=grade,
            segment="new_customer",
            scored_segment="new_customer",
            reasons=tuple(Reason(code=c, points=p, value=v) for c, p, v in reasons),
            scorecard_version=SCORECARD_VERSION,
            as_of=at.astimezone(PARIS).date(),
            assessed_at=at,
            trigger=trigger,
            claim_id=claim_id,
        )

    def assessed(self, trigger: Envelope, *figures) -> Envelope:
        """Risk's assessment of the account after ``trigger``, as the shipped scorecard gives it
        (score, band, grade, then each reason's code, points and value): risk publishes one when
        a claim is qualified and when the band, the grade or the segment moves."""
        if isinstance(trigger.data, ClaimQualified):
            event = self._assessment(
                trigger.time, figures, "claim_qualified", trigger.data.claim_id
            )
        else:
            event = self._assessment(trigger.time, figures, "account_changed")
        return self.react(trigger, event)[0]

    def reviewed(self, day: date, *figures) -> Envelope:
        """Risk's review timer: time alone moved the assessment (a claim aged into another
        past-due band); it fires at 06:00 local on the debtor's business day."""
        at = paris(day, 6)
        event = self._assessment(at, figures, "time_passed")
        return self.timer(f"review:{self.account}:{day.isoformat()}", at, event)

    # --- dunning -------------------------------------------------------------------------------

    def qualified(
        self, invoice: str, amount: str, issued_on: date, due_on: date, registered_at: datetime
    ) -> tuple[UUID, Envelope]:
        """A new customer's invoice registered and qualified: risk grades the debtor A (nothing
        known yet) and dunning plans the standard track. The claim's id and its plan."""
        claim_id, qualified = self.register(invoice, amount, issued_on, due_on, registered_at)
        known = str((registered_at.date() - issued_on).days)
        self.assessed(
            qualified, 12, 1, "A", ("new_customer", 8, known), ("no_payment_history", 4, "none")
        )
        steps = standard_plan(due_on, qualified.time)
        plan = self.plan(qualified, claim_id, steps, "claim_qualified", "standard_b2b")
        return claim_id, plan

    def overdue_review(self, day: date) -> Envelope:
        """Risk's daily review the day after the invoice fell due, 30 days after issue."""
        return self.reviewed(
            day,
            *(22, 2, "B", ("overdue_up_to_30_days", 10, "1"), ("new_customer", 8, "31")),
            ("no_payment_history", 4, "none"),
        )

    def plan(self, trigger: Envelope, claim_id: UUID, steps, reason: str, track: str, event=None):
        revision = self.revisions[claim_id] + 1
        self.revisions[claim_id] = revision
        scheduled_plan = DunningPlanScheduled(
            claim_id=claim_id,
            revision=revision,
            steps=steps,
            reason=reason,
            policy_id=POLICY_ID,
            policy_version=POLICY_VERSION,
            track=track,
            max_reminders_per_stage=MAX_REMINDERS,
            scheduled_at=trigger.time,
        )
        return self.react(trigger, event or scheduled_plan)[0]

    def step_due(self, claim_id: UUID, step: ScheduledStep) -> Envelope:
        """A planned step's timer fires: the step goes out on its first channel (a formal
        notice states the amount owed on its day), or waits for a person's approval."""
        revision = self.revisions[claim_id]
        timer_id = f"dunning:{claim_id}:{revision}:{step.key}"
        if step.needs_approval:
            requested = DunningApprovalRequested(
                claim_id=claim_id,
                revision=revision,
                step=step.key,
                action=step.action,
                requested_at=step.at,
            )
            return self.timer(timer_id, step.at, requested)
        return self.timer(timer_id, step.at, self.step_due_event(claim_id, step))

    def step_due_event(
        self, claim_id: UUID, step: ScheduledStep, approved_by: str | None = None
    ) -> DunningStepDue:
        revision = self.revisions[claim_id]
        amount_due = None
        if step.action == "formal_notice":
            amount_due = self.ledgers[claim_id].itemised(step.planned_on, FIGURES)
        if step.action in REMINDERS and not step.needs_approval:
            group_id = keyed_id("dunning-group", TENANT, self.debtor_id, step.at.isoformat())
        else:
            group_id = keyed_id("dunning-step", str(claim_id), str(revision), step.key)
        return DunningStepDue(
            claim_id=claim_id,
            revision=revision,
            step=step.key,
            action=step.action,
            channel=step.channels[0],
            fallback_channels=step.channels[1:],
            template=step.template,
            tone=step.tone,
            solution_first=step.solution_first,
            contact_role=step.contact_role,
            stage=step.stage,
            due_at=step.at,
            group_id=group_id,
            group=(claim_id,),
            amount_due=amount_due,
            payment_deadline=(
                step.planned_on + timedelta(days=step.payment_deadline_days)
                if step.payment_deadline_days
                else None
            ),
            installment=step.installment,
            approved_by=approved_by,
            review=step.review,
        )

    def stopped(self, trigger: Envelope, reason: str) -> Envelope:
        claim_id = trigger.data.claim_id
        stop = DunningStopped(claim_id=claim_id, reason=reason, stopped_at=trigger.time)
        return self.react(trigger, stop)[0]

    # --- communications --------------------------------------------------------------------------

    def message(
        self,
        cause: Envelope,
        *,
        channel: str,
        template: str,
        subject: str,
        body: str,
        purpose: str = "dunning_step",
        tone: str | None = None,
        delivered: bool = True,
    ) -> CommunicationSent:
        """The message ``cause`` asks for: queued (the reaction), released by the contact
        governor's timer, sent (and delivered, for email) by the sender a few seconds later."""
        claim_id = cause.data.claim_id
        communication_id = keyed_id("communication", str(cause.id))
        step = cause.data if isinstance(cause.data, DunningStepDue) else None
        kind = "transactional"
        if step is not None and channel not in ("bailiff", "lawyer"):
            kind = "call_attempt" if channel in ("phone", "visit") else "reminder"
        at = step.due_at if step is not None else cause.time
        ids = {"claim_id": claim_id, "communication_id": communication_id}
        queued = CommunicationQueued(
            **ids,
            purpose=purpose,
            cause_id=cause.id,
            claims=step.group if step is not None else (claim_id,),
            channel=channel,
            template=template,
            tone=tone or (step.tone if step is not None else "courteous"),
            language=LANGUAGE,
            kind=kind,
            not_before=at,
            revision=step.revision if step is not None else None,
            step=step.step if step is not None else None,
            group_id=step.group_id if step is not None else None,
            details=None
            if step is None
            else StepDetails(
                solution_first=step.solution_first,
                contact_role=step.contact_role,
                amount_due=step.amount_due,
                payment_deadline=step.payment_deadline,
                installment=step.installment,
            ),
            queued_at=cause.time,
        )
        self.react(cause, queued)
        released = CommunicationReleased(**ids, channel=channel, kind=kind, released_at=at)
        self.timer(f"governor:{communication_id}:{at.isoformat()}", at, released)
        # the sender's clock: once the message is released and the cause is on the log
        sent_at = max(at, cause.time) + timedelta(seconds=3)
        letter = channel in ("letter", "registered_letter")
        content = json.dumps({"subject": subject, "body": body}, ensure_ascii=False)
        sent = CommunicationSent(
            **ids,
            claims=queued.claims,
            channel=channel,
            template=template,
            language=LANGUAGE,
            tone=queued.tone,
            cost=Cost(amount=money(COSTS[channel]), currency="EUR"),
            message_id=f"<{communication_id}@{MESSAGE_ID_DOMAIN}>" if channel == "email" else None,
            document_sha256=keyed_id("pdf", str(communication_id)).hex * 2 if letter else None,
            registered=channel == "registered_letter",
            content=self.seal(content),
            revision=queued.revision,
            step=queued.step,
            sent_at=sent_at,
        )
        events: list[Event] = [sent]
        if delivered and channel == "email":
            events.append(CommunicationDelivered(**ids, channel=channel, delivered_at=sent_at))
        self.sent(claim_id, sent_at, *events)
        return sent

    def first_call(
        self, claim_id: UUID, step: ScheduledStep, invoice: str, outcome_at=None, notes=""
    ) -> CommunicationSent:
        """The track's first step: a call task for an agent; when ``outcome_at`` is given, the
        agent reached the debtor and recorded ``notes``."""
        task = self.message(
            self.step_due(claim_id, step),
            channel="phone",
            template="call.first_overdue",
            subject=f"Appel : facture {invoice} échue",
            body=f"Appeler la comptabilité fournisseurs au sujet de la facture {invoice}.",
        )
        if outcome_at is not None:
            self.command(
                outcome_at,
                CallOutcomeRecorded(
                    claim_id=claim_id,
                    communication_id=task.communication_id,
                    outcome="reached",
                    notes=self.seal(notes),
                    agent=AGENT,
                    recorded_at=outcome_at,
                ),
                subject=claim_id,
                command="RecordCallOutcome",
                key=f"call-{task.communication_id}",
                actor=AGENT,
            )
        return task


# --- the scenarios -------------------------------------------------------------------------------


def paid_on_time() -> list[Envelope]:
    """A claim registered a day after its invoice, paid two days before it falls due: dunning
    planned its steps and stops them unsent; nothing is ever sent."""
    story = Story("C-20417", "Tournier Mécanique SAS", "552081317", "Hélène Tournier", "Lyon")
    claim_id, _ = story.qualified(
        "FA-2026-0142",
        "2400.00",
        date(2026, 3, 2),
        date(2026, 4, 1),
        paris(date(2026, 3, 3), 10, 15),
    )
    _, settled = story.pay(
        claim_id,
        money("2400.00"),
        date(2026, 3, 30),
        paris(date(2026, 3, 30), 14, 5),
        "pay-FA-2026-0142",
    )
    story.stopped(settled, "claim_settled")
    story.assessed(settled, 8, 0, "A", ("new_customer", 8, "28"))
    return story.envelopes


def chased_then_paid() -> list[Envelope]:
    """An invoice not paid when due: a call two business days later, an email reminder after
    seven, then the debtor pays everything owed that day (principal, late interest, the EUR 40
    fixed fee); dunning stops, communications thanks the debtor."""
    story = Story("C-20533", "Garnier Logistique SARL", "432766954", "Marc Garnier", "Lyon")
    due_on = date(2026, 3, 4)
    claim_id, plan = story.qualified(
        "FA-2026-0157", "3180.00", date(2026, 2, 2), due_on, paris(date(2026, 2, 3), 9, 40)
    )
    steps = plan.data.steps
    story.overdue_review(date(2026, 3, 5))
    story.first_call(
        claim_id,
        steps[0],
        "FA-2026-0157",
        paris(date(2026, 3, 6), 10, 20),
        "Facture reçue, en attente de validation interne.",
    )
    email = story.step_due(claim_id, steps[1])
    story.message(
        email,
        channel="email",
        template="email.reminder",
        subject="Rappel : facture FA-2026-0157",
        body="Bonjour, sauf erreur de notre part, la facture FA-2026-0157 reste impayée.",
    )
    paid_on = date(2026, 3, 18)
    _, settled = story.pay(
        claim_id, story.due(claim_id, paid_on), paid_on, paris(paid_on, 11, 30), "pay-FA-2026-0157"
    )
    story.stopped(settled, "claim_settled")
    story.message(
        settled,
        purpose="thanks",
        channel="email",
        template="thanks.settled",
        subject="Merci pour votre règlement",
        body="Nous avons bien reçu le règlement de la facture FA-2026-0157. Merci.",
    )
    return story.envelopes


def disputed_then_adjusted() -> list[Envelope]:
    """The debtor contests the whole invoice (faulty parts): dunning pauses, the creditor
    reviews it and accepts a part; claims reduces the claim by that part (a credit note named
    after the dispute), dunning resumes on what is left."""
    story = Story("C-20688", "Besson Emballages SA", "381920443", "Julie Besson", "Lyon")
    due_on = date(2026, 4, 1)
    claim_id, plan = story.qualified(
        "FA-2026-0188", "4800.00", date(2026, 3, 2), due_on, paris(date(2026, 3, 2), 16, 5)
    )
    steps = plan.data.steps
    story.overdue_review(date(2026, 4, 2))
    story.first_call(claim_id, steps[0], "FA-2026-0188")
    opened_at = paris(date(2026, 4, 7), 14, 10)
    key = "dispute-FA-2026-0188"
    dispute_id = keyed_id(TENANT, "dispute", str(claim_id), key)
    ledger = story.ledgers[claim_id]
    opened = story.command(
        opened_at,
        DisputeOpened(
            claim_id=claim_id,
            dispute_id=dispute_id,
            reason="quality_or_service",
            disputed_amount=ledger.amount_due(opened_at.date(), FIGURES).total,
            currency="EUR",
            whole_claim=True,
            description=story.seal("Pièces hors tolérance sur le lot livré le 27 février."),
            raised_by="debtor_contact",
            opened_at=opened_at,
            acknowledge_by=paris(date(2026, 4, 10), 0),
            resolve_by=paris(date(2026, 5, 8), 0),
        ),
        subject=claim_id,
        command="OpenDispute",
        key=key,
    )[0]
    story.assessed(
        opened,
        *(37, 3, "B", ("disputes_most_claims", 15, "1.00"), ("overdue_up_to_30_days", 10, "6")),
        ("new_customer", 8, "36"),
    )
    story.react(
        opened,
        DunningPaused(
            claim_id=claim_id, reason="dispute_opened", dispute_id=dispute_id, paused_at=opened_at
        ),
    )
    story.message(
        opened,
        purpose="confirmation",
        channel="email",
        template="confirm.dispute",
        subject="Nous avons bien reçu votre contestation",
        body="Votre contestation de la facture FA-2026-0188 est enregistrée.",
    )
    assigned_at = paris(date(2026, 4, 8), 9, 30)
    story.command(
        assigned_at,
        DisputeAssigned(
            claim_id=claim_id, dispute_id=dispute_id, assignee=COLLECTOR, assigned_at=assigned_at
        ),
        subject=claim_id,
        command="Assign",
        key=f"assign-{dispute_id}",
        actor=COLLECTOR,
    )
    resolved_at = paris(date(2026, 4, 21), 15, 0)
    resolved = story.command(
        resolved_at,
        DisputeResolved(
            claim_id=claim_id,
            dispute_id=dispute_id,
            outcome="partially_upheld",
            accepted_amount=money("1200.00"),
            resolution_note=story.seal("Un quart du lot est hors tolérance : avoir de 1200 EUR."),
            disputed_amount=opened.data.disputed_amount,
            currency="EUR",
            whole_claim=True,
            resolved_at=resolved_at,
        ),
        subject=claim_id,
        command="Resolve",
        key=f"resolve-{dispute_id}",
        actor=COLLECTOR,
    )[0]
    story.react(
        resolved,
        adjusted_by_dispute(claim_id, dispute_id, money("1200.00"), resolved_at),
    )
    remaining = tuple(s for s in steps[1:])
    story.revisions[claim_id] += 1
    story.react(
        resolved,
        DunningResumed(
            claim_id=claim_id,
            revision=story.revisions[claim_id],
            steps=shifted(remaining, resolved_at),
            reason="partial_dispute_resolved",
            resumed_at=resolved_at,
        ),
    )
    return story.envelopes


def adjusted_by_dispute(claim_id: UUID, dispute_id: UUID, amount: Decimal, at: datetime):
    """What claims appends when a dispute is partially upheld (``domain.disputes.resolve``):
    its fixed, clear reason (a reaction cannot seal) and a credit note named after it."""
    return ClaimAdjusted(
        claim_id=claim_id,
        amount=amount,
        credit_note_reference=f"dispute:{dispute_id}",
        reason=f"dispute {dispute_id} partially upheld",
        adjusted_on=at.astimezone(PARIS).date(),
        adjusted_at=at,
    )


def plan_defaulted_then_escalated() -> list[Envelope]:
    """After a first call the debtor agrees a plan of three monthly instalments, pays the first
    and misses the other two: claims notes the first miss and defaults the plan on the second,
    dunning goes back to its track one stage firmer (a registered letter, the formal notice
    with the amount owed that day, then the litigation handoff), and a collector approves the
    handoff: the claim is escalated."""
    story = Story("C-20791", "Roux Menuiserie SAS", "414520087", "Paul Roux", "Villeurbanne")
    due_on = date(2026, 2, 4)
    claim_id, plan = story.qualified(
        "FA-2026-0203", "6000.00", date(2026, 1, 5), due_on, paris(date(2026, 1, 6), 10, 0)
    )
    whole = plan.data.steps
    story.overdue_review(date(2026, 2, 5))
    story.first_call(
        claim_id,
        whole[0],
        "FA-2026-0203",
        paris(date(2026, 2, 6), 11, 5),
        "Trésorerie tendue : demande un échéancier sur trois mois.",
    )
    agreed_on = date(2026, 2, 10)
    agreed_at = paris(agreed_on, 11, 0)
    balance = story.due(claim_id, agreed_on)
    part = (balance / 3).quantize(Decimal("0.01"), ROUND_DOWN)
    installments = tuple(
        Installment(due_on=agreed_on + timedelta(days=30 * (n + 1)), amount=amount)
        for n, amount in enumerate((part, part, balance - 2 * part))
    )
    key = "plan-FA-2026-0203"
    agreed = story.command(
        agreed_at,
        PaymentPlanAgreed(
            claim_id=claim_id,
            # the service draws a random id; derived from the key here, so the file is stable
            plan_id=keyed_id(TENANT, "plan", str(claim_id), key),
            agreed_on=agreed_on,
            installments=installments,
            grace_days=5,
            agreed_at=agreed_at,
        ),
        subject=claim_id,
        command="AgreePaymentPlan",
        key=key,
    )[0]
    reminders = installment_reminders(installments, agreed_at)
    story.plan(agreed, claim_id, reminders, "payment_plan_agreed", "payment_plan")
    story.message(
        agreed,
        purpose="confirmation",
        channel="email",
        template="confirm.payment_plan",
        subject="Votre échéancier",
        body="Nous confirmons l'échéancier de la facture FA-2026-0203 en trois mensualités.",
    )
    plan_id = agreed.data.plan_id
    texts = {
        "before": ("Prochaine échéance", "Votre prochaine échéance arrive dans trois jours."),
        "after": ("Échéance impayée", "Sauf erreur, l'échéance d'hier n'a pas été réglée."),
    }

    def remind(step: ScheduledStep) -> None:
        title, body = texts[step.key.rsplit("_", 1)[1]]
        story.message(
            story.step_due(claim_id, step),
            channel="email",
            template=step.template,
            subject=f"{title} : facture FA-2026-0203",
            body=body,
        )

    def missed(index: int, kind) -> Envelope:
        installment = installments[index]
        event = kind(
            claim_id=claim_id, plan_id=plan_id, installment=index, due_on=installment.due_on
        )
        fired = datetime.combine(installment.due_on + timedelta(days=6), time(0), UTC)
        return story.timer(f"installment:{plan_id}:{index}", fired, event)

    story.reviewed(
        date(2026, 3, 9),
        *(32, 3, "B", ("overdue_31_to_60_days", 20, "33"), ("new_customer", 8, "63")),
        ("no_payment_history", 4, "none"),
    )
    remind(reminders[0])
    first_paid = installments[0].due_on - timedelta(days=1)
    story.pay(
        claim_id, installments[0].amount, first_paid, paris(first_paid, 15, 0), "pay-FA-2026-0203-1"
    )
    skipped = reminders[1]
    story.timer(
        f"dunning:{claim_id}:{story.revisions[claim_id]}:{skipped.key}",
        skipped.at,
        DunningStepSkipped(
            claim_id=claim_id,
            revision=story.revisions[claim_id],
            step=skipped.key,
            reason="paid_since_planned",
            skipped_at=skipped.at,
        ),
    )
    remind(reminders[2])
    remind(reminders[3])
    missed(1, InstallmentMissed)
    remind(reminders[4])
    story.reviewed(
        date(2026, 5, 6),
        *(48, 4, "C", ("overdue_over_90_days", 40, "91"), ("customer_under_a_year", 4, "121")),
        ("no_payment_history", 4, "none"),
    )
    remind(reminders[5])
    defaulted = missed(2, PaymentPlanDefaulted)
    story.assessed(
        defaulted,
        *(63, 6, "D", ("overdue_over_90_days", 40, "102"), ("defaulted_a_payment_plan", 15, "1")),
        ("customer_under_a_year", 4, "132"),
    )
    # the track before the plan, from one stage firmer than the call and the plan's emails
    firm = shifted(tuple(s for s in whole if s.stage != "amicable"), defaulted.time)
    story.plan(defaulted, claim_id, firm, "payment_plan_defaulted", "standard_b2b")
    letter, notice, handoff = firm
    story.message(
        story.step_due(claim_id, letter),
        channel="registered_letter",
        template=letter.template,
        subject="Lettre recommandée : facture FA-2026-0203",
        body="Malgré nos relances et l'échéancier convenu, la facture reste impayée.",
    )
    story.message(
        story.step_due(claim_id, notice),
        channel="registered_letter",
        template=notice.template,
        subject="Mise en demeure de payer",
        body="Nous vous mettons en demeure de régler sous huit jours la somme due.",
    )
    story.step_due(claim_id, handoff)
    approved_at = paris(handoff.planned_on + timedelta(days=1), 10, 30)
    due, _ = story.command(
        approved_at,
        story.step_due_event(claim_id, handoff, approved_by=COLLECTOR),
        ClaimEscalated(
            claim_id=claim_id,
            reason="litigation_handoff",
            timeline_reference=timer_event_id(
                "dunning", f"dunning:{claim_id}:{story.revisions[claim_id]}:{handoff.key}"
            ),
            approved_by=COLLECTOR,
            escalated_at=approved_at,
        ),
        subject=claim_id,
        command="Approve",
        key=f"approve-{claim_id}-{handoff.key}",
        actor=COLLECTOR,
    )
    story.message(
        due,
        channel="lawyer",
        template=handoff.template,
        subject="Transmission du dossier FA-2026-0203",
        body="Dossier transmis à l'avocat pour une action en justice.",
    )
    return story.envelopes


def debtor_erased() -> list[Envelope]:
    """The creditor corrects the debtor's contact (a new email, sealed), the debtor pays on
    time, and months later asks for its personal data to be erased: the account's key is
    shredded and ``DebtorPersonalDataErased`` says so; every sealed value above it reads
    ``[erased]`` from then on, the events themselves stay."""
    story = Story("C-20852", "Lambert Transports SARL", "480122375", "Sophie Lambert", "Lyon")
    due_on = date(2026, 4, 15)
    claim_id, _ = story.qualified(
        "FA-2026-0231", "1250.00", date(2026, 3, 16), due_on, paris(date(2026, 3, 16), 17, 20)
    )
    amended_at = paris(date(2026, 3, 24), 11, 45)
    contact = Contact(
        name=story.seal("Sophie Lambert"),
        email=story.seal("s.lambert@lambert-transports.example"),
        phone=story.seal("+33 4 72 00 00 00"),
        role_sealed=story.seal("directrice administrative et financière"),
    )
    story.command(
        amended_at,
        ClaimAmended(claim_id=claim_id, amended_at=amended_at, contacts=(contact,)),
        subject=claim_id,
        command="AmendClaim",
        key="amend-FA-2026-0231",
    )
    paid_on = date(2026, 4, 14)
    _, settled = story.pay(
        claim_id, money("1250.00"), paid_on, paris(paid_on, 10, 0), "pay-FA-2026-0231"
    )
    story.stopped(settled, "claim_settled")
    story.assessed(settled, 8, 0, "A", ("new_customer", 8, "29"))
    erased_at = paris(date(2026, 9, 1), 9, 15)
    story.request(
        erased_at,
        DebtorPersonalDataErased(debtor_id=story.debtor_id, erased_at=erased_at),
        # the service draws a random id for an erasure; derived here, so the file is stable
        first_id=keyed_id(TENANT, "erasure", story.debtor_id, erased_at.isoformat()),
    )
    return story.envelopes


SCENARIOS: dict[str, Callable[[], list[Envelope]]] = {
    "paid-on-time": paid_on_time,
    "chased-then-paid": chased_then_paid,
    "disputed-then-adjusted": disputed_then_adjusted,
    "plan-defaulted-then-escalated": plan_defaulted_then_escalated,
    "debtor-erased": debtor_erased,
}


def _others() -> list[Envelope]:
    """One event of each type no scenario has, on the chased-then-paid debtor's account (a
    second invoice of it) or the tenant, each written as its service writes it."""
    story = Story("C-20533", "Garnier Logistique SARL", "432766954", "Marc Garnier", "Lyon")
    day = date(2026, 5, 4)
    claim_id, qualified = story.register(
        "FA-2026-0264", "2150.00", date(2026, 4, 1), date(2026, 5, 1), paris(day, 9, 10)
    )
    cid = str(claim_id)
    at = paris(day + timedelta(days=1), 10)

    def command(event, name, actor=CLERK):
        return story.command(
            at, event, subject=claim_id, command=name, key=f"{name}-{cid}", actor=actor
        )[0]

    rejected = story.request(
        at,
        ClaimRejected(
            claim_id=keyed_id(TENANT, "claim", "register-FA-2026-0264-bis"),
            rejected_at=at,
            reasons=("duplicate",),
            duplicate_of=claim_id,
        ),
        first_id=keyed_id(TENANT, "claim-registered", "register-FA-2026-0264-bis"),
    )
    promise = command(
        PromiseToPayRecorded(
            claim_id=claim_id,
            promise_id=keyed_id(TENANT, "promise", cid, f"RecordPromise-{cid}"),
            amount=money("2150.00"),
            promised_on=date(2026, 5, 12),
            source_channel="email",
            grace_days=3,
            recorded_at=at,
        ),
        "RecordPromise",
    )
    story.timer(
        f"promise:{promise.data.promise_id}",
        datetime(2026, 5, 16, tzinfo=UTC),
        PromiseBroken(
            claim_id=claim_id,
            promise_id=promise.data.promise_id,
            promised_on=date(2026, 5, 12),
            amount=money("2150.00"),
        ),
    )
    command(
        DebtAcknowledged(
            claim_id=claim_id,
            acknowledged_on=day,
            reference=story.seal("Courriel du service comptable du 4 mai"),
            recorded_at=at,
        ),
        "AcknowledgeDebt",
    )
    story.timer(
        f"limitation:{cid}:2031-05-01",
        datetime(2031, 2, 1, tzinfo=UTC),
        LimitationApproaching(claim_id=claim_id, prescription_date=date(2031, 5, 1), days_left=89),
    )
    risk = [
        RiskAlertRaised(
            debtor_id=story.debtor_id,
            signal="slowing_payments",
            evidence={"days_late": (0, 14, 19), "slope_days": "9.5", "threshold_days": "5"},
            as_of=day,
            raised_at=at,
        ),
        SegmentOverridden(
            debtor_id=story.debtor_id,
            segment="reliable",
            reason=story.seal("Client historique, retard ponctuel lié à un changement d'ERP"),
            until=date(2026, 8, 31),
            overridden_at=at,
        ),
        CreditLimitSet(
            debtor_id=story.debtor_id, amount=money("15000.00"), currency="EUR", set_at=at
        ),
        InsolvencyRecorded(
            debtor_id=story.debtor_id,
            kind="safeguard",
            opened_on=date(2026, 6, 2),
            reference="TC Lyon 2026J00412",
            recorded_at=at,
        ),
    ]
    story.react(qualified, risk[0])
    for event, name in zip(
        risk[1:], ("OverrideSegment", "SetCreditLimit", "RecordInsolvency"), strict=True
    ):
        story.command(
            at, event, subject=story.debtor_id, command=name, key=f"{name}-{cid}", actor=COLLECTOR
        )
    insolvency = story.envelopes[-1]
    story.react(
        insolvency,
        FixedFeeWaived(
            claim_id=claim_id,
            waived_from=date(2026, 6, 2),
            reason="insolvency_proceedings",
            proceeding_kind="safeguard",
            proceeding_reference="TC Lyon 2026J00412",
        ),
    )
    command(
        ClaimWrittenOff(
            claim_id=claim_id,
            reason=story.seal("Créance déclarée au mandataire"),
            written_off_at=at,
        ),
        "WriteOffClaim",
    )
    command(
        ClaimCancelled(
            claim_id=claim_id,
            reason=story.seal("Facture émise en double"),
            credit_note_reference="AV-2026-0031",
            cancelled_at=at,
        ),
        "CancelClaim",
    )
    step = scheduled(STANDARD_B2B[1], add_business_days(date(2026, 5, 1), 7))
    story.revisions[claim_id] = 1
    due = story.step_due(claim_id, step)
    communication_id = keyed_id("communication", str(due.id))
    ids = {"claim_id": claim_id, "communication_id": communication_id}
    failed = story.sent(
        claim_id,
        step.at,
        CommunicationFailed(
            **ids,
            channel="email",
            revision=1,
            step=step.key,
            reason="550 5.1.1 mailbox unavailable",
            failed_at=step.at + timedelta(seconds=3),
        ),
    )[0]
    story.react(
        failed,
        DunningRescheduled(
            claim_id=claim_id,
            revision=2,
            steps=shifted((step.model_copy(update={"channels": ("letter",)}),), failed.time),
            reason="channel_failed",
            step=step.key,
            rescheduled_at=failed.time,
        ),
    )
    later = step.at + timedelta(days=1)
    story.timer(
        f"governor:{communication_id}:{step.at.isoformat()}",
        step.at,
        CommunicationDeferred(
            **ids, channel="email", rule="daily_cap", until=later, deferred_at=step.at
        ),
    )
    story.timer(
        f"governor:{communication_id}:{later.isoformat()}",
        later,
        CommunicationSuppressed(
            **ids, reason="claim_closed", revision=1, step=step.key, suppressed_at=later
        ),
    )
    command(
        CommunicationReviewed(**ids, decision="approve", reviewer=COLLECTOR, reviewed_at=at),
        "Review",
        COLLECTOR,
    )
    command(
        TrackingRecorded(
            **ids,
            tracking_number="1K00123456789",
            carrier="La Poste",
            status="in_transit",
            recorded_at=at,
        ),
        "RecordTracking",
    )
    command(
        InteractionRecorded(
            claim_id=claim_id,
            interaction_id=keyed_id(TENANT, "interaction", cid),
            kind="reply",
            channel="email",
            summary=story.seal("Le client annonce un virement en fin de semaine."),
            in_reply_to=communication_id,
            recorded_by=CLERK,
            occurred_at=at - timedelta(hours=2),
            recorded_at=at,
        ),
        "RecordInteraction",
    )
    story.command(
        at,
        ContactPreferencesSet(
            debtor_id=story.debtor_id,
            opted_out_channels=("sms",),
            preferred_channel="email",
            set_by=CLERK,
            set_at=at,
        ),
        subject=story.debtor_id,
        command="SetContactPreferences",
        key=f"preferences-{story.debtor_id}",
    )
    dispute_id = keyed_id(TENANT, "dispute", cid, f"dispute-{cid}")
    disputes = {"claim_id": claim_id, "dispute_id": dispute_id}
    for event, name in (
        (
            DisputeCommented(
                **disputes, comment=story.seal("Bon de livraison signé joint."), commented_at=at
            ),
            "Comment",
        ),
        (
            DisputeReclassified(
                **disputes,
                from_reason="quality_or_service",
                to_reason="cash_flow_difficulty",
                reclassified_at=at,
            ),
            "Reclassify",
        ),
        (
            DisputeEscalatedToMediation(**disputes, mediator="acme|mediator-01", escalated_at=at),
            "Mediate",
        ),
        (
            DisputeWithdrawn(
                **disputes, note=story.seal("Le client retire sa contestation."), withdrawn_at=at
            ),
            "Withdraw",
        ),
    ):
        command(event, name, COLLECTOR)
    reclassified = story.envelopes[-3]
    story.react(
        reclassified,
        HardshipDeclared(**disputes, raised_by="agent", reclassified=True, declared_at=at),
    )
    story.timer(
        f"sla:{dispute_id}:acknowledge",
        paris(day + timedelta(days=3), 0),
        DisputeSlaBreached(
            **disputes, which="acknowledge", due_at=paris(day + timedelta(days=3), 0)
        ),
    )
    return story.envelopes + rejected + _tenant_events(at)


def _tenant_events(at: datetime) -> list[Envelope]:
    """The tenant's settings: its creditor profile and a policy version of its own."""
    tenant = {"tenant": TENANT}
    profile = CreditorProfile(
        creditor=Party(
            legal_name="ACME Industrie SAS",
            address=("4 quai Perrache", "69002 Lyon"),
            registration_number="790123456",
        ),
        iban="FR7630006000011234567890189",
        bic="AGRIFRPPXXX",
        reference_format="ACME-{invoice}",
        reply_email="recouvrement@acme-industrie.example",
    )
    document = {"id": "acme", "version": "2026.06-1", "max_reminders_per_stage": 2}
    events = (
        CreditorProfileSet(**tenant, profile=profile, set_by=CLERK, set_at=at),
        DunningPolicyPublished(
            **tenant, policy_id="acme", version="2026.06-1", document=document, published_at=at
        ),
        DunningPolicyActivated(**tenant, policy_id="acme", version="2026.06-1", activated_at=at),
    )
    return [
        Envelope(
            id=keyed_id(
                TENANT, f"tenant:{TENANT}", type(event).__name__, "example", event.source, "command"
            ),
            subject=event.subject,
            time=at,
            tenant=TENANT,
            debtor_id="",
            correlation_id=keyed_id(
                TENANT, f"tenant:{TENANT}", type(event).__name__, "example", event.source, "command"
            ),
            data=event,
            actor=CLERK,
        )
        for event in events
    ]


def examples() -> dict[str, Envelope]:
    """One envelope of every registered type (``ce_type`` -> envelope): its first occurrence in
    the scenarios, else one written for it on the same tenant and debtor."""
    found: dict[str, Envelope] = {}
    for envelope in [e for build in SCENARIOS.values() for e in build()] + _others():
        found.setdefault(envelope.type, envelope)
    return {ce_type: found[ce_type] for ce_type in REGISTRY.models}


def scenario(name: str) -> list[Envelope]:
    """The events of scenario ``name``, in log order."""
    if name not in SCENARIOS:
        raise ValueError(f"no scenario {name!r}; the scenarios are: {', '.join(SCENARIOS)}")
    return SCENARIOS[name]()
