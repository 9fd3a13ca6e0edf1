"""What a demo has seen on the log, counted: its progress line and its per-service totals.

Pure: fed each event's ``ce_source`` and ``ce_type`` (the demo's tenant only), it counts; the
demo reads the log and prints.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from amiable_events.claims import (
    ClaimCancelled,
    ClaimRegistered,
    ClaimRejected,
    ClaimSettled,
    ClaimWrittenOff,
)
from amiable_events.communications import CommunicationSent
from amiable_events.disputes import DisputeOpened, DisputeResolved, DisputeWithdrawn
from amiable_events.dunning import DunningStepDue

CLOSED = {ClaimSettled.type, ClaimWrittenOff.type, ClaimCancelled.type}


@dataclass
class Tally:
    by_type: Counter[str] = field(default_factory=Counter)
    by_service: Counter[str] = field(default_factory=Counter)

    def see(self, source: str, event_type: str) -> None:
        self.by_type[event_type] += 1
        self.by_service[source.rsplit("/", 1)[-1]] += 1

    @property
    def events(self) -> int:
        return sum(self.by_service.values())

    @property
    def registered(self) -> int:
        return self.by_type[ClaimRegistered.type]

    @property
    def settled(self) -> int:
        return self.by_type[ClaimSettled.type]

    @property
    def open(self) -> int:
        """Registered and neither rejected nor closed (settled, written off, cancelled)."""
        closed = sum(self.by_type[kind] for kind in CLOSED)
        return self.registered - self.by_type[ClaimRejected.type] - closed

    @property
    def messages_sent(self) -> int:
        return self.by_type[CommunicationSent.type]

    @property
    def steps_due(self) -> int:
        return self.by_type[DunningStepDue.type]

    @property
    def disputes_open(self) -> int:
        ended = self.by_type[DisputeResolved.type] + self.by_type[DisputeWithdrawn.type]
        return self.by_type[DisputeOpened.type] - ended

    def line(self, moved: datetime) -> str:
        """The progress line: one line, rewritten in place as the demo runs."""
        return (
            f"{moved:%Y-%m-%d %H:%M}  claims {self.registered} registered, {self.open} open, "
            f"{self.settled} settled | {self.events} events, {self.steps_due} dunning steps, "
            f"{self.messages_sent} messages sent, {self.disputes_open} disputes open"
        )
