"""The disputes service's durable timer firing: a deadline that came with its dispute still
unacknowledged or unresolved is breached (the projection deletes a timer whose deadline was met,
so a timer that fires is one that was missed)."""

from __future__ import annotations

from uuid import UUID

from amiable_events.disputes import DisputeSlaBreached
from amiable_events.envelope import Envelope
from amiable_events.timers import TimerRow


def fire(timer: TimerRow) -> Envelope | None:
    breach = DisputeSlaBreached(
        claim_id=UUID(timer.subject),
        dispute_id=UUID(timer.payload["dispute_id"]),
        which=timer.payload["which"],
        due_at=timer.due_at,
    )
    return timer.envelope(breach)
