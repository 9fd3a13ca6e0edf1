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

from amiable_risk.main import SERVICE
from tests.fuzzing import fuzz
from tests.risk_givens import TODAY, History, paid_late
from tests.support import (
    auth,
    eventually,
    service_on_own_topic,
    token,
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
    frozen at noon on ``TODAY``, and a tenant whose debtors it is given."""
    tenant = f"fuzz-{uuid.uuid4().hex[:8]}"
    histories = seeded_histories(tenant)
    async with service_on_own_topic(
        infra, "risk", tmp_path_factory.mktemp("risk"), clock=TODAY
    ) as process:
        for history in histories:
            await process.log.append(history.envelopes)
        process.tenant = tenant
        process.debtors = [history.debtor_id for history in histories]
        yield process


async def test_schemathesis_finds_no_failure_with_every_check_on(risk_service, tmp_path):
    headers = auth(risk_service.tenant, "risk:read")
    async with httpx.AsyncClient(base_url=risk_service.url, timeout=15) as api:

        async def assessed_and_alerted():
            for debtor in risk_service.debtors:
                answer = await api.get(f"/v1/debtors/{debtor}/risk", headers=headers)
                if answer.status_code != 200:
                    return None
            alerts = (await api.get("/v1/risk/alerts", headers=headers)).json()["items"]
            # alerts are folded when risk reads its own events back: wait for the one expected
            return "slowing_payments" in {alert["signal"] for alert in alerts}

        # the seeded debtors give the fuzzer assessments and alerts to read, not only 404s
        assert await eventually(assessed_and_alerted, timeout=60)

    code, report = fuzz(
        risk_service.url,
        token(risk_service.tenant, *SERVICE.all_scopes),
        tmp_path,
        env={"AMIABLE_FUZZ_DEBTORS": ",".join(risk_service.debtors)},
    )
    assert code == 0, report
