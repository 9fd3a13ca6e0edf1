"""How a service's Kafka clients connect: its security settings as aiokafka's arguments.

Every producer, consumer and admin client of a service is built with :func:`client_security`,
so that one set of ``AMIABLE_KAFKA_*`` variables secures them all: a client left on PLAINTEXT
would be refused by a cluster that only listens with TLS and SCRAM.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.helpers import create_ssl_context

from amiable_events.settings import KafkaClientSettings


def client_security(settings: KafkaClientSettings) -> dict[str, Any]:
    """The keyword arguments that aiokafka's clients take for ``settings``' security.

    Raises ``ValueError`` when the settings cannot work: SASL without a mechanism or
    credentials, or SASL or a CA file given to a protocol that does not use them (a silently
    ignored password or CA is a misconfiguration found only in production)."""
    protocol = settings.kafka_security_protocol
    sasl = protocol.startswith("SASL_")
    tls = protocol.endswith("SSL")
    options: dict[str, Any] = {"security_protocol": protocol}
    if sasl:
        missing = [
            f"AMIABLE_KAFKA_{name.upper()}"
            for name in ("sasl_mechanism", "sasl_username", "sasl_password")
            if not getattr(settings, f"kafka_{name}")
        ]
        if missing:
            raise ValueError(f"AMIABLE_KAFKA_SECURITY_PROTOCOL={protocol} needs {missing}")
        options |= {
            "sasl_mechanism": settings.kafka_sasl_mechanism,
            "sasl_plain_username": settings.kafka_sasl_username,
            "sasl_plain_password": settings.kafka_sasl_password,
        }
    elif settings.kafka_sasl_mechanism or settings.kafka_sasl_username:
        raise ValueError(
            f"AMIABLE_KAFKA_SASL_* are set but AMIABLE_KAFKA_SECURITY_PROTOCOL={protocol} "
            "does not authenticate (SASL_SSL does)"
        )
    if tls:
        # Without a CA file the system's trusted CAs; host names are always checked.
        options["ssl_context"] = create_ssl_context(cafile=settings.kafka_ssl_cafile)
    elif settings.kafka_ssl_cafile:
        raise ValueError(
            f"AMIABLE_KAFKA_SSL_CAFILE is set but AMIABLE_KAFKA_SECURITY_PROTOCOL={protocol} "
            "does not use TLS (SSL or SASL_SSL does)"
        )
    return options


def log_reader(bootstrap: str, security: dict[str, Any], **options: Any) -> AIOKafkaConsumer:
    """A consumer of the log outside any consumer group, for reads that assign partitions
    themselves (rebuild, tail, a backtest, the erasure replay): committed records only, and no
    offsets committed on anyone's behalf. ``security`` is :func:`client_security`'s answer."""
    return AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        isolation_level="read_committed",
        enable_auto_commit=False,
        **security,
        **options,
    )
