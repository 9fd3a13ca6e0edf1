"""Reactions of the claims service that no request triggers: its durable timers firing
(instalment grace periods, promise grace periods, limitation warnings)."""

from __future__ import annotations

from amiable_claims.domain.timers import timer_event
from amiable_events.envelope import Envelope
from amiable_events.timers import TimerRow


def fire(timer: TimerRow) -> Envelope | None:
    """The event a due claims timer emits. The projection cancels a timer that no longer
    applies (instalment paid, promise kept, claim closed) in the same transaction as the event
    that made it moot, and the loop fires only once that event's partition is applied."""
    event = timer_event(timer.kind, timer.payload, timer.due_at)
    return None if event is None else timer.envelope(event)
