"""Schemathesis against a live dunning process, every check on, 0 failures (tests/fuzzing.py).

The tenant's log holds claims the claims service registered and qualified: one not due yet
(its plan ahead), one overdue (steps done and to come), one settled (stopped), and one
registered 150 days ago whose whole track fell due, its litigation handoff waiting for a
person. The fuzzer puts them, the shipped policy, its version and the handoff step in half its
positive cases (tests/schemathesis_hooks.py, ``seeded_claim_policy_or_step``): reads reach real
plans, approvals the decider, activations and simulations a real version.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest

from amiable_dunning.domain.policy import Policy
from amiable_dunning.main import SERVICE
from tests.fuzzing import fuzz
from tests.risk_givens import TODAY, History
from tests.support import auth, eventually, token

pytestmark = pytest.mark.integration

SHIPPED = Policy.load()


def seeded(tenant: str) -> tuple[History, dict[str, uuid.UUID]]:
    history = History(tenant, "FUZZ-DUNNING")
    claims = {
        "not_due": history.claim(TODAY - timedelta(days=5)),
        "overdue": history.claim(TODAY - timedelta(days=45)),
        "settled": history.claim(TODAY - timedelta(days=70)),
        "waiting": history.claim(TODAY - timedelta(days=150)),
    }
    return history, claims


async def test_schemathesis_finds_no_failure_with_every_check_on(dunning, tmp_path):
    tenant = f"fuzz-{uuid.uuid4().hex[:8]}"
    history, claims = seeded(tenant)
    await dunning.log.append(history.envelopes)
    headers = auth(tenant, "dunning:read")
    async with httpx.AsyncClient(base_url=dunning.url, timeout=15) as api:

        async def status(name: str) -> str | None:
            answer = await api.get(f"/v1/claims/{claims[name]}/dunning", headers=headers)
            return answer.json()["status"] if answer.status_code == 200 else None

        async def waiting():
            answer = await api.get("/v1/dunning/approvals", headers=headers)
            return answer.json()["items"]

        # the whole track of the oldest claim fell due: its handoff waits for a person
        [item] = await eventually(waiting, timeout=60)
        assert (item["claim_id"], item["step"]) == (str(claims["waiting"]), "litigation_handoff")

        async def settled_is(expected: str) -> bool:
            return await status("settled") == expected

        # settled once its plan is read: dunning stops a plan, not a claim it has not planned
        await eventually(lambda: settled_is("active"))
        since = len(history.envelopes)
        history.settle(claims["settled"], TODAY - timedelta(days=10))
        await dunning.log.append(history.envelopes[since:])
        await eventually(lambda: settled_is("stopped"))
        statuses = {name: await status(name) for name in claims}
    assert statuses == {
        "not_due": "active",
        "overdue": "active",
        "settled": "stopped",
        "waiting": "active",
    }

    code, report = fuzz(
        dunning.url,
        token(tenant, *SERVICE.all_scopes),
        tmp_path,
        env={
            "AMIABLE_FUZZ_CLAIMS": ",".join(map(str, claims.values())),
            "AMIABLE_FUZZ_POLICIES": SHIPPED.id,
            "AMIABLE_FUZZ_VERSIONS": SHIPPED.version,
            "AMIABLE_FUZZ_STEPS": "litigation_handoff",
        },
    )
    assert code == 0, report
    # generated requests reached the decider: the seeded handoff was approved
    async with httpx.AsyncClient(base_url=dunning.url, timeout=15) as api:
        answer = await api.get(f"/v1/claims/{claims['waiting']}/dunning", headers=headers)
        waited = (await api.get("/v1/dunning/approvals", headers=headers)).json()["items"]
    assert (answer.json()["status"], waited) == ("escalated", [])
