"""Dunning service settings (env prefix ``AMIABLE_``). The figure settings (allocation,
governing law, interest during a plan) are the claims service's, by the same names, so a formal
notice states the figures claims computes."""

from __future__ import annotations

from pathlib import Path

from amiable_events.settings import FigureSettings


class DunningSettings(FigureSettings):
    # The policy every tenant follows until it activates one of its own; the shipped
    # data/policies/default.yaml when unset.
    dunning_policy: Path | None = None
