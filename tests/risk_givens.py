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
                    language="fr-FR",
                    timezone=self.timezone,
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
