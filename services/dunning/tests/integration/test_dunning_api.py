"""A claim's dunning, the collectors' day plan and the approval queue on the real stack: a
dunning process on a topic of the module's own, its clock frozen at noon UTC on ``TODAY``, fed
the claims events the claims service would write. Claims registered long ago catch up at once:
their past steps fire as soon as the service reads them."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest

from tests.risk_givens import TODAY, History
from tests.support import auth, eventually

pytestmark = pytest.mark.integration

READ, WRITE = "dunning:read", "dunning:write"


async def given_claim(dunning, tenant: str, debtor: str, days_overdue: int, amount: str):
    """A claim registered and qualified on its issue day, due ``days_overdue`` days ago."""
    history = History(tenant, debtor)
    claim_id = history.claim(TODAY - timedelta(days=30 + days_overdue), amount=amount)
    await dunning.log.append(history.envelopes)
    return claim_id


async def plan_of(api, claim_id, ready=lambda plan: True) -> dict:
    async def check():
        answer = await api.get(f"/v1/claims/{claim_id}/dunning")
        return answer.json() if answer.status_code == 200 and ready(answer.json()) else None

    return await eventually(check, timeout=30)


async def test_the_day_plan_puts_the_oldest_debts_first_then_the_largest(dunning, api):
    older = await given_claim(dunning, api.tenant, "D-old", 40, "3000.00")
    small = await given_claim(dunning, api.tenant, "D-small", 5, "500.00")
    large = await given_claim(dunning, api.tenant, "D-large", 3, "9000.00")
    for claim_id in (older, small, large):
        await plan_of(api, claim_id, lambda p: p["status"] == "active" and p["next_step"])

    async def listed():
        answer = await api.get("/v1/dunning/upcoming", params={"days": 30})
        items = answer.json()["items"]
        return (
            items
            if {i["claim_id"] for i in items} == {str(older), str(small), str(large)}
            else None
        )

    items = await eventually(listed, timeout=30)
    order = [(i["claim_id"], i["bucket"]) for i in items]
    assert order[0] == (str(older), "31-60")
    rest = [claim for claim, bucket in order if bucket == "1-30"]
    assert rest == sorted(rest, key=lambda c: c != str(large))  # the larger debt first
    assert all(date.fromisoformat(i["at"][:10]) >= TODAY for i in items)
    assert next(i for i in items if i["claim_id"] == str(older))["step"] == "formal_notice"


async def test_a_claim_far_overdue_waits_for_approval_then_escalates_once(dunning, api):
    claim_id = await given_claim(dunning, api.tenant, "D-late", 90, "4000.00")
    waiting = await plan_of(api, claim_id, lambda p: any(s["status"] == "due" for s in p["steps"]))
    done = [s["key"] for s in waiting["steps"] if s["status"] == "done"]
    assert done[0] == "call_overdue" and "formal_notice" in done
    queue = (await api.get("/v1/dunning/approvals")).json()["items"]
    assert [(i["claim_id"], i["step"]) for i in queue] == [(str(claim_id), "litigation_handoff")]

    refused = await api.post(
        f"/v1/claims/{claim_id}/dunning/approve", json={"step": "formal_notice"}
    )
    assert refused.status_code == 409
    assert refused.json()["awaiting_approval"] == ["litigation_handoff"]

    approved = await api.post(
        f"/v1/claims/{claim_id}/dunning/approve",
        json={"step": "litigation_handoff"},
        headers={"Idempotency-Key": "approve-late"},
    )
    assert approved.status_code == 200, approved.text
    body = approved.json()
    assert body["status"] == "escalated" and body["stop_reason"] == "escalated"
    handoff = next(s for s in body["steps"] if s["key"] == "litigation_handoff")
    assert handoff["status"] == "done" and handoff["channel"] == "lawyer"
    assert handoff["reason"].startswith("approved by")
    again = await api.post(
        f"/v1/claims/{claim_id}/dunning/approve",
        json={"step": "litigation_handoff"},
        headers={"Idempotency-Key": "approve-late"},
    )
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert (await api.get("/v1/dunning/approvals")).json()["items"] == []


async def test_another_tenant_and_an_unknown_claim_are_not_found(dunning, api):
    claim_id = await given_claim(dunning, api.tenant, "D-own", 10, "800.00")
    await plan_of(api, claim_id)
    other = auth(f"other-{uuid.uuid4().hex[:6]}", READ, WRITE)
    assert (await api.get(f"/v1/claims/{claim_id}/dunning", headers=other)).status_code == 404
    assert (await api.get(f"/v1/claims/{uuid.uuid4()}/dunning")).status_code == 404
    approve = await api.post(
        f"/v1/claims/{claim_id}/dunning/approve", json={"step": "x"}, headers=other
    )
    assert approve.status_code == 404
    read_only = auth(api.tenant, READ)
    forbidden = await api.post(
        f"/v1/claims/{claim_id}/dunning/approve", json={"step": "x"}, headers=read_only
    )
    assert forbidden.status_code == 403
