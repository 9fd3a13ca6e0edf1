"""The test set-up: starts the local stack when an integration test needs it, and only then.

It reuses a stack that is already up (and leaves it up); a stack it started itself it stops at
the end. ``AMIABLE_KAFKA_BOOTSTRAP`` + ``AMIABLE_DATABASE_URL`` point the tests at an existing
Kafka and PostgreSQL instead, with ``AMIABLE_SMTP_HOST``/``AMIABLE_SMTP_PORT`` and
``AMIABLE_SMS_GATEWAY_URL`` for the mail sink and SMS gateway (the local stack's ports unless
set).

Service processes run on a frozen clock (``FROZEN_AT`` unless the test gives another) and the
test computes its dates from it; the topics and projection schemas a test makes are deleted
when it ends.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.support import (
    Infra,
    ServiceProcess,
    create_topic,
    delete_topics,
    drop_schemas,
    ensure_dlq,
    free_port,
    service_env,
    unique_name,
)

STACK_MARKERS = {"integration", "e2e"}


def pytest_collection_modifyitems(config, items) -> None:
    """A test that needs the stack says so: ``make unit`` runs every test without these markers,
    and must not start Kafka or PostgreSQL."""
    unmarked = [
        item.nodeid
        for item in items
        if "infra" in getattr(item, "fixturenames", ())
        and not STACK_MARKERS & {mark.name for mark in item.iter_markers()}
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests use the stack (the infra fixture) without an integration or e2e "
            "marker: " + ", ".join(unmarked)
        )


#: The stack this run's xdist controller started, to stop when the run ends.
_STARTED_STACK = pytest.StashKey()


def _parallel_controller(config: pytest.Config) -> bool:
    """True in the process that hands tests to pytest-xdist workers (``make test``: ``-n``)."""
    return bool(getattr(config.option, "numprocesses", None)) and not hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist the controller brings the stack up once, before the workers start,
    and hands it to them through the environment they inherit: two workers each starting (and
    one stopping) the stack would race. Without ``-n`` the ``infra`` fixture does it, lazily."""
    if not _parallel_controller(config) or (
        os.environ.get("AMIABLE_KAFKA_BOOTSTRAP") and os.environ.get("AMIABLE_DATABASE_URL")
    ):
        return
    from amiable_cli import stack

    stack_config = stack.StackConfig.from_env()
    before = stack.status(stack_config)
    status = stack.up(stack_config)
    if not (before.kafka_running or before.postgres_running):
        config.stash[_STARTED_STACK] = stack_config
    os.environ.update(
        AMIABLE_KAFKA_BOOTSTRAP=status.bootstrap,
        AMIABLE_DATABASE_URL=status.database_url,
        AMIABLE_SMTP_HOST=stack_config.smtp_host,
        AMIABLE_SMTP_PORT=str(stack_config.smtp_port),
        AMIABLE_SMS_GATEWAY_URL=stack_config.sms_gateway_url,
    )


def pytest_unconfigure(config: pytest.Config) -> None:
    stack_config = config.stash.get(_STARTED_STACK, None)
    if stack_config is not None:
        from amiable_cli import stack

        stack.down(stack_config)


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    bootstrap = os.environ.get("AMIABLE_KAFKA_BOOTSTRAP")
    database_url = os.environ.get("AMIABLE_DATABASE_URL")
    if bootstrap and database_url:
        defaults = Infra(bootstrap, database_url)
        yield Infra(
            bootstrap,
            database_url,
            smtp_host=os.environ.get("AMIABLE_SMTP_HOST", defaults.smtp_host),
            smtp_port=int(os.environ.get("AMIABLE_SMTP_PORT", defaults.smtp_port)),
            sms_gateway_url=os.environ.get("AMIABLE_SMS_GATEWAY_URL", defaults.sms_gateway_url),
        )
        return
    from amiable_cli import stack

    config = stack.StackConfig.from_env()
    # Stopped at the end only if no server ran before: a stack that runs but answers slowly
    # (2 cores, several sessions), or half of one, is someone else's: stopping it breaks them.
    before = stack.status(config)
    started = not (before.kafka_running or before.postgres_running)
    status = stack.up(config)
    try:
        yield Infra(
            status.bootstrap,
            status.database_url,
            smtp_host=config.smtp_host,
            smtp_port=config.smtp_port,
            sms_gateway_url=config.sms_gateway_url,
        )
    finally:
        if started:
            stack.down(config)


@pytest.fixture
def unique() -> str:
    """A short id that keeps a test's tenants, topics and schemas its own."""
    return uuid.uuid4().hex[:10]


@pytest.fixture
async def fresh_topic(infra: Infra) -> AsyncIterator[Callable]:
    """Make a 12-partition topic of the test's own; it is deleted when the test ends."""
    made: list[str] = []

    async def make(prefix: str = "test") -> str:
        await ensure_dlq(infra.bootstrap)  # a service on this topic dead-letters to the stack's
        name = await create_topic(infra.bootstrap, unique_name(prefix))
        made.append(name)
        return name

    yield make
    await delete_topics(infra.bootstrap, made)


@pytest.fixture
async def service_process(
    infra: Infra, tmp_path: Path
) -> AsyncIterator[Callable[..., ServiceProcess]]:
    """Start services as processes, on a clock frozen at ``FROZEN_AT`` unless ``clock=`` says
    otherwise; every one is stopped when the test ends, and the projection schemas they were
    given are dropped."""
    started: list[ServiceProcess] = []
    schemas: dict[str, set[str]] = {}

    def make(name: str = "claims", **settings: str) -> ServiceProcess:
        # settings may carry a clock of their own (AMIABLE_CLOCK=accelerated:...)
        env = service_env(infra)
        env.update({f"AMIABLE_{key.upper()}": value for key, value in settings.items()})
        if "projection_schema" in settings:
            schemas.setdefault(name, set()).add(settings["projection_schema"])
        service = ServiceProcess(name, free_port(), env, tmp_path / f"{name}-{len(started)}.log")
        started.append(service)
        return service

    yield make
    for service in started:
        service.stop()
    for name, names in schemas.items():
        await drop_schemas(infra.database_url, f"amiable_{name}", sorted(names))
