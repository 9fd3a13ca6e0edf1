"""The sender on the real stack: a dunning step played by dunning's pure parts and fed to a live
communications process becomes exactly one email in the local aiosmtpd sink, in the debtor's
language with its amounts formatted for its locale, its Message-ID derived from the
communication; a claim paid before its step gets nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import orjson
import pytest

from amiable_cli.mailsink import parse, received, text_body
from amiable_events.catalog import REGISTRY
from amiable_events.claims import Contact
from amiable_events.communications import CommunicationDelivered, CommunicationSent
from amiable_events.envelope import account_key, decode
from amiable_events.personal import Sealer
from tests.dunning_givens import play
from tests.risk_givens import TODAY, History, at
from tests.support import ROOT, eventually, read_topic

pytestmark = pytest.mark.integration

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


async def _history(desk, debtor_id: str, email: str) -> History:
    seal = await Sealer(desk.keys).sealer_for(account_key(desk.tenant, debtor_id))
    contact = Contact(name=seal("Claire Martin"), email=seal(email), phone=seal("+33612345678"))
    return History(desk.tenant, debtor_id, contacts=(contact,), language="fr-FR")


async def _feed(desk, history: History) -> None:
    """The claims history and what dunning appended for it up to the service's clock, in time
    order, as the two services would have written them."""
    dunning = play(history, at(TODAY, 12))
    log = sorted([*history.envelopes, *dunning.appended], key=lambda e: e.time)
    await desk.process.log.append(log)


def _mails_to(address: str):
    return [mail for mail in received(MAIL) if address in mail.recipients]


async def test_a_dunning_step_sends_one_email_in_the_debtors_language(desk, unique):
    assert (await desk.api.put("/v1/creditor-profile", json=PROFILE)).status_code == 200
    address = f"claire-{unique}@debtor.example"
    history = await _history(desk, "D-1", address)
    claim_id = history.claim(TODAY - timedelta(days=40), amount="1234.56")
    await _feed(desk, history)

    async def delivered():
        answer = await desk.api.get("/v1/communications", params={"claim_id": str(claim_id)})
        assert answer.status_code == 200, answer.text
        found = [m for m in answer.json()["items"] if m["channel"] == "email"]
        return found if found and found[0]["status"] == "delivered" else None

    summary = (await delivered_within(delivered))[0]
    communication_id = summary["communication_id"]
    mails = _mails_to(address)
    assert len(mails) == 1
    mail = mails[0]
    body = text_body(parse(mail.path))
    assert mail.message_id == f"<{communication_id}@amiable.invalid>"
    assert "1\u202f234,56\u00a0€" in body  # French grouping and currency
    assert "INV-" in body
    (sent,) = await _logged(desk, CommunicationSent, communication_id)
    assert sent.message_id == mail.message_id
    assert sent.language == "fr"
    assert sent.cost.amount == Decimal("0.02") and sent.cost.currency == "EUR"
    opened = await Sealer(desk.keys).opener_for(account_key(desk.tenant, "D-1"))
    assert orjson.loads(opened(sent.content))["subject"] == mail.subject
    assert len(await _logged(desk, CommunicationDelivered, communication_id)) == 1


async def test_a_claim_paid_before_its_step_gets_no_reminder(desk, unique):
    assert (await desk.api.put("/v1/creditor-profile", json=PROFILE)).status_code == 200
    address = f"paid-{unique}@debtor.example"
    history = await _history(desk, "D-2", address)
    claim_id = history.claim(TODAY - timedelta(days=40), amount="500.00")
    history.settle(claim_id, TODAY - timedelta(days=1), amount="500.00")
    await _feed(desk, history)

    async def settled():
        answer = await desk.api.get("/v1/communications", params={"claim_id": str(claim_id)})
        assert answer.status_code == 200, answer.text
        items = answer.json()["items"]
        # the step due today was suppressed: the claim was closed before it
        return items if any(m["status"] == "suppressed" for m in items) else None

    items = await eventually(settled)
    assert not [m for m in items if m["channel"] == "email" and m["status"] != "suppressed"]
    assert _mails_to(address) == []


async def _logged(desk, kind, communication_id: str) -> list:
    """The ``kind`` events of the communication in the module's log, duplicates included."""
    found = []
    for record in await read_topic(desk.process.env["AMIABLE_KAFKA_BOOTSTRAP"], desk.process.topic):
        envelope = decode(REGISTRY, record.key, record.value, record.headers)
        event = envelope.data
        if isinstance(event, kind) and str(event.communication_id) == communication_id:
            found.append(event)
    return found


async def delivered_within(check):
    return await eventually(check, timeout=60, interval=0.2)
