"""Risk service settings (env prefix ``AMIABLE_``)."""

from __future__ import annotations

from pathlib import Path

from amiable_events.settings import ServiceSettings


class RiskSettings(ServiceSettings):
    #: The scorecard in force (a versioned YAML file); by default the one shipped in ``data/``.
    scorecard: Path | None = None
