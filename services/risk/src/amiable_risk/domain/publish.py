"""What risk publishes on the log, read off a debtor account's state: pure, so the reaction,
the review timer and a backtest build the same events."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from amiable_events.base import Event
from amiable_events.claims import ClaimQualified
from amiable_events.envelope import Envelope
from amiable_events.risk import AssessmentTrigger, RiskAlertRaised, RiskAssessed
from amiable_risk.domain.state import Account, Assessment


def assessed(
    debtor_id: str,
    assessment: Assessment,
    trigger: AssessmentTrigger,
    at: datetime,
    claim_id: UUID | None = None,
) -> RiskAssessed:
    return RiskAssessed(
        debtor_id=debtor_id,
        **assessment.model_dump(),
        assessed_at=at,
        trigger=trigger,
        claim_id=claim_id,
    )


def react(account: Account, envelope: Envelope) -> list[Event]:
    """The reaction to an event the account's state says publishes an assessment or raises
    signals (``evolve`` decided which)."""
    events: list[Event] = []
    if account.publish and account.assessment is not None:
        qualified = type(envelope.data) is ClaimQualified
        events.append(
            assessed(
                account.debtor_id,
                account.assessment,
                "claim_qualified" if qualified else "account_changed",
                envelope.time,
                envelope.data.claim_id if qualified else None,
            )
        )
    events += [
        RiskAlertRaised(
            debtor_id=account.debtor_id,
            signal=alert.signal,
            evidence=alert.evidence,
            as_of=account.as_of,
            raised_at=envelope.time,
        )
        for alert in account.raised
    ]
    return events
