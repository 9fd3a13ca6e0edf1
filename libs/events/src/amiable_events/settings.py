"""Settings shared by every service; each service subclasses them (env prefix ``AMIABLE_``)."""

from __future__ import annotations

import base64
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from amiable_events.keywrap import decode_kek
from amiable_events.topics import CLAIM_EVENTS_TOPIC
from amiable_rules.late_fees import Allocation

DEV_JWT_SECRET = "amiable-dev-secret-not-for-production-use"
#: The KEK outside production: fixed, so that tests and the services they start share it.
DEV_KEY_ENCRYPTION_KEY = base64.b64encode(b"amiable-dev-kek-not-for-prod-use").decode()
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", DEV_JWT_SECRET}
#: HS256 needs a key at least as long as its 256-bit hash (RFC 7518 section 3.2).
MIN_SECRET_BYTES = 32
LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class KafkaClientSettings(BaseSettings):
    """Where Kafka is and how every client connects (amiable_events.kafka): what a service and
    a tool that only reads the log (``amiable risk backtest``) share."""

    model_config = SettingsConfigDict(env_prefix="AMIABLE_", extra="ignore")

    kafka_bootstrap: str = "localhost:19092"
    # PLAINTEXT on a laptop; SASL_SSL with SCRAM-SHA-512 and the cluster's CA file on a secured
    # cluster (deploy/k8s).
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: str | None = None
    # The CA that signed the brokers' certificates (PEM); None: the system's trusted CAs.
    kafka_ssl_cafile: str | None = None


class ServiceSettings(KafkaClientSettings):
    model_config = SettingsConfigDict(env_prefix="AMIABLE_", extra="ignore")

    # Production unless told otherwise: an image started without AMIABLE_ENV must not accept
    # tokens signed with the public dev secret. ``amiable run`` (``make run``) sets ``dev``.
    env: Literal["dev", "test", "prod"] = "prod"
    # A server URL: each service appends its database. TLS as libpq says it, in the query:
    # ?sslmode=verify-full&sslrootcert=/path/ca.crt (amiable_events.db).
    database_url: str = "postgresql://amiable:amiable@localhost:15432"
    # The personal-data key store, a full URL (its own role and database); None: the server of
    # database_url, database amiable_keys.
    keys_database_url: str | None = None
    # How debtor keys are wrapped at rest (amiable_events.keywrap): "local" (AES-GCM under
    # key_encryption_key, the base64 of 32 bytes, from a Secret), or a KMS plugin: the name of
    # an amiable.key_wrappers entry point, or module:attribute.
    key_wrapper: str = "local"
    key_encryption_key: str | None = None
    # The KEK being rotated out: still opens the keys it wrapped until `amiable keys rewrap`.
    old_key_encryption_key: str | None = None
    topic: str = CLAIM_EVENTS_TOPIC
    projection_schema: str = "projection"
    consumer_group: str | None = None
    clock: str = "system"
    jwt_secret: str | None = None
    jwks_url: str | None = None
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    #: The audience of operator tokens: the only ones allowed cross-tenant admin operations
    #: (the whole projection's digest, unparking another tenant's accounts). None: nobody.
    operator_audience: str | None = None
    host: str = "127.0.0.1"
    # Default to the service's declaration (port, database ``amiable_<service>``).
    port: int | None = None
    database: str | None = None
    timer_interval: float = 1.0
    read_your_writes_timeout: float = 5.0
    ready_max_lag: int = 1000
    # Request bodies: 413 past these many bytes (amiable_events.limits); bulk routes (paths
    # ending in ``:import``) stream their body and get the larger cap: 50,000 CSV rows of
    # about 250 bytes.
    max_body_bytes: int = 1_048_576
    max_import_bytes: int = 16_777_216

    @model_validator(mode="after")
    def _secrets(self) -> ServiceSettings:
        if self.jwks_url:
            url = urlsplit(self.jwks_url)
            loopback = self.env != "prod" and url.hostname in LOOPBACK_HOSTS
            if url.scheme != "https" and not (url.scheme == "http" and loopback):
                raise ValueError(
                    "AMIABLE_JWKS_URL must be https:// (http:// only for a loopback host "
                    f"when AMIABLE_ENV is dev or test), not {self.jwks_url!r}"
                )
            return self
        if self.jwt_secret is None and self.env == "dev":
            self.jwt_secret = DEV_JWT_SECRET
        if self.env != "dev" and (self.jwt_secret or "") in PLACEHOLDER_SECRETS:
            raise ValueError(
                "AMIABLE_JWT_SECRET must be set to a real secret (or AMIABLE_JWKS_URL) "
                f"when AMIABLE_ENV={self.env}"
            )
        if self.env != "dev" and len(self.jwt_secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"AMIABLE_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes "
                f"when AMIABLE_ENV={self.env}"
            )
        return self

    @model_validator(mode="after")
    def _key_encryption_key(self) -> ServiceSettings:
        if self.key_wrapper == "local":
            if self.key_encryption_key is None and self.env != "prod":
                self.key_encryption_key = DEV_KEY_ENCRYPTION_KEY
            if self.env == "prod" and self.key_encryption_key in (None, DEV_KEY_ENCRYPTION_KEY):
                raise ValueError(
                    "AMIABLE_KEY_ENCRYPTION_KEY must be set (the base64 of 32 random bytes, "
                    "from a Secret) when AMIABLE_ENV=prod"
                )
            decode_kek(self.key_encryption_key)
        if self.old_key_encryption_key:
            decode_kek(self.old_key_encryption_key, "AMIABLE_OLD_KEY_ENCRYPTION_KEY")
        return self


class FigureSettings(ServiceSettings):
    """The settings that change what is owed (env prefix ``AMIABLE_``)."""

    # How a payment is allocated: to the fixed fee and late interest first, then the principal
    # (the default, as creditors usually stipulate), or to the principal first.
    payment_allocation: Allocation = "fees_interest_first"
    # The law governing a claim that names none: the creditor's country (ISO 3166-1 alpha-2) or
    # "none" (no statute). Per tenant: a JSON object, e.g. {"acme-uk": "GB", "acme-us": "none"}.
    default_governing_law: str = Field("FR", pattern=r"^([A-Z]{2}|none)$")
    tenant_governing_law: dict[str, str] = Field(default_factory=dict)
    # Late interest does not run while a payment plan is respected.
    suspend_interest_on_respected_plan: bool = True
