"""One declaration per service, and the one way to build and run it.

A service says what it is once, in its ``main.py``: a :class:`Service` with its name, port,
settings class, scopes, routers, projector, reactions, timers and the application objects it
wires. Everything else derives from the declarations: ``build_app`` (the FastAPI app and its
lifespan), the CLI (``amiable serve|run|rebuild|unpark|token``, and ``amiable <service> ...``
for a service's own ``commands``), the local stack (databases,
dead-letter topics) and the deploy tests (compose and k8s manifests). Services are registered
as ``amiable.services`` entry points of their own package: adding one is its folder, one
registration line in its pyproject.toml, and its manifests.

Nothing here connects at import time; ``build_app`` connects in the app's lifespan.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine

from amiable_events.admin import admin_router
from amiable_events.auth import TokenVerifier
from amiable_events.catalog import REGISTRY
from amiable_events.clock import Clock, clock_from_setting
from amiable_events.commands import CommandBus
from amiable_events.db import AccountLocks, create_engine
from amiable_events.http import install_problem_handlers, operations_router
from amiable_events.idempotency import PostgresLedger
from amiable_events.kafka import client_security
from amiable_events.limits import BodyLimit
from amiable_events.logs import install_logging
from amiable_events.metrics import HttpMetrics
from amiable_events.personal import Sealer, key_store
from amiable_events.producer import EventLog
from amiable_events.projection import ProjectionRunner, ProjectionStore, Projector
from amiable_events.reactions import Reactions, Reactor
from amiable_events.settings import ServiceSettings
from amiable_events.timers import FireFn, TimerLoop
from amiable_events.tracing import configure_tracing, instrument_http

ENTRY_POINT_GROUP = "amiable.services"
KEYS_DATABASE = "amiable_keys"


@dataclass(frozen=True)
class TimerDeclaration:
    """A service's durable timers: the table (in its projection's metadata) and what fires."""

    table: Table
    fire: FireFn


@dataclass
class Parts:
    """What ``build_app`` made for a running service; ``Service.wire`` builds on it."""

    settings: ServiceSettings
    engine: AsyncEngine
    log: EventLog
    store: ProjectionStore
    runner: ProjectionRunner
    clock: Clock
    sealer: Sealer
    ledger: PostgresLedger

    def command_bus(
        self,
        service: str,
        deciders: Mapping[type, Any],
        read_model: Any,
        policy: Any = None,
        *,
        across_replicas: bool = False,
    ) -> CommandBus:
        """The service's command bus on these parts: its log, runner, ledger and clock;
        ``across_replicas``: one command per account at a time in every replica."""
        return CommandBus(
            across_replicas=AccountLocks(self.engine).hold if across_replicas else None,
            service=service,
            deciders=deciders,
            read_model=read_model,
            log=self.log,
            runner=self.runner,
            ledger=self.ledger,
            clock=self.clock,
            timeout=self.settings.read_your_writes_timeout,
            policy=policy,
        )


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    title: str
    summary: str
    settings: type[ServiceSettings]
    #: scope -> what it allows; ``admin`` (projection admin routes) is implied.
    scopes: Mapping[str, str]
    projector: Callable[[Any], Projector]
    routers: Sequence[APIRouter] = ()
    reactions: Callable[[Any], Reactions] | None = None
    timers: TimerDeclaration | None = None
    #: Builds the service's application objects (command bus, handlers...) from the parts;
    #: each key becomes an attribute of ``app.state``.
    wire: Callable[[Parts], Mapping[str, Any]] = field(default=lambda parts: {})
    #: Long-running workers of the service (e.g. a sender), made from the parts and what
    #: ``wire`` built: objects with ``async start()`` and ``async stop()``, started after the
    #: wiring and stopped first.
    workers: Callable[[Parts, Mapping[str, Any]], Sequence[Any]] = field(
        default=lambda parts, wired: ()
    )
    #: The service's own operational commands (a ``typer.Typer``), which ``amiable`` mounts
    #: under the service's name (``amiable risk backtest``). Any: the kit does not need typer.
    commands: Any = None

    @property
    def database(self) -> str:
        return f"amiable_{self.name}"

    def database_of(self, settings: ServiceSettings) -> str:
        return settings.database or self.database

    def port_of(self, settings: ServiceSettings) -> int:
        return settings.port or self.port

    @property
    def all_scopes(self) -> list[str]:
        return [*self.scopes, "admin"]

    def store(self, settings: ServiceSettings, engine: AsyncEngine, **options) -> ProjectionStore:
        """The service's projection store (tools pass no log: they never react)."""
        return ProjectionStore(
            self.projector(settings),
            engine,
            REGISTRY,
            schema=settings.projection_schema,
            **options,
        )


def key_store_engine(settings: ServiceSettings, *, pool_size: int = 5) -> AsyncEngine:
    """The personal-data key store's engine: ``AMIABLE_KEYS_DATABASE_URL`` (its own role and
    database), else the ``amiable_keys`` database on the services' server."""
    if settings.keys_database_url:
        return create_engine(settings.keys_database_url, pool_size=pool_size)
    return create_engine(settings.database_url, KEYS_DATABASE, pool_size=pool_size)


def declared() -> dict[str, Service]:
    """Every installed service, by name, in port order."""
    services = [ep.load() for ep in entry_points(group=ENTRY_POINT_GROUP)]
    for service in services:
        if not isinstance(service, Service):
            raise TypeError(f"entry point {ENTRY_POINT_GROUP} gave {service!r}, not a Service")
    return {s.name: s for s in sorted(services, key=lambda s: s.port)}


def build_app(service: Service, settings: ServiceSettings | None = None) -> FastAPI:
    """The service's FastAPI app: its routers plus health, readiness, metrics and admin routes;
    its lifespan starts the log, the projection runner (reacting if the service has
    reactions), the timer loop, and the service's own wiring, and stops them in reverse."""
    settings = settings or service.settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        configure_tracing(f"amiable-{service.name}")
        # Heavy reads and imports run in worker threads (asyncio.to_thread); with Python's
        # default 5 ms switch interval each of them can keep the event loop waiting for the GIL
        # that long on every step of a request. 1 ms keeps /healthz and light requests fast.
        sys.setswitchinterval(0.001)
        install_logging(f"amiable-{service.name}")
        engine = create_engine(settings.database_url, service.database_of(settings))
        keys_engine = key_store_engine(settings)
        keys = key_store(settings, keys_engine)
        await keys.create_schema()
        await keys.listen()
        sealer = Sealer(keys)
        ledger = PostgresLedger(engine)
        await ledger.create()
        kafka_options = client_security(settings)
        log = EventLog(
            settings.kafka_bootstrap,
            topic=settings.topic,
            client_id=f"amiable-{service.name}",
            kafka_options=kafka_options,
        )
        await log.start()
        reactor = Reactor(service.reactions(settings)) if service.reactions else None
        store = service.store(
            settings, engine, reactor=reactor, log=log if reactor is not None else None
        )
        runner = ProjectionRunner(
            store,
            bootstrap=settings.kafka_bootstrap,
            topic=settings.topic,
            dlq_producer=log,
            group_id=settings.consumer_group,
            on_erased=sealer.forget,
            kafka_options=kafka_options,
        )
        await runner.start()
        clock = clock_from_setting(settings.clock)
        timer_loop = None
        if service.timers is not None:
            timer_loop = TimerLoop(
                store=store,
                table=service.timers.table,
                log=log,
                clock=clock,
                fire=service.timers.fire,
                service=service.name,
                interval=settings.timer_interval,
                runner=runner,
            )
            await timer_loop.start()
        parts = Parts(settings, engine, log, store, runner, clock, sealer, ledger)
        app.state.settings = settings
        app.state.runner = runner
        app.state.timers = timer_loop
        app.state.token_verifier = TokenVerifier(
            secret=settings.jwt_secret,
            jwks_url=settings.jwks_url,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            operator_audience=settings.operator_audience,
        )
        wired = service.wire(parts)
        for name, value in wired.items():
            setattr(app.state, name, value)
        workers = list(service.workers(parts, wired))
        for worker in workers:
            await worker.start()
        # What start-up made (modules, schemas, models) lives as long as the process: out of
        # the collector's reach, a full collection during a heavy read stays short.
        gc.freeze()
        try:
            yield
        finally:
            for worker in reversed(workers):
                await worker.stop()
            if timer_loop is not None:
                await timer_loop.stop()
            await runner.stop()
            await log.stop()
            await engine.dispose()
            await keys.stop()
            await keys_engine.dispose()

    app = FastAPI(
        title=f"amiable {service.title}",
        version="1.0.0",
        summary=service.summary,
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    # Inside the tracing middleware (instrument_http wraps the whole stack): the request's span
    # is current when the duration is observed, its trace id the exemplar.
    app.add_middleware(HttpMetrics, service=service.name)
    app.add_middleware(
        BodyLimit,
        limit_for=lambda path: (
            settings.max_import_bytes if path.endswith(":import") else settings.max_body_bytes
        ),
    )
    # Outermost whatever the order (it wraps the built middleware stack): a request's span
    # covers its whole handling, errors included.
    instrument_http(app)
    for router in service.routers:
        app.include_router(router)
    app.include_router(admin_router(_runner))
    app.include_router(operations_router(_runner))
    return app


def _runner(request) -> ProjectionRunner:
    return request.app.state.runner
