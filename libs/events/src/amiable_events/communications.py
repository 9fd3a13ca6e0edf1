"""Events of the communications bounded context that other services react to.

The communications service (composition, channels, the contact governor) adds its own events;
``CommunicationFailed`` comes first because dunning falls back on it: a message of a dunning
step that could not be delivered on its channel makes dunning try the step's next channel.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from amiable_events.base import Event
from amiable_events.dunning import Channel, StepKey


class CommunicationFailed(Event):
    """A message could not be delivered on ``channel`` for good (an SMTP permanent failure, a
    gateway error, an invalid number); temporary failures are retried before this."""

    type: ClassVar[str] = "amiable.communications.communication-failed.v1"
    source: ClassVar[str] = "communications"

    claim_id: UUID
    communication_id: UUID
    channel: Channel
    revision: int | None = Field(None, ge=1, description="The dunning plan revision it served")
    step: StepKey | None = Field(None, description="The dunning step it served, if any")
    reason: str = Field(min_length=1, max_length=500)
    failed_at: datetime


EVENTS: tuple[type[Event], ...] = (CommunicationFailed,)
