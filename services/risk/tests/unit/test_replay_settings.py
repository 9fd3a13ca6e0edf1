"""`amiable risk backtest --from-log` reads the log as the services do: on a secured cluster
(deploy/k8s: TLS and SCRAM-SHA-512) its consumer gets the same AMIABLE_KAFKA_* settings."""

from __future__ import annotations

import certifi
import pytest

from amiable_events.kafka import client_security
from amiable_risk.settings import ReplaySettings


def test_the_replay_reaches_kafka_as_the_services_do(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "BOOTSTRAP": "amiable-kafka-bootstrap:9093",
        "SECURITY_PROTOCOL": "SASL_SSL",
        "SASL_MECHANISM": "SCRAM-SHA-512",
        "SASL_USERNAME": "amiable-risk",
        "SASL_PASSWORD": "from-the-kafkauser-secret",
        "SSL_CAFILE": certifi.where(),
    }.items():
        monkeypatch.setenv(f"AMIABLE_KAFKA_{name}", value)
    settings = ReplaySettings()
    options = client_security(settings)
    assert settings.kafka_bootstrap == "amiable-kafka-bootstrap:9093"
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "amiable-risk"
    assert options["ssl_context"].check_hostname


def test_the_replay_needs_no_token_secret_nor_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AMIABLE_JWT_SECRET", raising=False)
    monkeypatch.setenv("AMIABLE_ENV", "prod")
    assert client_security(ReplaySettings()) == {"security_protocol": "PLAINTEXT"}
