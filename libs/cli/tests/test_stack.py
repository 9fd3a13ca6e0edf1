"""The local stack, checked against the real running broker and database."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from amiable_cli import sinks, stack
from amiable_events.topics import CLAIM_EVENTS_TOPIC, PARTITIONS, dlq_topic, ensure_topics

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def config(infra) -> stack.StackConfig:
    """The stack the test set-up started (or found running), which stops it at the end."""
    return stack.StackConfig.from_env()


async def _topic_layout(bootstrap: str, topics: list[str]) -> dict[str, tuple[int, dict]]:
    """{topic: (partition count, {config name: value})}."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic) for topic in topics]
        )
    finally:
        await admin.close()
    partitions = {
        topic["topic"]: len(topic["partitions"]) for topic in described if topic["error_code"] == 0
    }
    configs = {
        resource[3]: {entry[0]: entry[1] for entry in resource[4]}
        for response in responses
        for resource in response.resources
        if resource[0] == 0
    }
    return {topic: (partitions[topic], configs[topic]) for topic in topics if topic in partitions}


async def test_claim_log_has_twelve_partitions_and_infinite_retention(config):
    layout = await _topic_layout(config.kafka_bootstrap, [CLAIM_EVENTS_TOPIC])

    partitions, configs = layout[CLAIM_EVENTS_TOPIC]
    assert partitions == PARTITIONS == 12
    assert configs["retention.ms"] == "-1"
    assert configs["cleanup.policy"] == "delete"


async def test_every_service_has_its_dlq_topic(config):
    topics = [dlq_topic(service) for service in stack.service_names()]
    assert "claims" in stack.service_names()
    layout = await _topic_layout(config.kafka_bootstrap, topics)

    assert sorted(layout) == sorted(topics)
    for topic in topics:
        assert topic.startswith("claim-events.v1.dlq.")
        partitions, configs = layout[topic]
        assert 1 <= partitions <= 3
        assert configs["retention.ms"] == "-1"


async def test_ensure_topics_is_idempotent(config):
    await ensure_topics(config.kafka_bootstrap, stack.service_names())

    layout = await _topic_layout(config.kafka_bootstrap, [CLAIM_EVENTS_TOPIC])
    assert layout[CLAIM_EVENTS_TOPIC][0] == PARTITIONS


@pytest.mark.parametrize("database", stack.databases())
async def test_every_database_accepts_the_amiable_role(config, database):
    conn = await asyncpg.connect(f"{config.database_url}/{database}", timeout=10)
    try:
        row = await conn.fetchrow("SELECT current_user AS role, current_database() AS db")
    finally:
        await conn.close()

    assert (row["role"], row["db"]) == ("amiable", database)


def test_up_on_a_running_stack_is_a_noop(config, monkeypatch):
    before = stack.status(config)
    assert before.running and before.sinks_running

    def must_not_run(*args, **kwargs):
        raise AssertionError("up provisioned or launched something on a running stack")

    # a no-op: nothing checked for installation, provisioned, launched or waited for
    for step in (
        "ensure_prerequisites",
        "_prepare_kafka",
        "_prepare_postgres",
        "_launch_kafka",
        "_start_postgres",
        "_wait_for_kafka",
    ):
        monkeypatch.setattr(stack, step, must_not_run)
    monkeypatch.setattr(sinks, "_launch", must_not_run)
    messages: list[str] = []
    after = stack.up(config, log=messages.append)

    assert messages == []
    assert (after.kafka_pid, after.postgres_pid) == (before.kafka_pid, before.postgres_pid)
    assert (after.smtp_pid, after.sms_pid) == (before.smtp_pid, before.sms_pid)
    assert after.bootstrap == config.kafka_bootstrap == f"localhost:{config.kafka_port}"
    assert stack.is_up(config)
