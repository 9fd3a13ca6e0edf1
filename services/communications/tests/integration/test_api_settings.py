"""The creditor profile, a debtor's contact preferences and the interactions, through the API
of a live communications process: what the routes answer, what they refuse, and that another
tenant sees none of it."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tests.risk_givens import TODAY, at

pytestmark = pytest.mark.integration

PROFILE = {
    "creditor": {
        "legal_name": "Acme Fournitures SAS",
        "address": ["12 avenue des Ternes", "75017 Paris"],
        "registration_number": "812 345 678",
    },
    "iban": "FR7630006000011234567890189",
    "bic": "AGRIFRPP",
    "reference_format": "ACME-{invoice}",
    "reply_email": "recouvrement@acme.example",
    "sender_mode": "creditor",
}


async def test_the_creditor_profile_is_set_whole_and_read_back(desk, stranger):
    assert (await desk.api.get("/v1/creditor-profile")).status_code == 404

    answer = await desk.api.put(
        "/v1/creditor-profile", json=PROFILE, headers={"Idempotency-Key": "profile-1"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["profile"]["creditor"]["legal_name"] == "Acme Fournitures SAS"
    assert answer.json()["set_by"] == "dev"  # the token's subject
    assert (await desk.api.get("/v1/creditor-profile")).json() == answer.json()

    retried = await desk.api.put(
        "/v1/creditor-profile", json=PROFILE, headers={"Idempotency-Key": "profile-1"}
    )
    assert retried.headers.get("Idempotent-Replayed") == "true"
    assert retried.json() == answer.json()
    # the same profile again, without a key: nothing new
    again = await desk.api.put("/v1/creditor-profile", json=PROFILE)
    assert again.headers.get("Idempotent-Replayed") == "true"

    agency = {**PROFILE, "sender_mode": "collection_agency"}  # and no agency named
    refused = await desk.api.put("/v1/creditor-profile", json=agency)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"

    changed = {**PROFILE, "reply_email": "compta@acme.example"}
    answer = await desk.api.put("/v1/creditor-profile", json=changed)
    assert answer.json()["profile"]["reply_email"] == "compta@acme.example"
    assert (await stranger.get("/v1/creditor-profile")).status_code == 404


async def test_contact_preferences_default_then_as_set(desk, stranger):
    assert (await desk.api.get("/v1/debtors/D-1/contact-preferences")).status_code == 404
    await desk.claim("D-1")
    path = "/v1/debtors/D-1/contact-preferences"
    assert (await desk.api.get(path)).json() == {
        "debtor_id": "D-1",
        "opted_out": False,
        "opted_out_channels": [],
        "preferred_channel": None,
        "language": None,
    }

    wanted = {"opted_out_channels": ["sms"], "preferred_channel": "letter", "language": "de-DE"}
    answer = await desk.api.put(path, json=wanted)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"debtor_id": "D-1", "opted_out": False, **wanted}
    assert (await desk.api.get(path)).json() == answer.json()
    same = await desk.api.put(path, json=wanted)
    assert same.headers.get("Idempotent-Replayed") == "true"

    assert (await desk.api.put(path, json={"preferred_channel": "pigeon"})).status_code == 422
    # another tenant can neither read nor set them, nor tell the debtor exists
    assert (await stranger.get(path)).status_code == 404
    assert (await stranger.put(path, json={"opted_out": True})).status_code == 404
    assert (await desk.api.get(path)).json()["opted_out"] is False


async def test_interactions_are_recorded_sealed_and_listed_by_claim(desk, stranger):
    claim_id = await desk.claim("D-1")
    other_claim = await desk.claim("D-1")
    sent = await desk.message(claim_id)
    body = {
        "claim_id": str(claim_id),
        "kind": "reply",
        "channel": "email",
        "summary": "Mme Martin says the payment left on Friday",
        "in_reply_to": str(sent),
        "occurred_at": at(TODAY, 9).isoformat(),
    }
    answer = await desk.api.post("/v1/interactions", json=body, headers={"Idempotency-Key": "r1"})
    assert answer.status_code == 201, answer.text
    recorded = answer.json()
    assert recorded["summary"] == body["summary"]
    assert (recorded["kind"], recorded["in_reply_to"]) == ("reply", str(sent))
    retried = await desk.api.post("/v1/interactions", json=body, headers={"Idempotency-Key": "r1"})
    assert retried.headers.get("Idempotent-Replayed") == "true"
    assert retried.json()["interaction_id"] == recorded["interaction_id"]

    note = {"claim_id": str(other_claim), "kind": "note", "summary": "Called the accountant"}
    noted = await desk.api.post("/v1/interactions", json=note)
    assert noted.status_code == 201, noted.text
    assert noted.json()["occurred_at"] == noted.json()["recorded_at"]

    listed = (await desk.api.get("/v1/interactions", params={"claim_id": str(claim_id)})).json()
    assert [i["interaction_id"] for i in listed["items"]] == [recorded["interaction_id"]]
    everything = (await desk.api.get("/v1/interactions")).json()["items"]
    assert [i["kind"] for i in everything] == ["note", "reply"]  # latest first

    future = {**note, "occurred_at": at(TODAY + timedelta(days=1)).isoformat()}
    refused = await desk.api.post("/v1/interactions", json=future)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "occurred_at"
    unknown_reply = {**body, "in_reply_to": str(uuid.uuid4())}
    refused = await desk.api.post("/v1/interactions", json=unknown_reply)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "in_reply_to"
    unknown = {**note, "claim_id": str(uuid.uuid4())}
    assert (await desk.api.post("/v1/interactions", json=unknown)).status_code == 404

    assert (await stranger.post("/v1/interactions", json=note)).status_code == 404
    assert (await stranger.get("/v1/interactions")).json()["items"] == []
    strangers = await stranger.get("/v1/interactions", params={"claim_id": str(claim_id)})
    assert strangers.json()["items"] == []
