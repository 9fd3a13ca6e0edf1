"""Settings shared by every service; each service subclasses them (env prefix ``AMIABLE_``)."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from amiable_events.topics import CLAIM_EVENTS_TOPIC

DEV_JWT_SECRET = "amiable-dev-secret-not-for-production-use"
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", DEV_JWT_SECRET}


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AMIABLE_", extra="ignore")

    env: Literal["dev", "test", "prod"] = "dev"
    kafka_bootstrap: str = "localhost:19092"
    database_url: str = "postgresql://amiable:amiable@localhost:15432"
    topic: str = CLAIM_EVENTS_TOPIC
    projection_schema: str = "projection"
    consumer_group: str | None = None
    clock: str = "system"
    jwt_secret: str | None = None
    jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    host: str = "127.0.0.1"
    # Default to the service's declaration (port, database ``amiable_<service>``).
    port: int | None = None
    database: str | None = None
    timer_interval: float = 1.0
    read_your_writes_timeout: float = 5.0
    ready_max_lag: int = 1000

    @model_validator(mode="after")
    def _secrets(self) -> ServiceSettings:
        if self.jwks_url:
            return self
        if self.jwt_secret is None and self.env == "dev":
            self.jwt_secret = DEV_JWT_SECRET
        if self.env != "dev" and (self.jwt_secret or "") in PLACEHOLDER_SECRETS:
            raise ValueError(
                "AMIABLE_JWT_SECRET must be set to a real secret (or AMIABLE_JWKS_URL) "
                f"when AMIABLE_ENV={self.env}"
            )
        return self
