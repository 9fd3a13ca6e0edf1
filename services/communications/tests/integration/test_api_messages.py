"""The messages, a letter's tracking, the call tasks and the review queue, through the API of
a live communications process: contents opened for the tenant and [erased] once the debtor is
erased, the 404s, 409s and 422s, and nothing shown to another tenant."""

from __future__ import annotations

import uuid

import orjson
import pytest

from amiable_events.envelope import account_key
from amiable_events.personal import ERASED
from tests.support import eventually, read_topic

pytestmark = pytest.mark.integration


async def test_messages_are_listed_newest_first_and_read_whole(desk, stranger):
    first, second = await desk.claim(), await desk.claim()
    older = await desk.message(first, subject="Rappel", body="Merci de régler 1 200,00 €")
    grouped = await desk.message(second, claims=(first,), channel="letter")
    held = await desk.message(second, sent=False, review=True)

    items = (await desk.api.get("/v1/communications")).json()["items"]
    assert [i["communication_id"] for i in items] == [str(held), str(grouped), str(older)]
    about_first = await desk.api.get("/v1/communications", params={"claim_id": str(first)})
    assert [i["communication_id"] for i in about_first.json()["items"]] == [
        str(grouped),
        str(older),
    ]
    letters = await desk.api.get("/v1/communications", params={"channel": "letter"})
    assert [i["communication_id"] for i in letters.json()["items"]] == [str(grouped)]
    in_review = await desk.api.get("/v1/communications", params={"status": "in_review"})
    assert [i["communication_id"] for i in in_review.json()["items"]] == [str(held)]
    page = (await desk.api.get("/v1/communications", params={"limit": 2})).json()
    rest = await desk.api.get("/v1/communications", params={"cursor": page["next_cursor"]})
    assert [i["communication_id"] for i in rest.json()["items"]] == [str(older)]
    assert rest.json()["next_cursor"] is None

    read = (await desk.api.get(f"/v1/communications/{older}")).json()
    assert read["content"] == {"subject": "Rappel", "body": "Merci de régler 1 200,00 €"}
    assert (read["status"], read["channel"], read["cost"]) == (
        "sent",
        "email",
        {"amount": "0.02", "currency": "EUR"},
    )
    assert read["claims"] == [str(first)] and read["step"] == "first_reminder"
    assert (await desk.api.get(f"/v1/communications/{held}")).json()["content"] is None

    assert (await desk.api.get(f"/v1/communications/{uuid.uuid4()}")).status_code == 404
    assert (await stranger.get(f"/v1/communications/{older}")).status_code == 404
    assert (await stranger.get("/v1/communications")).json()["items"] == []
    strangers = await stranger.get("/v1/communications", params={"claim_id": str(first)})
    assert strangers.json()["items"] == []


async def test_a_sent_letter_takes_its_tracking(desk, stranger):
    claim_id = await desk.claim()
    letter = await desk.message(claim_id, channel="registered_letter")
    email = await desk.message(claim_id)
    waiting = await desk.message(claim_id, channel="letter", sent=False, review=True)
    path = f"/v1/communications/{letter}/tracking"

    body = {"tracking_number": "1A00412345678", "carrier": "La Poste", "status": "in_transit"}
    answer = await desk.api.post(path, json=body, headers={"Idempotency-Key": "t-1"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["tracking"] == {**body}
    assert answer.json()["registered"] is True and answer.json()["status"] == "sent"
    retried = await desk.api.post(path, json=body, headers={"Idempotency-Key": "t-1"})
    assert retried.headers.get("Idempotent-Replayed") == "true"
    delivered = await desk.api.post(path, json={**body, "status": "delivered"})
    assert delivered.json()["status"] == "delivered"

    refused = await desk.api.post(f"/v1/communications/{email}/tracking", json=body)
    assert refused.status_code == 409
    assert (refused.json()["channel"], refused.json()["communication_status"]) == ("email", "sent")
    refused = await desk.api.post(f"/v1/communications/{waiting}/tracking", json=body)
    assert refused.status_code == 409 and refused.json()["communication_status"] == "in_review"
    assert (await desk.api.post(path, json={"carrier": "La Poste"})).status_code == 422
    unknown = f"/v1/communications/{uuid.uuid4()}/tracking"
    assert (await desk.api.post(unknown, json=body)).status_code == 404
    assert (await stranger.post(path, json=body)).status_code == 404


async def test_call_tasks_are_worked_once(desk, stranger):
    claim_id = await desk.claim(amount="1200.00")
    task = await desk.message(claim_id, channel="phone", subject="Call", body="Script: greet")
    later = await desk.message(claim_id, channel="phone", sent=False, review=True)
    email = await desk.message(claim_id)

    [listed] = (await desk.api.get("/v1/call-tasks")).json()["items"]
    assert (listed["task_id"], listed["debtor_name"]) == (str(task), "Debtor SAS")
    assert listed["script"] == {"subject": "Call", "body": "Script: greet"}
    assert listed["contacts"] == [{"name": "Claire Martin", "phone": "+33612345678", "role": None}]
    [amounts] = listed["claims"]
    assert (amounts["amount"], amounts["unpaid_principal"]) == ("1200.00", "1200.00")
    assert (await desk.api.get("/v1/call-tasks", params={"status": "done"})).json()["items"] == []

    path = f"/v1/call-tasks/{task}/outcome"
    missing = await desk.api.post(path, json={"outcome": "promise_to_pay"})
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "promise"
    promise = {"amount": "600.00", "date": "2026-12-01"}
    misplaced = await desk.api.post(path, json={"outcome": "no_answer", "promise": promise})
    assert misplaced.status_code == 422 and misplaced.json()["errors"][0]["field"] == "promise"
    dispute = await desk.api.post(path, json={"outcome": "dispute_raised"})
    assert dispute.status_code == 422 and dispute.json()["errors"][0]["field"] == "dispute"
    assert (await stranger.post(path, json={"outcome": "reached"})).status_code == 404

    body = {"outcome": "promise_to_pay", "promise": promise, "notes": "Pays half on Tuesday"}
    answer = await desk.api.post(path, json=body)
    assert answer.status_code == 200, answer.text
    worked = answer.json()
    assert (worked["outcome"], worked["outcome_detail"]) == ("promise_to_pay", promise)
    assert (worked["notes"], worked["agent"]) == ("Pays half on Tuesday", "dev")
    again = await desk.api.post(path, json={"outcome": "reached"})
    assert again.status_code == 409 and again.json()["outcome"] == "promise_to_pay"
    assert (await desk.api.get("/v1/call-tasks")).json()["items"] == []
    done = (await desk.api.get("/v1/call-tasks", params={"status": "done"})).json()["items"]
    assert [t["task_id"] for t in done] == [str(task)]

    not_open = await desk.api.post(f"/v1/call-tasks/{later}/outcome", json={"outcome": "reached"})
    assert not_open.status_code == 409 and not_open.json()["communication_status"] == "in_review"
    not_a_task = f"/v1/call-tasks/{email}/outcome"
    assert (await desk.api.post(not_a_task, json={"outcome": "reached"})).status_code == 404
    assert (await stranger.get("/v1/call-tasks", params={"status": "done"})).json()["items"] == []

    # on the log the notes are sealed with the debtor account's key
    records = [
        r
        for r in await read_topic(desk.infra.bootstrap, desk.process.topic)
        if r.key == account_key(desk.tenant, "D-1").encode()
    ]
    assert not any(b"Pays half" in r.value for r in records)
    [outcome] = [
        orjson.loads(r.value)
        for r in records
        if dict(r.headers)["ce_type"] == b"amiable.communications.call-outcome-recorded.v1"
    ]
    assert outcome["notes"].startswith("pii:v1:")


async def test_the_review_queue_approves_edits_and_rejects(desk, stranger):
    claim_id = await desk.claim()
    edited, rejected = [await desk.message(claim_id, sent=False, review=True) for _ in range(2)]
    sent = await desk.message(claim_id)
    queue = (await desk.api.get("/v1/review-queue")).json()["items"]
    assert [i["communication_id"] for i in queue] == [str(edited), str(rejected)]  # oldest first
    assert queue[0]["template"] == "email.reminder" and queue[0]["claims"] == [str(claim_id)]
    profile = {
        "creditor": {
            "legal_name": "Acme Fournitures SAS",
            "address": ["12 avenue des Ternes", "75017 Paris"],
            "registration_number": "812 345 678",
        },
        "iban": "FR7630006000011234567890189",
        "reply_email": "recouvrement@acme.example",
    }
    assert (await desk.api.put("/v1/creditor-profile", json=profile)).status_code == 200

    async def previewed():
        items = (await desk.api.get("/v1/review-queue")).json()["items"]
        return items if items[0]["preview"] else None

    shown = (await eventually(previewed))[0]
    assert shown["cannot_write"] is None
    assert "FR76 3000 6000 0112 3456 7890 189" in shown["preview"]["body"]  # what would go out
    assert (await stranger.get("/v1/review-queue")).json()["items"] == []

    path = f"/v1/review-queue/{edited}/decision"
    assert (await desk.api.post(path, json={"decision": "edit"})).status_code == 422
    reason = {"decision": "approve", "reason": "fine"}
    assert (await desk.api.post(path, json=reason)).status_code == 422
    assert (await stranger.post(path, json={"decision": "approve"})).status_code == 404

    edit = {"decision": "edit", "subject": "Votre facture", "body": "Bonjour, un rappel."}
    answer = await desk.api.post(path, json=edit)
    assert answer.status_code == 200, answer.text
    assert answer.json()["edited"] == {"subject": "Votre facture", "body": "Bonjour, un rappel."}
    assert (answer.json()["status"], answer.json()["review_decision"]) == ("queued", "edit")
    again = await desk.api.post(path, json={"decision": "approve"})
    assert again.status_code == 409 and again.json()["communication_status"] == "queued"

    reject = {"decision": "reject", "reason": "The customer called this morning"}
    answer = await desk.api.post(f"/v1/review-queue/{rejected}/decision", json=reject)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["reason"]) == ("suppressed", "review_rejected")
    assert (await desk.api.get("/v1/review-queue")).json()["items"] == []
    not_held = await desk.api.post(f"/v1/review-queue/{sent}/decision", json=reject)
    assert not_held.status_code == 409 and not_held.json()["communication_status"] == "sent"


async def test_sealed_texts_read_erased_once_the_debtor_is_erased(desk):
    claim_id = await desk.claim("D-GONE")
    sent = await desk.message(claim_id, debtor_id="D-GONE", subject="Rappel", body="Mme Martin")
    task = await desk.message(claim_id, debtor_id="D-GONE", channel="phone")
    held = await desk.message(claim_id, debtor_id="D-GONE", sent=False, review=True)
    worked = await desk.api.post(
        f"/v1/call-tasks/{task}/outcome", json={"outcome": "reached", "notes": "Spoke to Claire"}
    )
    assert worked.status_code == 200, worked.text
    edit = {"decision": "edit", "subject": "Madame Martin", "body": "Bonjour Claire"}
    assert (await desk.api.post(f"/v1/review-queue/{held}/decision", json=edit)).status_code == 200
    note = {"claim_id": str(claim_id), "kind": "inbound_call", "summary": "Claire called"}
    assert (await desk.api.post("/v1/interactions", json=note)).status_code == 201

    await desk.erase("D-GONE")
    erased = {"subject": ERASED, "body": ERASED}
    assert (await desk.read(sent, lambda m: m["content"] == erased))["status"] == "sent"
    assert (await desk.read(held))["edited"] == erased
    assert (await desk.read(task))["notes"] == ERASED

    async def forgotten():
        answer = await desk.api.get("/v1/call-tasks", params={"status": "done"})
        [done] = answer.json()["items"]
        return done if done["contacts"] == [] else None  # the erasure event applied

    assert (await eventually(forgotten))["script"] == erased
    [interaction] = (await desk.api.get("/v1/interactions")).json()["items"]
    assert interaction["summary"] == ERASED
