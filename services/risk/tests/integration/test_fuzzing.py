"""Schemathesis against a live risk process, every check on, 0 failures (tests/fuzzing.py).

The tenant's log holds a few debtors first (an overdue claim, payments slowing down, a claim
above its credit limit), and the fuzzer puts them in half its positive cases' paths
(tests/schemathesis_hooks.py, ``seeded_debtor``): reads answer whole assessments, with reasons,
features and alerts, and commands act on accounts with claims, not only on unknown debtors.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest

from amiable_events.producer import EventLog
from amiable_risk.main import SERVICE
from tests.fuzzing import fuzz
from tests.risk_givens import TODAY, History, paid_late
from tests.support import (
    ServiceProcess,
    auth,
    create_topic,
    delete_topics,
    drop_schemas,
    ensure_dlq,
    eventually,
    free_port,
    service_env,
    token,
    unique_name,
)

pytestmark = pytest.mark.integration


def seeded_histories(tenant: str) -> list[History]:
    overdue = History(tenant, "FUZZ-OVERDUE")
    overdue.claim(TODAY - timedelta(days=75), registered_on=TODAY - timedelta(days=1))
    slowing = History(tenant, "FUZZ-SLOWING", country="DE", timezone="Europe/Berlin")
    paid_late(slowing, [5, 9, 14, 20, 30], first_issued=TODAY - timedelta(days=400))
    slowing.claim(TODAY - timedelta(days=20))
    promised = History(tenant, "FUZZ-PROMISES")
    claim_id = promised.claim(TODAY - timedelta(days=50), amount="2500.00")
    promised.promise_broken(claim_id, TODAY - timedelta(days=5))
    return [overdue, slowing, promised]


@pytest.fixture(scope="module")
async def risk_service(infra, tmp_path_factory):
    """A risk process on a topic, a schema and a consumer group of the module's own, its clock
    frozen at noon on ``TODAY``, and a tenant whose debtors it has assessed."""
    topic = await create_topic(infra.bootstrap, unique_name("risk-fuzz"))
    schema = topic.replace("-", "_")
    await ensure_dlq(infra.bootstrap, "risk")
    tenant = f"fuzz-{uuid.uuid4().hex[:8]}"
    histories = seeded_histories(tenant)
    log = EventLog(infra.bootstrap, topic=topic, client_id="risk-fuzz")
    await log.start()
    try:
        for history in histories:
            await log.append(history.envelopes)
    finally:
        await log.stop()
    env = service_env(
        infra,
        clock=TODAY,
        topic=topic,
        projection_schema=schema,
        consumer_group=f"risk-{schema}",
    )
    log_path = tmp_path_factory.mktemp("risk") / "risk.log"
    process = ServiceProcess("risk", free_port(), env, log_path).start()
    try:
        process.wait_ready()
        process.tenant = tenant
        process.debtors = [history.debtor_id for history in histories]
        yield process
    finally:
        process.stop()
        await drop_schemas(infra.database_url, "amiable_risk", [schema])
        await delete_topics(infra.bootstrap, [topic])


async def test_schemathesis_finds_no_failure_with_every_check_on(risk_service, tmp_path):
    headers = auth(risk_service.tenant, "risk:read")
    async with httpx.AsyncClient(base_url=risk_service.url, timeout=15) as api:

        async def assessed_and_alerted():
            for debtor in risk_service.debtors:
                answer = await api.get(f"/v1/debtors/{debtor}/risk", headers=headers)
                if answer.status_code != 200:
                    return None
            return (await api.get("/v1/risk/alerts", headers=headers)).json()["items"]

        # the seeded debtors give the fuzzer assessments and alerts to read, not only 404s
        alerts = await eventually(assessed_and_alerted, timeout=60)
    assert "slowing_payments" in {alert["signal"] for alert in alerts}

    code, report = fuzz(
        risk_service.url,
        token(risk_service.tenant, *SERVICE.all_scopes),
        tmp_path,
        env={"AMIABLE_FUZZ_DEBTORS": ",".join(risk_service.debtors)},
    )
    assert code == 0, report
