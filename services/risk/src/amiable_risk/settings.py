"""Risk service settings (env prefix ``AMIABLE_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from amiable_events.settings import ServiceSettings
from amiable_events.topics import CLAIM_EVENTS_TOPIC


class RiskSettings(ServiceSettings):
    #: The scorecard in force (a versioned YAML file); by default the one shipped in ``data/``.
    scorecard: Path | None = None


class ReplaySettings(BaseSettings):
    """What a replay of the log needs (``amiable risk backtest``): it serves nothing, so it needs
    no token secret and no database."""

    model_config = SettingsConfigDict(env_prefix="AMIABLE_", extra="ignore")

    kafka_bootstrap: str = ServiceSettings.model_fields["kafka_bootstrap"].default
    topic: str = CLAIM_EVENTS_TOPIC
    scorecard: Path | None = None
