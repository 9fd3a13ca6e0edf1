"""The governor timers' firing: the event was decided by the projection from the state that
armed the timer (``domain.firing``); firing appends it."""

from __future__ import annotations

from amiable_events.communications import EVENTS
from amiable_events.envelope import Envelope
from amiable_events.timers import TimerRow

_BY_TYPE = {model.type: model for model in EVENTS}


def fire(timer: TimerRow) -> Envelope | None:
    model = _BY_TYPE.get(timer.payload.get("type"))
    if model is None:
        return None
    return timer.envelope(model.model_validate(timer.payload["data"]))
