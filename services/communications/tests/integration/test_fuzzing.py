"""Schemathesis against a live communications process, every check on, 0 failures
(tests/fuzzing.py).

The tenant's log holds one debtor account played through dunning up to the service's today
(tests.dunning_givens.play): a claim 45 days overdue whose steps fell due (messages queued,
released by the governor, sent or turned into call tasks), one not due yet and one settled.
The fuzzer puts the claims, the debtor and the messages in half its positive cases
(tests/schemathesis_hooks.py, ``seeded_debtor``, ``seeded_claim_or_dispute`` and
``seeded_communication``): reads reach real messages, decisions, outcomes and tracking the
deciders.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from amiable_communications.main import SERVICE
from tests.communications_givens import reachable
from tests.dunning_givens import play
from tests.fuzzing import fuzz
from tests.risk_givens import TODAY, at
from tests.support import auth, eventually, service_on_own_topic, token, unique_name

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def communications(infra, tmp_path_factory):
    async with service_on_own_topic(
        infra, "communications", tmp_path_factory.mktemp("communications"), clock=TODAY
    ) as process:
        yield process


async def test_schemathesis_finds_no_failure_with_every_check_on(communications, tmp_path):
    tenant = unique_name("fuzz")
    history = reachable(tenant, debtor_id="FUZZ-COMMS")
    claims = {
        "overdue": history.claim(TODAY - timedelta(days=75)),
        "not_due": history.claim(TODAY - timedelta(days=5)),
        "settled": history.claim(TODAY - timedelta(days=70)),
    }
    history.settle(claims["settled"], TODAY - timedelta(days=10))
    dunning = play(history, at(TODAY, 11))
    log = sorted([*history.envelopes, *dunning.appended], key=lambda e: e.time)
    await communications.log.append(log)
    headers = auth(tenant, "communications:read")
    async with httpx.AsyncClient(base_url=communications.url, timeout=15) as api:

        async def messages():
            answer = await api.get(
                "/v1/communications", params={"claim_id": str(claims["overdue"])}, headers=headers
            )
            return answer.json()["items"] if answer.status_code == 200 else None

        seeded = await eventually(messages, timeout=60)
    communication_ids = [item["communication_id"] for item in seeded]

    code, report = fuzz(
        communications.url,
        token(tenant, *SERVICE.all_scopes),
        tmp_path,
        env={
            "AMIABLE_FUZZ_CLAIMS": ",".join(map(str, claims.values())),
            "AMIABLE_FUZZ_DEBTORS": history.debtor_id,
            "AMIABLE_FUZZ_COMMUNICATIONS": ",".join(communication_ids),
        },
    )
    assert code == 0, report
