"""Opening disputes and moving them through their lifecycle on the real stack (conftest.py: a
disputes process on a topic of the module's own, its clock frozen at noon UTC on ``TODAY``, a
Tuesday with no French holiday that week)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from amiable_disputes.settings import DisputesSettings
from amiable_events.claims import LimitationApproaching
from amiable_events.ledger import Figures, fold
from tests.risk_givens import TODAY, at
from tests.support import auth, eventually

pytestmark = pytest.mark.integration

PARIS = ZoneInfo("Europe/Paris")
NOON = datetime.combine(TODAY, time(12), UTC)


def end_of(day) -> str:
    """Midnight at the end of ``day`` in Paris, as the API writes it."""
    moment = datetime.combine(day + timedelta(days=1), time(), PARIS).astimezone(UTC)
    return moment.isoformat().replace("+00:00", "Z")


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def due_today(history, claim_id) -> str:
    """What the claim owes today, from the shared ledger with the settings in force."""
    ledger = None
    for envelope in history.envelopes:
        if getattr(envelope.data, "claim_id", None) == claim_id:
            ledger = fold(ledger, envelope.data, envelope.tenant)
    return format(
        ledger.amount_due(TODAY, Figures.from_settings(DisputesSettings(env="dev"))).total, "f"
    )


async def test_a_dispute_opens_on_the_amount_due_with_its_deadlines(desk):
    history = desk.history()
    not_due = history.claim(TODAY - timedelta(days=5))  # due in 25 days: owes its principal
    overdue = history.claim(TODAY - timedelta(days=75))  # 45 days late: interest and the fee
    partial = history.claim(TODAY - timedelta(days=75))
    await desk.append(history)

    answer = await desk.open(
        {
            "claim_id": str(not_due),
            "reason": "delivery",
            "raised_by": "debtor_contact",
            "evidence": [
                {"name": "delivery note", "sha256": "a" * 64, "url": "https://docs.example/1"}
            ],
        }
    )
    assert answer.status_code == 201, answer.text
    dispute = answer.json()
    assert answer.headers["Location"] == f"/v1/disputes/{dispute['dispute_id']}"
    assert (dispute["disputed_amount"], dispute["currency"]) == ("1000.00", "EUR")
    assert dispute["whole_claim"] is True
    assert (dispute["status"], dispute["reason"]) == ("open", "delivery")
    assert (dispute["debtor_id"], dispute["invoice_number"]) == ("D-1", "INV-0")
    assert dispute["allowed"] == ["assign", "withdraw", "reclassify", "comments"]
    assert dispute["evidence"][0]["name"] == "delivery note"
    # two business days of France to acknowledge (Wednesday, Thursday), 30 days to resolve,
    # each to the end of the debtor's day
    assert dispute["acknowledge_by"] == end_of(TODAY + timedelta(days=2))
    assert dispute["resolve_by"] == end_of(TODAY + timedelta(days=30))
    fetched = await desk.get(answer.headers["Location"])
    assert fetched.json()["dispute_id"] == dispute["dispute_id"]

    whole = await desk.opened(overdue)
    owed = due_today(history, overdue)
    assert float(owed) > 1000 and whole["disputed_amount"] == owed
    some = await desk.opened(partial, disputed_amount="200.00")
    assert (some["disputed_amount"], some["whole_claim"]) == ("200.00", False)


async def test_opening_refuses_too_much_a_second_dispute_and_others_claims(desk, unique):
    history = desk.history()
    claim_id = history.claim(TODAY - timedelta(days=5))
    await desk.append(history)
    body = {"claim_id": str(claim_id), "reason": "billing_error", "raised_by": "agent"}

    too_much = await desk.open({**body, "disputed_amount": "1000.01"})
    assert too_much.status_code == 422, too_much.text
    assert too_much.json()["errors"] == [
        {"field": "disputed_amount", "reason": "exceeds the amount due, 1000.00 EUR"}
    ]
    first = await desk.opened(claim_id, disputed_amount="1000.00")
    second = await desk.post("/v1/disputes", {**body, "disputed_amount": "10.00"})
    assert second.status_code == 409, second.text
    assert second.json()["dispute_id"] == first["dispute_id"]
    assert first["dispute_id"] in second.json()["detail"]

    # another tenant's claim is no claim at all, like one nobody registered
    stranger = await desk.api.post(
        "/v1/disputes", json=body, headers=auth(f"other-{unique}", "disputes:write")
    )
    assert stranger.status_code == 404, stranger.text
    unknown = await desk.post("/v1/disputes", {**body, "claim_id": str(uuid.uuid4())})
    assert unknown.status_code == 404
    assert unknown.json()["title"] == "Claim not found"


async def test_a_retry_with_the_same_idempotency_key_answers_the_same_dispute(desk):
    history = desk.history()
    claim_id = history.claim(TODAY - timedelta(days=5))
    await desk.append(history)
    body = {"claim_id": str(claim_id), "reason": "administrative", "raised_by": "agent"}
    key = {"Idempotency-Key": f"open-{claim_id}"}

    first = await desk.open(body, headers=key)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = await desk.post("/v1/disputes", body, headers=key)
    assert again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["dispute_id"] == first.json()["dispute_id"]
    listed = await desk.get("/v1/disputes", claim_id=str(claim_id))
    assert [item["dispute_id"] for item in listed.json()["items"]] == [first.json()["dispute_id"]]


async def test_a_cash_flow_difficulty_declares_a_hardship_not_a_dispute(desk):
    history = desk.history()
    claim_id = history.claim(TODAY - timedelta(days=40))
    await desk.append(history)
    body = {"claim_id": str(claim_id), "reason": "cash_flow_difficulty", "raised_by": "agent"}

    with_amount = await desk.open({**body, "disputed_amount": "100.00"})
    assert with_amount.status_code == 422
    assert with_amount.json()["errors"][0]["field"] == "disputed_amount"
    answer = await desk.open({**body, "description": "the main customer went bust"})
    assert answer.status_code == 201, answer.text
    hardship = answer.json()
    assert hardship["status"] == "hardship"
    assert hardship["disputed_amount"] is None and moment(hardship["closed_at"]) == NOON
    assert hardship["allowed"] == ["comments"]
    assert hardship["description"] == "the main customer went bust"
    [event] = (await desk.dispute(hardship["dispute_id"]))["history"]
    assert event["type"] == "amiable.disputes.hardship-declared.v1"
    # a hardship contests nothing: the claim can still be disputed
    disputed = await desk.opened(claim_id, reason="quality_or_service")
    assert disputed["status"] == "open"


async def test_the_lifecycle_through_the_api(desk):
    history = desk.history()
    claims = [history.claim(TODAY - timedelta(days=5)) for _ in range(6)]
    await desk.append(history)
    upheld, partial, rejected, reissued, withdrawn, reclassified = [
        (await desk.opened(claim_id))["dispute_id"] for claim_id in claims
    ]

    illegal = await desk.post(f"/v1/disputes/{upheld}/mediation", {"mediator": "m-1"})
    assert illegal.status_code == 409, illegal.text
    assert illegal.json()["allowed"] == ["assign", "withdraw", "reclassify", "comments"]
    assigned = await desk.act(upheld, "assign", {"assignee": "agent-1"})
    assert (assigned["status"], assigned["assignee"]) == ("under_review", "agent-1")
    same = await desk.post(f"/v1/disputes/{upheld}/mediation", {"mediator": "agent-1"})
    assert same.status_code == 422
    assert same.json()["errors"] == [
        {"field": "mediator", "reason": "must not be the dispute's assignee"}
    ]
    mediated = await desk.act(upheld, "mediation", {"mediator": "mediator-1"})
    assert (mediated["status"], mediated["mediator"], mediated["mediated"]) == (
        "mediation",
        "mediator-1",
        True,
    )
    done = await desk.act(
        upheld, "resolve", {"outcome": "upheld", "resolution_note": "the goods were faulty"}
    )
    assert (done["status"], done["outcome"]) == ("resolved", "upheld")
    assert moment(done["closed_at"]) == NOON and done["allowed"] == ["comments"]
    again = await desk.post(
        f"/v1/disputes/{upheld}/resolve", {"outcome": "rejected", "resolution_note": "no"}
    )
    assert again.status_code == 409
    assert (again.json()["allowed"], again.json()["dispute_status"]) == (["comments"], "resolved")
    commented = await desk.act(upheld, "comments", {"comment": "credit note sent"})
    assert commented["comments"] == 1

    for dispute_id in (partial, rejected, reissued):
        await desk.act(dispute_id, "assign", {"assignee": "agent-2"})
    too_much = await desk.post(
        f"/v1/disputes/{partial}/resolve",
        {"outcome": "partially_upheld", "accepted_amount": "1000.00", "resolution_note": "x"},
    )
    assert too_much.status_code == 422
    assert too_much.json()["errors"][0]["field"] == "accepted_amount"
    body = {"outcome": "partially_upheld", "accepted_amount": "250.00", "resolution_note": "half"}
    answer = await desk.act(partial, "resolve", body)
    assert (answer["outcome"], answer["accepted_amount"]) == ("partially_upheld", "250.00")
    answer = await desk.act(rejected, "resolve", {"outcome": "rejected", "resolution_note": "no"})
    assert answer["outcome"] == "rejected"
    missing = await desk.post(
        f"/v1/disputes/{reissued}/resolve", {"outcome": "reissued", "resolution_note": "x"}
    )
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "new_invoice_number"
    body = {"outcome": "reissued", "new_invoice_number": "INV-R1", "resolution_note": "typo"}
    answer = await desk.act(reissued, "resolve", body)
    assert (answer["outcome"], answer["new_invoice_number"]) == ("reissued", "INV-R1")

    answer = await desk.act(withdrawn, "withdraw", {"note": "paid after all"})
    assert (answer["status"], answer["allowed"]) == ("withdrawn", ["comments"])

    answer = await desk.act(reclassified, "reclassify", {"reason": "billing_error"})
    assert (answer["status"], answer["reason"]) == ("open", "billing_error")
    answer = await desk.act(reclassified, "reclassify", {"reason": "cash_flow_difficulty"})
    assert (answer["status"], answer["reason"]) == ("hardship", "cash_flow_difficulty")
    types = [event["type"] for event in (await desk.dispute(reclassified))["history"]]
    assert types[-3:] == [
        "amiable.disputes.dispute-reclassified.v1",
        "amiable.disputes.dispute-reclassified.v1",
        "amiable.disputes.hardship-declared.v1",
    ]


async def test_limitation_approaching_flags_the_disputed_claim(desk):
    history = desk.history()
    claim_id = history.claim(TODAY - timedelta(days=40))
    other = history.claim(TODAY - timedelta(days=40))
    await desk.append(history)
    dispute = await desk.opened(claim_id)
    untouched = await desk.opened(other)
    assert dispute["limitation_at_risk"] is False

    since = len(history.envelopes)
    prescription = TODAY + timedelta(days=60)
    history.add(
        LimitationApproaching(claim_id=claim_id, prescription_date=prescription, days_left=60),
        at(TODAY),
    )
    await desk.append(history, since)
    flagged = await desk.dispute(dispute["dispute_id"], lambda body: body["limitation_at_risk"])
    assert flagged["status"] == "open"  # the warning changes nothing else
    listed = await desk.get("/v1/disputes", debtor_id="D-1")
    at_risk = {item["dispute_id"]: item["limitation_at_risk"] for item in listed.json()["items"]}
    assert at_risk == {dispute["dispute_id"]: True, untouched["dispute_id"]: False}


async def test_scopes_and_tenants(desk, unique):
    history = desk.history()
    claim_id = history.claim(TODAY - timedelta(days=5))
    await desk.append(history)
    dispute = await desk.opened(claim_id)
    path = f"/v1/disputes/{dispute['dispute_id']}"
    body = {"claim_id": str(claim_id), "reason": "other", "raised_by": "agent"}

    reader = await desk.post("/v1/disputes", body, scopes=("disputes:read",))
    assert reader.status_code == 403
    assign = await desk.post(f"{path}/assign", {"assignee": "a"}, scopes=("disputes:read",))
    assert assign.status_code == 403
    anonymous = await desk.api.post("/v1/disputes", json=body)
    assert anonymous.status_code == 401
    assert (await desk.api.get(path)).status_code == 401
    writer_only = await desk.get(path, scopes=("disputes:write",))
    assert writer_only.status_code == 403
    assert (await desk.get(path, scopes=("disputes:read",))).status_code == 200
    stranger = auth(f"other-{unique}", "disputes:read", "disputes:write")
    assert (await desk.api.get(path, headers=stranger)).status_code == 404
    moved = await desk.api.post(f"{path}/withdraw", json={}, headers=stranger)
    assert moved.status_code == 404
    page = await desk.api.get("/v1/disputes", headers=stranger)
    assert page.json()["items"] == []
    assert (await desk.get(path)).json()["status"] == "open"


async def test_an_unacknowledged_dispute_breaches_its_sla_on_the_frozen_clock(desk):
    """Opened on the log two weeks ago and never assigned: both deadlines have passed by the
    service's today, each breach is recorded once, and the resolution breach sends the dispute
    to mediation by itself."""
    history = desk.history()
    claim_id = history.claim(TODAY - timedelta(days=80))
    history.disputed(claim_id, TODAY - timedelta(days=40))
    await desk.append(history)

    async def escalated():
        page = await desk.get("/v1/disputes", claim_id=str(claim_id))
        items = page.json()["items"]
        return items if items and items[0]["status"] == "mediation" else None

    [summary] = await eventually(escalated)
    assert sorted(summary["breaches"]) == ["acknowledge", "resolve"]
    dispute = await desk.dispute(summary["dispute_id"])
    assert dispute["escalated_automatically"] is True and dispute["mediator"] is None
    types = [event["type"] for event in dispute["history"]]
    assert types.count("amiable.disputes.dispute-sla-breached.v1") == 2
    assert types[-1] == "amiable.disputes.dispute-escalated-to-mediation.v1"
