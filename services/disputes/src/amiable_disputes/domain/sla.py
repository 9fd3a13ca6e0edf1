"""Service levels of a dispute: the deadlines fixed when it opens, and the timers that watch
them. A deadline ends a day of the debtor (midnight in its time zone), and the acknowledgement's
counts business days of its country: a dispute raised on a Friday evening before a public
holiday is not breached on Monday morning.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from amiable_disputes.domain.state import ClaimFile, Dispute, Policy
from amiable_events.disputes import SlaKind
from amiable_events.ledger import ClaimLedger
from amiable_rules.business_days import next_business_day
from amiable_rules.local_time import zone


def _end_of(day: date, ledger: ClaimLedger) -> datetime:
    """Midnight at the end of ``day`` in the debtor's time zone."""
    local = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone(ledger.timezone))
    return local.astimezone(UTC)


def deadlines(
    ledger: ClaimLedger, opened_at: datetime, policy: Policy
) -> tuple[datetime, datetime]:
    """When a dispute opened at ``opened_at`` must be acknowledged (assigned) and resolved."""
    opened_on = opened_at.astimezone(zone(ledger.timezone)).date()
    day = opened_on
    for _ in range(policy.acknowledge_business_days):
        day = next_business_day(day + timedelta(days=1), ledger.country)
    acknowledge_by = _end_of(day, ledger)
    resolve_by = _end_of(opened_on + timedelta(days=policy.resolve_days), ledger)
    return acknowledge_by, resolve_by


@dataclass(frozen=True)
class Watch:
    """A deadline a dispute can still miss."""

    dispute_id: str
    which: SlaKind
    due_at: datetime

    @property
    def timer_id(self) -> str:
        return f"sla:{self.dispute_id}:{self.which}"


def watches(dispute: Dispute) -> list[Watch]:
    """The deadlines of an active dispute not met or breached yet: the acknowledgement while
    nobody is assigned, the resolution until it is closed."""
    if not dispute.active:
        return []
    out = []
    if (
        dispute.status == "open"
        and dispute.acknowledge_by is not None
        and "acknowledge" not in dispute.breaches
    ):
        out.append(Watch(dispute.dispute_id, "acknowledge", dispute.acknowledge_by))
    if dispute.resolve_by is not None and "resolve" not in dispute.breaches:
        out.append(Watch(dispute.dispute_id, "resolve", dispute.resolve_by))
    return out


def file_watches(file: ClaimFile) -> list[Watch]:
    return [watch for dispute in file.disputes for watch in watches(dispute)]
