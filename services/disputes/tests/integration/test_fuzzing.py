"""Schemathesis against a live disputes process, every check on, 0 failures (tests/fuzzing.py).

The tenant's log holds claims first (one not due yet, overdue ones) and disputes on some of them
(one open, one under review), and the fuzzer puts them in half its positive cases
(tests/schemathesis_hooks.py, ``seeded_claim_or_dispute``): openings reach the amount-due check
and the one-active-dispute rule, and commands reach the state machine, not only 404s.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest

from amiable_disputes.main import SERVICE
from amiable_events.disputes import DisputeAssigned
from tests.fuzzing import fuzz
from tests.risk_givens import TODAY, History, at
from tests.support import auth, eventually, token

pytestmark = pytest.mark.integration


def seeded(tenant: str) -> tuple[History, list[uuid.UUID], list[uuid.UUID]]:
    """A debtor's claims, and disputes on two of them: one open, one under review."""
    history = History(tenant, "FUZZ-DISPUTES")
    not_due = history.claim(TODAY - timedelta(days=5))
    overdue = [history.claim(TODAY - timedelta(days=60 + n)) for n in range(3)]
    opened = history.disputed(overdue[0], TODAY - timedelta(days=1))
    reviewed = history.disputed(overdue[1], TODAY - timedelta(days=1))
    history.add(
        DisputeAssigned(
            claim_id=overdue[1],
            dispute_id=reviewed,
            assignee="agent-1",
            assigned_at=at(TODAY),
        ),
        at(TODAY),
    )
    return history, [not_due, *overdue], [opened, reviewed]


async def test_schemathesis_finds_no_failure_with_every_check_on(disputes, tmp_path):
    tenant = f"fuzz-{uuid.uuid4().hex[:8]}"
    history, claims, seeded_disputes = seeded(tenant)
    await disputes.log.append(history.envelopes)
    headers = auth(tenant, "disputes:read")
    async with httpx.AsyncClient(base_url=disputes.url, timeout=15) as api:

        async def read():
            page = await api.get("/v1/disputes", headers=headers)
            return page.json()["items"] if len(page.json()["items"]) == 2 else None

        # the seeded disputes give the fuzzer something to read and to move
        statuses = {item["status"] for item in await eventually(read)}
    assert statuses == {"open", "under_review"}

    code, report = fuzz(
        disputes.url,
        token(tenant, *SERVICE.all_scopes),
        tmp_path,
        env={
            "AMIABLE_FUZZ_CLAIMS": ",".join(map(str, claims)),
            "AMIABLE_FUZZ_DISPUTES": ",".join(map(str, seeded_disputes)),
        },
    )
    assert code == 0, report
    # generated requests reached the deciders: disputes opened on the seeded claims, and the
    # seeded disputes (three events between them) moved
    async with httpx.AsyncClient(base_url=disputes.url, timeout=15) as api:
        page = await api.get("/v1/disputes", params={"limit": 200}, headers=headers)
        opened = {item["claim_id"] for item in page.json()["items"]} - {str(c) for c in claims}
        seeded_events = 0
        for dispute_id in seeded_disputes:
            answer = await api.get(f"/v1/disputes/{dispute_id}", headers=headers)
            seeded_events += len(answer.json()["history"])
    assert len(page.json()["items"]) > len(seeded_disputes)
    assert opened == set(), "every dispute of the tenant is on a seeded claim"
    assert seeded_events > 3
