"""The policy API and the what-if simulation on the real stack: a dunning process on a topic of
the module's own, its clock frozen at noon UTC on ``TODAY``, fed the claims events the claims
service would write (tests.risk_givens.History)."""

from __future__ import annotations

import copy
from datetime import timedelta
from importlib.resources import files

import pytest
import yaml

from amiable_demo.ndjson import to_line
from tests.risk_givens import TODAY, History
from tests.support import auth, eventually

pytestmark = pytest.mark.integration

READ, WRITE = "dunning:read", "dunning:write"
SHIPPED_TEXT = files("amiable_dunning").joinpath("data/policies/default.yaml").read_text()
SHIPPED = yaml.safe_load(SHIPPED_TEXT)


def quick(version: str) -> dict:
    """The shipped policy with a standard track twice as quick."""
    data = copy.deepcopy(SHIPPED)
    data["version"] = version
    for step in data["tracks"]["standard_b2b"]["steps"]:
        step["offset_business_days"] //= 2
    return data


async def test_a_formal_notice_without_a_reminder_before_it_is_refused_naming_the_field(api):
    data = copy.deepcopy(SHIPPED)
    data["version"] = "bad-1"
    steps = data["tracks"]["chronic_late_payer"]["steps"]
    data["tracks"]["chronic_late_payer"]["steps"] = [
        s for s in steps if s["action"] in ("formal_notice", "litigation_handoff")
    ]
    answer = await api.post("/v1/policies", json=data)
    assert answer.status_code == 422, answer.text
    (error,) = answer.json()["errors"]
    assert error["field"] == "tracks.chronic_late_payer"
    assert "formal_notice needs a reminder" in error["reason"]
    listed = await api.get("/v1/policies")
    assert [item["version"] for item in listed.json()["items"]] == [SHIPPED["version"]]


async def test_every_faulty_field_is_named_and_a_body_neither_json_nor_yaml_is_refused(api):
    data = copy.deepcopy(SHIPPED)
    data["version"] = ""
    data["max_reminders_per_stage"] = 0
    answer = await api.post("/v1/policies", json=data)
    assert answer.status_code == 422, answer.text
    fields = {error["field"] for error in answer.json()["errors"]}
    assert fields == {"version", "max_reminders_per_stage"}
    text = await api.post("/v1/policies", content=b"x", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415, text.text


async def test_publish_list_activate_and_a_claim_qualified_afterwards_follows_the_new_version(
    api, dunning
):
    before = (await api.get("/v1/policies")).json()
    assert before["active"] == before["items"][0]
    assert before["active"]["shipped_default"] is True

    published = await api.post(
        "/v1/policies",
        content=yaml.safe_dump(quick("quick-1")),
        headers={"Content-Type": "application/yaml", "Idempotency-Key": "publish-quick-1"},
    )
    assert published.status_code == 201, published.text
    assert published.json() == {"policy_id": "default", "version": "quick-1"}
    again = await api.post("/v1/policies", json=quick("quick-1"))
    assert again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = quick("quick-1")
    other["consolidation_window_business_days"] = 3
    conflict = await api.post("/v1/policies", json=other)
    assert conflict.status_code == 409, conflict.text

    unknown = await api.post("/v1/policies/default/activate", json={"version": "nope"})
    assert unknown.status_code == 404, unknown.text
    activated = await api.post("/v1/policies/default/activate", json={"version": "quick-1"})
    assert activated.status_code == 200, activated.text
    assert activated.json()["active"] is True
    assert activated.json()["activated_at"].startswith(TODAY.isoformat())
    repeated = await api.post("/v1/policies/default/activate", json={"version": "quick-1"})
    assert repeated.headers.get("Idempotent-Replayed") == "true"

    listed = (await api.get("/v1/policies")).json()
    assert [(i["version"], i["active"], i["shipped_default"]) for i in listed["items"]] == [
        (SHIPPED["version"], False, True),
        ("quick-1", True, False),
    ]
    assert listed["active"]["version"] == "quick-1"

    # Qualified the day after the activation: planned with the new version
    history = History(api.tenant, "D-quick")
    claim_id = history.claim(TODAY - timedelta(days=20), registered_on=TODAY + timedelta(days=1))
    await dunning.log.append(history.envelopes)

    async def planned():
        answer = await api.get(f"/v1/claims/{claim_id}/dunning")
        return answer.json() if answer.status_code == 200 and answer.json()["steps"] else None

    plan = await eventually(planned)
    assert plan["policy_version"] == "quick-1"
    assert {step["policy_version"] for step in plan["steps"]} == {"quick-1"}


async def test_simulate_an_uploaded_history_and_the_claims_of_the_projection(api, dunning):
    published = await api.post("/v1/policies", json=quick("quick-2"))
    assert published.status_code == 201, published.text
    history = History(api.tenant, "D-sim")
    start = TODAY - timedelta(days=200)
    for n in range(3):
        claim_id = history.claim(start + timedelta(days=7 * n))
        history.settle(claim_id, start + timedelta(days=7 * n + 60))
    # Another tenant's events in the upload are not replayed
    stranger = History("someone-else", "D-x")
    stranger.claim(start)
    upload = b"\n".join(to_line(e) for e in (*history.envelopes, *stranger.envelopes)).decode()

    answer = await api.post(
        "/v1/policies/default/simulate",
        json={"version": "quick-2", "history": upload, "claims_listed": 2},
    )
    assert answer.status_code == 200, answer.text
    result = answer.json()
    candidate, active = result["candidate"], result["active"]
    assert (candidate["version"], active["version"]) == ("quick-2", SHIPPED["version"])
    assert result["claims_total"] == candidate["totals"]["claims"] == 3
    assert candidate["totals"]["sent"] > active["totals"]["sent"]
    assert (
        candidate["totals"]["mean_days_to_first_contact"]
        < active["totals"]["mean_days_to_first_contact"]
    )
    assert set(candidate["by_track"]) == {"standard_b2b"}
    assert len(result["claims"]) == 2
    first = result["claims"][0]
    assert first["candidate"]["contacts"] > first["active"]["contacts"]
    assert first["candidate"]["steps"][0]["outcome"] == "sent"

    # The same claims from the service's own states: nothing appended by the simulation
    await dunning.log.append(history.envelopes)

    async def read():
        answer = await api.get(f"/v1/claims/{claim_id}/dunning")
        return answer.json() if answer.status_code == 200 else None

    async def settled():
        # the history arrives in one batch: the plan comes back from the log after the
        # settlement, and the service stops the claim then
        plan = await read()
        return plan if plan and plan["status"] == "stopped" else None

    before = await eventually(settled)
    assert before["stop_reason"] == "claim_settled"
    by_debtor = await api.post(
        "/v1/policies/default/simulate",
        json={"document": quick("inline-1"), "claims": {"debtor_id": "D-sim"}},
    )
    assert by_debtor.status_code == 200, by_debtor.text
    rebuilt = by_debtor.json()
    assert rebuilt["candidate"]["version"] == "inline-1"
    assert rebuilt["claims_total"] == 3
    assert rebuilt["candidate"]["totals"]["sent"] == candidate["totals"]["sent"]
    assert (await read()) == before

    for claims in ({"all": False}, {"claim_ids": []}):
        nothing = await api.post(
            "/v1/policies/default/simulate", json={"version": "quick-2", "claims": claims}
        )
        assert nothing.status_code == 422, nothing.text
    garbled = await api.post(
        "/v1/policies/default/simulate", json={"version": "quick-2", "history": upload[:-9]}
    )
    assert garbled.status_code == 422, garbled.text
    assert garbled.json()["errors"][0]["field"] == "history"
    unknown = await api.post(
        "/v1/policies/default/simulate", json={"version": "nope", "claims": {"all": True}}
    )
    assert unknown.status_code == 404
    reader = await api.post(
        "/v1/policies/default/simulate",
        json={"version": "quick-2", "claims": {"all": True}},
        headers=auth(api.tenant, READ),
    )
    assert reader.status_code == 200, reader.text
    assert reader.json()["claims_total"] == 3
