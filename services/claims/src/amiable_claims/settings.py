"""Claims service settings (env prefix ``AMIABLE_``)."""

from __future__ import annotations

from amiable_events.settings import ServiceSettings


class ClaimsSettings(ServiceSettings):
    port: int = 8001
    database: str = "amiable_claims"
    keys_database: str = "amiable_keys"
