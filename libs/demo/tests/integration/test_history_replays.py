"""A generated history on the real log is replayed by the claims and risk projections (what the
whole-chain demo does with it): every claim lands with the status its events give it, and every
debtor account gets a risk assessment."""

from __future__ import annotations

from collections import Counter
from uuid import uuid4

import pytest
from sqlalchemy import func, select, text

from amiable_claims.adapters.projector import ClaimsProjector
from amiable_claims.adapters.tables import claims
from amiable_claims.main import policy
from amiable_claims.settings import ClaimsSettings
from amiable_demo.generate import Plan, generate
from amiable_events.catalog import REGISTRY
from amiable_events.claims import (
    ClaimCancelled,
    ClaimQualified,
    ClaimSettled,
    ClaimWrittenOff,
)
from amiable_events.db import create_engine
from amiable_events.producer import EventLog
from amiable_events.projection import rebuild
from amiable_risk.adapters.tables import accounts
from amiable_risk.main import SERVICE as RISK
from amiable_risk.settings import RiskSettings
from tests.support import TEST_JWT_SECRET, drop_schemas

pytestmark = pytest.mark.integration

PLAN = Plan(claims=300, seed=13, tenants=("demo-replay-a", "demo-replay-b"))
STATUS = {
    ClaimQualified: "qualified",
    ClaimSettled: "settled",
    ClaimWrittenOff: "written_off",
    ClaimCancelled: "cancelled",
}


async def _rebuilt(projector, infra, database: str, topic: str, query):
    """The rows ``query`` reads from ``projector``'s rebuild of ``topic``, in a schema dropped
    afterwards."""
    schema = f"demo_{uuid4().hex[:8]}"
    engine = create_engine(infra.database_url, database)
    try:
        await rebuild(
            projector, engine, REGISTRY, bootstrap=infra.bootstrap, topic=topic, live_schema=schema
        )
        async with engine.connect() as conn:
            await conn.execute(text(f'SET search_path TO "{schema}"'))
            return (await conn.execute(query)).all()
    finally:
        await engine.dispose()
        await drop_schemas(infra.database_url, database, [schema, f"{schema}_old"])


async def test_the_claims_and_risk_projections_replay_a_generated_history(infra, fresh_topic):
    topic = await fresh_topic("demo-replay")
    history = generate(PLAN)
    log = EventLog(infra.bootstrap, topic=topic, client_id="demo-replay")
    await log.start()
    try:
        await log.append(history.envelopes)
    finally:
        await log.stop()
    expected: dict = {}
    for envelope in history.envelopes:
        if type(envelope.data) in STATUS:
            expected[envelope.subject] = STATUS[type(envelope.data)]

    settings = ClaimsSettings(env="test", jwt_secret=TEST_JWT_SECRET)
    rows = await _rebuilt(
        ClaimsProjector(policy(settings)),
        infra,
        "amiable_claims",
        topic,
        select(claims.c.status, func.count()).group_by(claims.c.status),
    )
    risk = RiskSettings(env="test", jwt_secret=TEST_JWT_SECRET)
    assessed = await _rebuilt(
        RISK.projector(risk),
        infra,
        RISK.database,
        topic,
        select(func.count()).select_from(accounts),
    )

    assert dict(rows) == dict(Counter(expected.values()))
    assert sum(count for _, count in rows) == PLAN.claims
    assert assessed == [(len(history.debtors),)]
