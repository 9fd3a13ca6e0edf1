"""The Kafka security settings (AMIABLE_KAFKA_*) as aiokafka's arguments: what deploy/k8s sets
(SASL_SSL, SCRAM-SHA-512, the Strimzi cluster CA) reaches every client, and a setting that
would be silently ignored stops the start instead."""

from __future__ import annotations

import inspect
import ssl

import certifi
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient

from amiable_events.kafka import client_security
from amiable_events.settings import ServiceSettings

#: A PEM bundle that exists on every machine with the locked dependencies.
CA_FILE = certifi.where()


def settings_from(monkeypatch: pytest.MonkeyPatch, **variables: str) -> ServiceSettings:
    monkeypatch.setenv("AMIABLE_ENV", "dev")
    for name, value in variables.items():
        monkeypatch.setenv(f"AMIABLE_KAFKA_{name.upper()}", value)
    return ServiceSettings()


def test_a_laptop_connects_in_plaintext(monkeypatch: pytest.MonkeyPatch) -> None:
    assert client_security(settings_from(monkeypatch)) == {"security_protocol": "PLAINTEXT"}


def test_the_production_variables_give_scram_over_verified_tls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = settings_from(
        monkeypatch,
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="claims",
        sasl_password="from-the-kafkauser-secret",
        ssl_cafile=CA_FILE,
    )
    options = client_security(settings)
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert options["sasl_plain_username"] == "claims"
    assert options["sasl_plain_password"] == "from-the-kafkauser-secret"
    context = options["ssl_context"]
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] > 0, "the CA file was not loaded"
    # Every kind of client the services build takes these arguments as they are.
    for client in (AIOKafkaProducer, AIOKafkaConsumer, AIOKafkaAdminClient):
        accepted = set(inspect.signature(client).parameters)
        assert set(options) <= accepted, f"{client.__name__} takes no {set(options) - accepted}"


async def test_clients_accept_the_options() -> None:
    options = client_security(
        ServiceSettings(
            env="dev",
            kafka_security_protocol="SASL_SSL",
            kafka_sasl_mechanism="SCRAM-SHA-512",
            kafka_sasl_username="risk",
            kafka_sasl_password="pw",
            kafka_ssl_cafile=CA_FILE,
        )
    )
    producer = AIOKafkaProducer(bootstrap_servers="kafka:9093", **options)
    consumer = AIOKafkaConsumer(bootstrap_servers="kafka:9093", group_id="amiable-risk", **options)
    assert producer.client._security_protocol == "SASL_SSL"
    assert consumer._client._sasl_mechanism == "SCRAM-SHA-512"
    await consumer.stop()
    await producer.stop()


@pytest.mark.parametrize(
    ("variables", "named"),
    [
        ({"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512"}, "USERNAME"),
        ({"security_protocol": "SASL_SSL", "sasl_username": "u", "sasl_password": "p"}, "MECH"),
        ({"sasl_mechanism": "SCRAM-SHA-512", "sasl_username": "u"}, "does not authenticate"),
        ({"ssl_cafile": CA_FILE}, "does not use TLS"),
        (
            {
                "security_protocol": "SASL_PLAINTEXT",
                "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_username": "u",
                "sasl_password": "p",
                "ssl_cafile": CA_FILE,
            },
            "does not use TLS",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused(
    monkeypatch: pytest.MonkeyPatch, variables: dict[str, str], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        client_security(settings_from(monkeypatch, **variables))


def test_a_missing_ca_file_is_refused_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    settings = settings_from(
        monkeypatch, security_protocol="SSL", ssl_cafile=str(tmp_path / "absent.crt")
    )
    with pytest.raises(FileNotFoundError):
        client_security(settings)
