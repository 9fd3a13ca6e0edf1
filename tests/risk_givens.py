"""A debtor account's history as the claims service would write it, for the risk tests: the pure
fold, the behaviour suite and the real stack all start from these envelopes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from amiable_events.base import Event
from amiable_events.claims import (
    ClaimQualified,
    ClaimRegistered,
    ClaimSettled,
    Debtor,
    PaymentPlanDefaulted,
    PaymentReceived,
    PromiseBroken,
)
from amiable_events.disputes import DisputeOpened, HardshipDeclared
from amiable_events.envelope import Envelope
from amiable_events.ids import keyed_id

#: The service's and the tests' frozen "today" in the risk tests: a Tuesday, no holiday in FR.
TODAY = date(2026, 11, 24)


def at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), UTC)


@dataclass
class History:
    """Events of one debtor account, in the order they are appended."""

    tenant: str
    debtor_id: str = "D-1"
    country: str = "FR"
    timezone: str = "Europe/Paris"
    envelopes: list[Envelope] = field(default_factory=list)
    language: str = "fr-FR"
    #: The debtor's contacts and sealed postal address, as a registration gives them
    contacts: tuple = ()
    postal_address: str | None = None

    def _add(self, event: Event, when: datetime) -> Envelope:
        n = len(self.envelopes)
        envelope = Envelope(
            id=keyed_id("risk-test", self.tenant, self.debtor_id, str(n)),
            subject=event.subject,
            time=when,
            tenant=self.tenant,
            debtor_id=self.debtor_id,
            correlation_id=keyed_id("risk-test-correlation", self.tenant, self.debtor_id, str(n)),
            data=event,
        )
        self.envelopes.append(envelope)
        return envelope

    def claim(
        self,
        issued_on: date,
        *,
        terms: int = 30,
        amount: str = "1000.00",
        qualify: bool = True,
        registered_on: date | None = None,
    ) -> uuid.UUID:
        """A claim issued on ``issued_on``, registered (and qualified) then or on
        ``registered_on``."""
        claim_id = keyed_id(
            "risk-test-claim", self.tenant, self.debtor_id, str(len(self.envelopes))
        )
        when = at(registered_on or issued_on)
        self._add(
            ClaimRegistered(
                claim_id=claim_id,
                invoice_number=f"INV-{len(self.envelopes)}",
                amount=Decimal(amount),
                currency="EUR",
                issued_on=issued_on,
                due_on=issued_on + timedelta(days=terms),
                debtor=Debtor(
                    id=self.debtor_id,
                    legal_name="Debtor SAS",
                    country=self.country,
                    language=self.language,
                    timezone=self.timezone,
                    contacts=self.contacts,
                    postal_address=self.postal_address,
                ),
                registered_at=when,
            ),
            when,
        )
        if qualify:
            self._add(
                ClaimQualified(
                    claim_id=claim_id,
                    qualified_at=when,
                    prescription_date=issued_on + timedelta(days=5 * 365),
                ),
                when,
            )
        return claim_id

    def settle(self, claim_id: uuid.UUID, on: date, amount: str = "1000.00") -> None:
        self._add(
            PaymentReceived(
                claim_id=claim_id,
                payment_id=keyed_id("risk-test-payment", str(claim_id)),
                amount=Decimal(amount),
                currency="EUR",
                received_on=on,
                recorded_at=at(on),
            ),
            at(on),
        )
        self._add(ClaimSettled(claim_id=claim_id, settled_on=on, overpaid=Decimal(0)), at(on))

    def pay(self, claim_id: uuid.UUID, on: date, amount: str) -> None:
        self._add(
            PaymentReceived(
                claim_id=claim_id,
                payment_id=keyed_id("risk-test-payment", str(claim_id), str(on), amount),
                amount=Decimal(amount),
                currency="EUR",
                received_on=on,
                recorded_at=at(on),
            ),
            at(on),
        )

    def promise_broken(self, claim_id: uuid.UUID, on: date) -> None:
        self._add(
            PromiseBroken(
                claim_id=claim_id,
                promise_id=keyed_id("risk-test-promise", str(claim_id), str(on)),
                promised_on=on - timedelta(days=3),
                amount=Decimal("100.00"),
            ),
            at(on),
        )

    def plan_defaulted(self, claim_id: uuid.UUID, on: date) -> None:
        self._add(
            PaymentPlanDefaulted(
                claim_id=claim_id,
                plan_id=keyed_id("risk-test-plan", str(claim_id)),
                installment=1,
                due_on=on - timedelta(days=5),
            ),
            at(on),
        )

    def disputed(self, claim_id: uuid.UUID, on: date, hour: int = 10) -> uuid.UUID:
        """The debtor contests the whole claim on ``on`` at ``hour`` UTC, as the disputes
        service writes it; returns the dispute's id."""
        dispute_id = keyed_id("risk-test-dispute", str(claim_id), str(len(self.envelopes)))
        self._add(
            DisputeOpened(
                claim_id=claim_id,
                dispute_id=dispute_id,
                reason="quality_or_service",
                disputed_amount=Decimal("1000.00"),
                currency="EUR",
                whole_claim=True,
                raised_by="debtor_contact",
                opened_at=at(on, hour),
                acknowledge_by=at(on + timedelta(days=2), hour),
                resolve_by=at(on + timedelta(days=30), hour),
            ),
            at(on, hour),
        )
        return dispute_id

    def hardship(
        self, claim_id: uuid.UUID, on: date, reclassified: uuid.UUID | None = None
    ) -> None:
        """The debtor declares it cannot pay for now; ``reclassified``: the dispute an agent
        turned into this hardship."""
        dispute_id = reclassified or keyed_id("risk-test-hardship", str(claim_id), str(on))
        self._add(
            HardshipDeclared(
                claim_id=claim_id,
                dispute_id=dispute_id,
                raised_by="agent" if reclassified else "debtor_contact",
                reclassified=reclassified is not None,
                declared_at=at(on),
            ),
            at(on),
        )

    def add(self, event: Event, when: datetime) -> Envelope:
        """Any other event (a risk command's, say) at ``when``."""
        return self._add(event, when)


def paid_late(history: History, days_late: list[int], *, first_issued: date) -> date:
    """One claim after another from ``first_issued``, each settled that many days after its due
    date and the next issued the day after; returns the last settlement's date."""
    issued = settled = first_issued
    for late in days_late:
        claim_id = history.claim(issued)
        settled = issued + timedelta(days=30 + late)
        history.settle(claim_id, settled)
        issued = settled + timedelta(days=1)
    return settled


def every_risk_event() -> list[Envelope]:
    """One envelope of every type the risk service emits, made by its own code: deciders,
    reactions (with the alerts of every signal) and a fired review (for the contract tests)."""
    from amiable_events.commands import Context
    from amiable_events.reactions import caused_envelopes
    from amiable_events.risk import RiskAlertRaised
    from amiable_events.timers import TimerRow
    from amiable_risk.app.timers import fire
    from amiable_risk.domain.assess import signals
    from amiable_risk.domain.commands import OverrideSegment, RecordInsolvency, SetCreditLimit
    from amiable_risk.domain.decide import DECIDERS
    from amiable_risk.domain.evolve import evolve
    from amiable_risk.domain.features import features
    from amiable_risk.domain.publish import react
    from amiable_risk.domain.scorecard import Scorecard
    from amiable_risk.domain.timers import next_review

    scorecard = Scorecard.load()
    history = History("acme", "D-contract")
    context = Context(tenant="acme", now=at(TODAY))
    paid_late(history, [5, 9, 14, 20, 30], first_issued=TODAY - timedelta(days=400))
    claim_id = history.claim(TODAY - timedelta(days=50), amount="9000.00", registered_on=TODAY)
    history.promise_broken(claim_id, TODAY)
    history.plan_defaulted(claim_id, TODAY)
    for command in (
        SetCreditLimit("D-contract", Decimal("5000.00"), "EUR"),
        OverrideSegment("D-contract", "chronic_late_payer", "pii:v1:sealed", TODAY),
        RecordInsolvency("D-contract", "safeguard", TODAY, "TC Paris 2026S1"),
    ):
        state = None
        for envelope in history.envelopes:
            state = evolve(state, envelope, scorecard)
        for event in DECIDERS[type(command)](state, command, context):
            history.add(event, context.now)
    state, produced = None, []
    for envelope in history.envelopes:
        state = evolve(state, envelope, scorecard)
        if envelope.data.source == "risk":
            produced.append(envelope)
        produced += caused_envelopes(envelope, react(state, envelope), "risk", envelope.time)
    # the signals the history above does not raise: disputes on most recent claims, and a
    # volume spike
    disputing = History("acme", "D-disputing")
    for n in range(4):
        disputing.disputed(disputing.claim(TODAY - timedelta(days=40 - n)), TODAY)
    disputed = None
    for envelope in disputing.envelopes:
        disputed = evolve(disputed, envelope, scorecard)
    spike = History("acme", "D-spike")
    first_of_month = date(TODAY.year, TODAY.month, 1)
    for month in range(6):
        spike.claim(first_of_month - timedelta(days=200 - 31 * month))
    for n in range(5):
        spike.claim(first_of_month + timedelta(days=n))
    spiked = None
    for envelope in spike.envelopes:
        spiked = evolve(spiked, envelope, scorecard)
    for account in (disputed, spiked):
        facts = features(account, account.as_of, scorecard)
        for alert in signals(account, facts, scorecard):
            event = RiskAlertRaised(
                debtor_id=account.debtor_id,
                signal=alert.signal,
                evidence=alert.evidence,
                as_of=account.as_of,
                raised_at=at(TODAY),
            )
            produced.append(history.add(event, at(TODAY)))
    review = next_review(state, scorecard)
    timer = TimerRow(
        timer_id=f"review:acme:D-contract:{review.day}",
        due_at=review.due_at,
        account="acme:D-contract",
        subject="debtor:D-contract",
        kind="review",
        payload={"assessment": review.assessment.model_dump(mode="json")},
        event_id=keyed_id("risk-test-review"),
    )
    return [*produced, fire(timer)]
