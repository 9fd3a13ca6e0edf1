"""The dunning service's durable timers: the event was decided by the projection from the
state that armed the timer (``domain.firing``); firing appends it."""

from __future__ import annotations

from amiable_events.dunning import EVENTS
from amiable_events.timers import fire_decided

fire = fire_decided(EVENTS)
