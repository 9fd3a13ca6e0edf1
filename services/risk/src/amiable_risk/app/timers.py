"""Risk's durable timer firing: a review whose day has come publishes the assessment that time
alone brought (computed when the timer was armed from the same state, so the projection, on
applying it, computes the same)."""

from __future__ import annotations

from amiable_events.envelope import Envelope
from amiable_events.timers import TimerRow
from amiable_risk.domain.publish import assessed
from amiable_risk.domain.state import Assessment


def fire(timer: TimerRow) -> Envelope | None:
    assessment = Assessment.model_validate(timer.payload["assessment"])
    return timer.envelope(assessed(timer.debtor_id, assessment, "time_passed", timer.due_at))
