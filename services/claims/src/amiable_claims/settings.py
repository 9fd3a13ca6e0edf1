"""Claims service settings (env prefix ``AMIABLE_``). What changes the amount due (allocation,
governing law, interest during a plan) is ``FigureSettings``, shared with every service that
computes it."""

from __future__ import annotations

from amiable_events.settings import FigureSettings


class ClaimsSettings(FigureSettings):
    installment_grace_days: int = 5
    promise_grace_days: int = 3
