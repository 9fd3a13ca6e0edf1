"""Disputes service settings (env prefix ``AMIABLE_``). The figure settings (allocation,
governing law, interest during a plan) are the claims service's, by the same names, so both
compute the same amount due."""

from __future__ import annotations

from pydantic import Field

from amiable_events.settings import FigureSettings


class DisputesSettings(FigureSettings):
    # A dispute is assigned within this many business days of the debtor's country...
    dispute_acknowledge_business_days: int = Field(2, ge=0, le=30)
    # ... and resolved or withdrawn within this many days, else its SLA is breached.
    dispute_resolve_days: int = Field(30, ge=1, le=365)
    # A dispute unresolved past its resolution deadline goes to mediation by itself.
    dispute_escalate_on_breach: bool = True
