"""The test set-up: starts the local stack when an integration test needs it, and only then.

It reuses a stack that is already up (and leaves it up); a stack it started itself it stops at
the end. ``AMIABLE_KAFKA_BOOTSTRAP`` + ``AMIABLE_DATABASE_URL`` point the tests at an existing
Kafka and PostgreSQL instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import (
    TEST_JWT_SECRET,
    Infra,
    ServiceProcess,
    create_topic,
    free_port,
    unique_name,
)


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    bootstrap = os.environ.get("AMIABLE_KAFKA_BOOTSTRAP")
    database_url = os.environ.get("AMIABLE_DATABASE_URL")
    if bootstrap and database_url:
        yield Infra(bootstrap, database_url)
        return
    from amiable_cli import stack

    config = stack.StackConfig.from_env()
    started = not stack.is_up(config)
    status = stack.up(config)
    try:
        yield Infra(status.bootstrap, status.database_url)
    finally:
        if started:
            stack.down(config)


@pytest.fixture
def unique() -> str:
    """A short id that keeps a test's tenants, topics and schemas its own."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
def fresh_topic(infra: Infra) -> Callable:
    """Make a 12-partition topic of the test's own."""

    async def make(prefix: str = "test") -> str:
        return await create_topic(infra.bootstrap, unique_name(prefix))

    return make


@pytest.fixture
def service_process(infra: Infra, tmp_path: Path) -> Iterator[Callable[..., ServiceProcess]]:
    """Start services as processes; every one is stopped when the test ends."""
    started: list[ServiceProcess] = []

    def make(name: str = "claims", **settings: str) -> ServiceProcess:
        env = {
            **os.environ,
            "AMIABLE_KAFKA_BOOTSTRAP": infra.bootstrap,
            "AMIABLE_DATABASE_URL": infra.database_url,
            "AMIABLE_ENV": "test",
            "AMIABLE_JWT_SECRET": TEST_JWT_SECRET,
            "OTEL_SDK_DISABLED": "true",
        }
        env.update({f"AMIABLE_{key.upper()}": value for key, value in settings.items()})
        service = ServiceProcess(name, free_port(), env, tmp_path / f"{name}-{len(started)}.log")
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()
