"""Claims, dunning and communications as processes on one log, on an accelerated clock (three
moved days per real second), as `make run` runs them: the first overdue step opens a call task
an agent works through the API; a promise on the call becomes a promise on the claim in claims,
which communications confirms by email; on the other claim, the email reminder reaches the local
mail sink exactly once, in French with French amounts, its content on the audit trail. The
communications projection rebuilds to its live digest."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from amiable_cli.mailsink import parse, received, text_body
from tests.support import ROOT, auth, eventually, rebuild_gives_live_digest

pytestmark = pytest.mark.e2e

CLAIMS = ("claims:write", "claims:read")
COMMS = ("communications:read", "communications:write")
THREE_DAYS_A_SECOND = 259200
MAIL = ROOT / ".amiable" / "mail"
PROFILE = {
    "creditor": {
        "legal_name": "Acme Fournitures SAS",
        "address": ["12 avenue des Ternes", "75017 Paris"],
        "registration_number": "812 345 678",
    },
    "iban": "FR7630006000011234567890189",
    "reference_format": "ACME-{invoice}",
    "reply_email": "recouvrement@acme.example",
}


def claim_body(today, invoice: str, debtor: str, email: str) -> dict:
    """Issued 29 days ago, due tomorrow: the first overdue call is at least three moved days
    away (a second of real time), so a registration slowed by a busy machine still comes before
    it rather than having dunning skip it as already past."""
    return {
        "invoice_number": invoice,
        "amount": "2000.00",
        "currency": "EUR",
        "issued_on": str(today - timedelta(days=29)),
        "due_on": str(today + timedelta(days=1)),
        "debtor": {
            "id": debtor,
            "legal_name": "Durand Industries SAS",
            "country": "FR",
            "contacts": [{"name": "Claire Martin", "email": email, "phone": "+33612345678"}],
            "postal_address": {
                "lines": ["3 rue des Lilas"],
                "postal_code": "69003",
                "city": "Lyon",
                "country": "FR",
            },
        },
    }


async def test_call_tasks_are_worked_and_reminders_reach_the_mail_sink_once(
    fresh_topic, service_process, unique
):
    topic = await fresh_topic("communications")
    clock = f"accelerated:{datetime.now(UTC).isoformat()}:{THREE_DAYS_A_SECOND}"
    common = {"topic": topic, "clock": clock, "timer_interval": "0.2", "send_interval": "0.2"}
    services = {
        name: service_process(
            name,
            consumer_group=f"cc{name[:2]}-{unique}",
            projection_schema=f"cc{name[:2]}_{unique}",
            **common,
        ).start()
        for name in ("claims", "dunning", "communications")
    }
    tenant = f"com-{unique}"
    writer, agent = auth(tenant, *CLAIMS), auth(tenant, *COMMS)
    promised_address = f"promised-{unique}@durand.example"
    reminded_address = f"reminded-{unique}@durand.example"
    async with (
        httpx.AsyncClient(base_url=services["claims"].url, timeout=15) as claims_api,
        httpx.AsyncClient(base_url=services["communications"].url, timeout=15) as comms_api,
    ):
        for service in services.values():
            service.wait_ready()
        profile = await comms_api.put("/v1/creditor-profile", json=PROFILE, headers=agent)
        assert profile.status_code == 200, profile.text
        today = services["claims"].today

        async def register(invoice: str, debtor: str, email: str) -> str:
            created = await claims_api.post(
                "/v1/claims", json=claim_body(today, invoice, debtor, email), headers=writer
            )
            assert created.status_code == 201, created.text
            return created.json()["id"]

        promised = await register("T-1", "D-1", promised_address)
        reminded = await register("T-2", "D-2", reminded_address)

        async def open_task(claim_id: str) -> dict | None:
            answer = await comms_api.get("/v1/call-tasks", headers=agent)
            assert answer.status_code == 200, answer.text
            return next((t for t in answer.json()["items"] if t["claim_id"] == claim_id), None)

        # The first overdue step is a call: an agent works it through the API.
        task = await eventually(lambda: open_task(promised), timeout=60)
        assert task["channel"] == "phone" and task["script"]["body"]
        promise_day = services["communications"].today + timedelta(days=40)
        outcome = await comms_api.post(
            f"/v1/call-tasks/{task['task_id']}/outcome",
            json={
                "outcome": "promise_to_pay",
                "promise": {"amount": "2000.00", "date": str(promise_day)},
                "notes": "Will pay the whole invoice",
            },
            headers={**agent, "Idempotency-Key": f"outcome-{unique}"},
        )
        assert outcome.status_code == 200, outcome.text
        assert outcome.json()["outcome"] == "promise_to_pay"

        async def promise_in_claims():
            answer = await claims_api.get(f"/v1/claims/{promised}", headers=writer)
            promises = answer.json().get("promises") or []
            return promises or None

        (promise,) = await eventually(promise_in_claims, timeout=30)
        assert promise["promised_on"] == str(promise_day) and promise["amount"] == "2000.00"

        other = await eventually(lambda: open_task(reminded), timeout=60)
        done = await comms_api.post(
            f"/v1/call-tasks/{other['task_id']}/outcome",
            json={"outcome": "no_answer"},
            headers=agent,
        )
        assert done.status_code == 200, done.text

        def mails_to(address: str):
            return [mail for mail in received(MAIL) if address in mail.recipients]

        async def reminder_sent():
            answer = await comms_api.get(
                "/v1/communications", params={"claim_id": reminded}, headers=agent
            )
            sent = [
                m
                for m in answer.json()["items"]
                if m["template"] == "email.reminder" and m["status"] == "delivered"
            ]
            return sent if sent and mails_to(reminded_address) else None

        (summary,) = await eventually(reminder_sent, timeout=60)
        detail = await comms_api.get(
            f"/v1/communications/{summary['communication_id']}", headers=agent
        )
        assert detail.status_code == 200, detail.text
        content = detail.json()["content"]

        async def confirmed():
            answer = await comms_api.get(
                "/v1/communications", params={"claim_id": promised}, headers=agent
            )
            found = [
                m
                for m in answer.json()["items"]
                if m["template"] == "confirm.promise" and m["status"] == "delivered"
            ]
            return found if found and mails_to(promised_address) else None

        (confirmation,) = await eventually(confirmed, timeout=60)

    reminders = mails_to(reminded_address)
    assert len(reminders) == 1, [m.subject for m in reminders]
    mail = reminders[0]
    assert mail.message_id == f"<{summary['communication_id']}@amiable.invalid>"
    assert mail.subject == content["subject"]
    body = text_body(parse(mail.path))
    assert "2\u202f000,00\u00a0€" in body and "T-2" in body
    confirmation_id = f"<{confirmation['communication_id']}@amiable.invalid>"
    assert [m.message_id for m in mails_to(promised_address)].count(confirmation_id) == 1
    everything = mails_to(promised_address) + mails_to(reminded_address)
    ids = Counter(m.message_id for m in everything)
    assert max(ids.values()) == 1

    # Once nothing new comes (the other services stopped), a rebuild of the communications
    # projection from the log gives the live digest, table by table.
    services["dunning"].kill()
    services["claims"].kill()
    await rebuild_gives_live_digest(services["communications"])
