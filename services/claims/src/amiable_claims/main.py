"""Composition root of the claims service: builds everything from settings. Wiring only."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from amiable_claims import portfolio
from amiable_claims.api import router
from amiable_claims.domain import Policy
from amiable_claims.handlers import ClaimsHandler
from amiable_claims.projection import ClaimsProjector, ClaimsReadModel, timers
from amiable_claims.settings import ClaimsSettings
from amiable_claims.worker import fire
from amiable_events.admin import admin_router
from amiable_events.auth import TokenVerifier
from amiable_events.catalog import REGISTRY
from amiable_events.clock import clock_from_setting
from amiable_events.db import create_engine
from amiable_events.http import install_problem_handlers, operations_router
from amiable_events.personal import PostgresKeyStore, Sealer
from amiable_events.producer import EventLog
from amiable_events.projection import ProjectionRunner, ProjectionStore
from amiable_events.timers import TimerLoop
from amiable_events.tracing import configure_tracing
from amiable_rules.governing_law import GoverningLaws
from amiable_rules.late_fees import LateFeeRules
from amiable_rules.limitation import LimitationRules

SERVICE = "claims"


def policy(settings: ClaimsSettings) -> Policy:
    return Policy(
        late_fees=LateFeeRules.load(),
        limitation=LimitationRules.load(),
        governing_laws=GoverningLaws(
            default=settings.default_governing_law, by_tenant=settings.tenant_governing_law
        ),
        allocation=settings.payment_allocation,
        suspend_interest_on_respected_plan=settings.suspend_interest_on_respected_plan,
        installment_grace_days=settings.installment_grace_days,
        promise_grace_days=settings.promise_grace_days,
    )


def projection_store(settings: ClaimsSettings, engine) -> ProjectionStore:
    return ProjectionStore(
        ClaimsProjector(policy(settings)), engine, REGISTRY, schema=settings.projection_schema
    )


def create_app(settings: ClaimsSettings | None = None) -> FastAPI:
    settings = settings or ClaimsSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        configure_tracing(f"amiable-{SERVICE}")
        engine = create_engine(settings.database_url, settings.database)
        keys_engine = create_engine(settings.database_url, settings.keys_database, pool_size=5)
        keys = PostgresKeyStore(keys_engine)
        await keys.create_schema()
        log = EventLog(
            settings.kafka_bootstrap, topic=settings.topic, client_id=f"amiable-{SERVICE}"
        )
        await log.start()
        store = projection_store(settings, engine)
        runner = ProjectionRunner(
            store,
            bootstrap=settings.kafka_bootstrap,
            topic=settings.topic,
            dlq_producer=log,
            group_id=settings.consumer_group,
        )
        await runner.start()
        clock = clock_from_setting(settings.clock)
        timer_loop = TimerLoop(
            store=store,
            table=timers,
            log=log,
            clock=clock,
            fire=fire,
            service=SERVICE,
            interval=settings.timer_interval,
            runner=runner,
        )
        await timer_loop.start()
        app.state.settings = settings
        app.state.runner = runner
        app.state.token_verifier = TokenVerifier(
            secret=settings.jwt_secret,
            jwks_url=settings.jwks_url,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )
        app.state.timers = timer_loop
        app.state.claims = ClaimsHandler(
            log=log,
            runner=runner,
            read_model=ClaimsReadModel(store, REGISTRY),
            sealer=Sealer(keys),
            clock=clock,
            policy=store.projector.policy,
            timeout=settings.read_your_writes_timeout,
        )
        try:
            yield
        finally:
            await timer_loop.stop()
            await runner.stop()
            await log.stop()
            await engine.dispose()
            await keys_engine.dispose()

    app = FastAPI(
        title="amiable claims",
        version="1.0.0",
        summary="Claims intake: register unpaid B2B invoices, record what happens to them "
        "(payments, plans, promises, credit notes), and read the truth about each claim and "
        "the portfolio.",
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.include_router(router)
    app.include_router(portfolio.router)
    runner_of = _runner
    app.include_router(admin_router(runner_of))
    app.include_router(operations_router(runner_of))
    return app


def _runner(request):
    return request.app.state.runner


Settings = ClaimsSettings
