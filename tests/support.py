"""Helpers every test may import: tokens, polling with a deadline, topics, schemas, frozen
clocks, service processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TEST_JWT_SECRET = "amiable-test-secret-0123456789abcdef"
#: Services under test accept operator tokens for this audience (cross-tenant admin).
OPERATOR_AUDIENCE = "amiable-operator"
#: Where the clock of a service started by a test stands unless the test says otherwise. A test
#: computes its dates from the clock it gave the service (``ServiceProcess.today``), so moving
#: this instant moves nothing but the dates the service sees.
FROZEN_AT = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def frozen(moment: datetime | date) -> str:
    """The ``AMIABLE_CLOCK`` setting of a clock frozen at ``moment`` (a date means its noon UTC)."""
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, 12, tzinfo=UTC)
    return f"frozen:{moment.isoformat()}"


@dataclass(frozen=True)
class Infra:
    """Where the tests' Kafka and PostgreSQL are, and the mail sink and SMS gateway a service
    sends to (by default the local stack's)."""

    bootstrap: str
    database_url: str
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 11025
    sms_gateway_url: str = "http://127.0.0.1:11080"


def service_env(infra: Infra, *, clock: datetime | date = FROZEN_AT, **settings: str) -> dict:
    """The environment of a service process under test: the local stack (its mail sink and SMS
    gateway included), test mode with the test
    secret and operator audience, tracing off, a clock frozen at ``clock``; each of ``settings``
    as ``AMIABLE_<NAME>``."""
    return {
        **os.environ,
        "AMIABLE_KAFKA_BOOTSTRAP": infra.bootstrap,
        "AMIABLE_DATABASE_URL": infra.database_url,
        "AMIABLE_SMTP_HOST": infra.smtp_host,
        "AMIABLE_SMTP_PORT": str(infra.smtp_port),
        "AMIABLE_SMS_GATEWAY_URL": infra.sms_gateway_url,
        "AMIABLE_ENV": "test",
        "AMIABLE_JWT_SECRET": TEST_JWT_SECRET,
        "AMIABLE_OPERATOR_AUDIENCE": OPERATOR_AUDIENCE,
        "AMIABLE_CLOCK": frozen(clock),
        "OTEL_SDK_DISABLED": "true",
        **{f"AMIABLE_{name.upper()}": value for name, value in settings.items()},
    }


async def create_topic(bootstrap: str, name: str, partitions: int = 12) -> str:
    from amiable_events.topics import TopicSpec, create_topics

    await create_topics(bootstrap, [TopicSpec(name, partitions)])
    return name


async def ensure_dlq(bootstrap: str, service: str = "claims") -> None:
    """The service's dead-letter topic. Its name does not follow ``AMIABLE_TOPIC``
    (``claim-events.v1.dlq.<service>``): it is the stack's, shared, created if missing and
    never deleted by a test."""
    from amiable_events.topics import (
        DLQ_CONFIGS,
        DLQ_PARTITIONS,
        TopicSpec,
        create_topics,
        dlq_topic,
    )

    await create_topics(
        bootstrap, [TopicSpec(dlq_topic(service), DLQ_PARTITIONS, configs=dict(DLQ_CONFIGS))]
    )


async def delete_topics(bootstrap: str, names: list[str]) -> None:
    """Delete the test's own topics (missing ones are fine)."""
    if names:
        from amiable_events.topics import delete_topics as delete

        await delete(bootstrap, names)


async def drop_schemas(database_url: str, database: str, schemas: list[str]) -> None:
    """Drop a test's projection schemas and the rebuild schemas next to them."""
    if not schemas:
        return
    from sqlalchemy import text

    from amiable_events.db import create_engine

    engine = create_engine(database_url, database)
    try:
        async with engine.begin() as conn:
            for schema in schemas:
                for name in (schema, f"{schema}_rebuild"):
                    await conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    finally:
        await engine.dispose()


def service_key_store(engine, **options):
    """The key store on ``engine`` with the KEK of the services under test (AMIABLE_ENV=test:
    the fixed dev/test KEK), so that what one seals the other opens."""
    from amiable_events.personal import key_store
    from amiable_events.settings import ServiceSettings

    return key_store(ServiceSettings(env="test", jwt_secret=TEST_JWT_SECRET), engine, **options)


@contextlib.asynccontextmanager
async def scratch_database(server_url: str, prefix: str):
    """A database of the test's own on the server (its name), dropped at the end: for a test
    that works on a whole table (the key store's rewrap) without the other tests' rows."""
    import asyncpg

    name = unique_name(prefix).replace("-", "_")
    server = await asyncpg.connect(f"{server_url}/postgres", timeout=10)
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
        try:
            yield name
        finally:
            await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await server.close()


async def read_topic(bootstrap: str, topic: str):
    """Every record of ``topic`` up to its end as of now (committed ones only), in order per
    partition, duplicates included."""
    from aiokafka import AIOKafkaConsumer

    from amiable_events.projection import topic_partitions

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, isolation_level="read_committed"
    )
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found = []
        while True:
            behind = [tp for tp, end in ends.items() if await consumer.position(tp) < end]
            if not behind:
                return sorted(found, key=lambda record: (record.partition, record.offset))
            for tp, rows in (await consumer.getmany(*behind, timeout_ms=500)).items():
                found += [record for record in rows if record.offset < ends[tp]]
    finally:
        await consumer.stop()


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


#: Ports handed to servers the tests start: below Linux's ephemeral range (32768 up), so that no
#: outgoing connection of another process takes one as its local port before the server binds it.
SERVER_PORTS = range(20_000, 32_000)
_pick = random.SystemRandom()  # not the seedable module state: two xdist workers must differ


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    """A free port whose next one is free too (a Kafka the tests start listens on both)."""
    for _ in range(500):
        port = _pick.randrange(SERVER_PORTS.start, SERVER_PORTS.stop - 1)
        if _bindable(port) and _bindable(port + 1):
            return port
    raise RuntimeError(f"no two free ports in a row in {SERVER_PORTS}")


def token(tenant: str, *scopes: str) -> str:
    from amiable_events.auth import issue_token

    return issue_token(TEST_JWT_SECRET, tenant=tenant, scopes=list(scopes) or ["claims:write"])


def auth(tenant: str, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(tenant, *scopes)}"}


def operator_auth(tenant: str = "operations") -> dict[str, str]:
    """An operator's token: scope admin, for the operator audience (every tenant's data)."""
    from amiable_events.auth import issue_token

    signed = issue_token(
        TEST_JWT_SECRET, tenant=tenant, scopes=["admin"], audience=OPERATOR_AUDIENCE
    )
    return {"Authorization": f"Bearer {signed}"}


async def eventually(check: Callable, *, timeout: float = 30, interval: float = 0.05):
    """Poll ``check`` (sync or async) until it returns a truthy value, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"not true within {timeout}s (last value {last!r})")


@dataclass
class ServiceProcess:
    """A service started as a real process (``amiable serve``) with its own settings."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def now(self) -> datetime:
        """The time the service reads from its clock (``AMIABLE_CLOCK``)."""
        from amiable_events.clock import clock_from_setting

        return clock_from_setting(self.env.get("AMIABLE_CLOCK")).now()

    @property
    def today(self) -> date:
        return self.now().date()

    def start(self, *, timeout: float = 60) -> ServiceProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "amiable_cli.main",
                    "serve",
                    self.name,
                    "--port",
                    str(self.port),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not start:\n{self.log_text()}")

    def wait_ready(self, *, timeout: float = 120) -> ServiceProcess:
        """Until /readyz says the projection has caught up with the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                return self
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """``kill -9``: no shutdown code runs."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@contextlib.asynccontextmanager
async def service_on_own_topic(infra: Infra, name: str, log_dir: Path, *, clock=FROZEN_AT):
    """A ``name`` process on a topic, a schema and a consumer group of its own, ready, with a
    log on that topic to feed it the events another service would write (``process.log``,
    ``process.topic``); the process, the schema and the topic are gone afterwards."""
    from amiable_events.producer import EventLog

    topic = await create_topic(infra.bootstrap, unique_name(name))
    schema = topic.replace("-", "_")
    await ensure_dlq(infra.bootstrap, name)
    env = service_env(
        infra, clock=clock, topic=topic, projection_schema=schema, consumer_group=f"{name}-{schema}"
    )
    process = ServiceProcess(name, free_port(), env, log_dir / f"{name}.log").start()
    log = EventLog(infra.bootstrap, topic=topic, client_id=f"{name}-test")
    await log.start()
    try:
        process.wait_ready()
        process.log, process.topic = log, topic
        yield process
    finally:
        await log.stop()
        process.stop()
        await drop_schemas(infra.database_url, f"amiable_{name}", [schema, f"{schema}_rebuild"])
        await delete_topics(infra.bootstrap, [topic])


async def rebuild_gives_live_digest(process: ServiceProcess) -> dict:
    """Rebuild the projection of ``process`` from the log as an operator does (``amiable
    rebuild``) and assert it equals the live one, table by table; the live digest. The live one
    is read once two reads in a row agree, so the reactions of earlier events are in it."""
    async with httpx.AsyncClient(base_url=process.url, timeout=15) as api:
        seen: list[dict] = []

        async def settled():
            seen.append((await api.get("/admin/state-digest", headers=operator_auth())).json())
            return seen[-1] if len(seen) > 1 and seen[-1] == seen[-2] else None

        live = await eventually(settled, interval=0.5)
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "amiable_cli.main", "rebuild", process.name],
            env=process.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert f"digest {live['digest']}" in result.stdout, (live, result.stdout)
        after = (await api.get("/admin/state-digest", headers=operator_auth())).json()
    assert after["tables"] == live["tables"]  # names the table that differs
    return live
