"""Risk service settings (env prefix ``AMIABLE_``)."""

from __future__ import annotations

from pathlib import Path

from amiable_events.settings import KafkaClientSettings, ServiceSettings
from amiable_events.topics import CLAIM_EVENTS_TOPIC


class RiskSettings(ServiceSettings):
    #: The scorecard in force (a versioned YAML file); by default the one shipped in ``data/``.
    scorecard: Path | None = None


class ReplaySettings(KafkaClientSettings):
    """What a replay of the log needs (``amiable risk backtest``): Kafka, reached as the
    services reach it. It serves nothing, so it needs no token secret and no database."""

    topic: str = CLAIM_EVENTS_TOPIC
    scorecard: Path | None = None
