"""The sender's hard cases on the real stack, one communications process sending to the test's
SMTP sink and the stack's fake SMS gateway, retrying after 0.2 s (doubling), 3 tries at most:

- a 550 fails the message with the server's reply, nothing kept, and dunning, reading that
  event, moves the step to its next channel (none left: skipped);
- a 451 is tried again and the message kept once; a 451 every time fails after the third try;
- an SMS to a number the gateway cannot reach now (503) fails after the third try, to an
  invalid number (422) at once;
- a letter's PDF, kept sealed, hashes to ``CommunicationSent.document_sha256``; once the
  debtor is erased it cannot be read."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest

from amiable_communications.adapters.letters import LetterChannel
from amiable_dunning.domain.policy import Policy
from amiable_events.communications import CommunicationFailed, CommunicationSent
from amiable_events.db import create_engine, raw
from amiable_events.dunning import DunningRescheduled, DunningStepDue, DunningStepSkipped
from amiable_events.personal import ERASED, Sealer
from tests.dunning_givens import POLICY, play
from tests.risk_givens import TODAY
from tests.sender_givens import (
    DATABASE,
    NOW,
    REMINDER_DUE_TODAY,
    communications,
    delivery,
    logged,
    tenant,
    with_step,
)
from tests.smtp_sink import Sink
from tests.support import eventually

pytestmark = pytest.mark.integration

ATTEMPTS = 3
#: A tenant's policy whose email reminder goes by letter when the email fails (a proposal may
#: go by either: a plain email step has the one channel).
EMAIL_THEN_LETTER = with_step(
    "standard_b2b", "email_reminder", action="propose_payment_plan", channels=["email", "letter"]
)
BY_SMS = with_step("standard_b2b", "email_reminder", action="sms", channels=["sms"])
BY_LETTER = with_step(
    "standard_b2b",
    "email_reminder",
    action="letter",
    channels=["letter"],
    template="letter.reminder",
)


@pytest.fixture(scope="module")
def sink():
    sink = Sink().start()
    yield sink
    sink.stop()


@pytest.fixture(scope="module")
async def process(infra, sink, tmp_path_factory):
    async with communications(
        infra,
        tmp_path_factory.mktemp("communications"),
        smtp_host=sink.host,
        smtp_port=str(sink.port),
        send_retry_base="0.2",
        send_max_attempts=str(ATTEMPTS),
    ) as process:
        yield process


@pytest.fixture
async def desk(process, infra, unique):
    async with tenant(process, infra, f"t-{unique}") as desk:
        await desk.set_profile()
        yield desk


async def _reminder(desk, debtor_id: str, policy: Policy = POLICY, **contact):
    history = await desk.debtor(debtor_id, **contact)
    claim_id = history.claim(TODAY - REMINDER_DUE_TODAY, amount="1234.56")
    await desk.feed(history, policy)
    return history, claim_id


async def test_a_550_fails_the_email_with_the_reply_and_dunning_moves_the_step_on(
    desk, sink, unique
):
    address = f"gone-{unique}@debtor.example"
    sink.refuse(address, "550 5.1.1 no mailbox by that name here")
    history, claim_id = await _reminder(desk, "D-1", EMAIL_THEN_LETTER, email=address)

    failed = await desk.message(claim_id, "email", ("failed",))
    assert failed["reason"].startswith("smtp 550")
    assert "no mailbox by that name here" in failed["reason"]
    assert sink.to(address) == [] and sink.rcpt[address] == 1  # not tried again
    (event,) = (await logged(desk.process, CommunicationFailed))[failed["communication_id"]]
    assert (event.step, event.channel) == ("email_reminder", "email")
    assert event.reason == failed["reason"]

    # dunning reads the failure from the log: the step goes again on its next channel
    envelope = history.add(event, event.failed_at)
    desk.fed.add(envelope.id)  # the service wrote it already
    dunning = play(history, NOW, EMAIL_THEN_LETTER)
    (moved,) = dunning.events(DunningRescheduled)
    assert (moved.reason, moved.step) == ("channel_failed", "email_reminder")
    assert moved.steps[0].key == "email_reminder" and moved.steps[0].channels == ("letter",)
    # with the shipped policy the email step has no other channel: it is skipped
    (skipped,) = play(history, NOW, POLICY).events(DunningStepSkipped)
    assert (skipped.step, skipped.reason) == ("email_reminder", "no_channel_left")

    # and falls due on it at its new time
    later = play(history, moved.steps[0].at, EMAIL_THEN_LETTER)
    again = [e for e in later.events(DunningStepDue) if e.step == "email_reminder"]
    assert [e.channel for e in again] == ["email", "letter"]
    assert again[1].due_at >= event.failed_at


async def test_a_451_is_tried_again_and_the_email_kept_once(desk, sink, infra, unique):
    address = f"busy-{unique}@debtor.example"
    sink.busy(address, times=2)
    _, claim_id = await _reminder(desk, "D-1", email=address)

    message = await desk.message(claim_id, "email", ("delivered",))
    assert sink.rcpt[address] == 3
    (kept,) = sink.to(address)
    assert kept.message_id == message["message_id"]
    assert (await delivery(infra, message["communication_id"]))["attempts"] == 3
    sent = await logged(desk.process, CommunicationSent)
    assert len(sent[message["communication_id"]]) == 1


async def test_a_451_every_time_fails_after_the_last_attempt(desk, sink, infra, unique):
    address = f"full-{unique}@debtor.example"
    sink.busy(address)
    _, claim_id = await _reminder(desk, "D-1", email=address)

    failed = await desk.message(claim_id, "email", ("failed",))
    assert failed["reason"].startswith("smtp 451")
    assert sink.rcpt[address] == ATTEMPTS and sink.to(address) == []
    assert (await delivery(infra, failed["communication_id"]))["attempts"] == ATTEMPTS


async def test_an_sms_is_sent_once_retried_on_a_gateway_outage_and_failed_on_a_bad_number(
    desk, infra, unique
):
    number = f"+336{int(unique, 16) % 10**8:08d}1"  # never ends in 000 (the fake's outage)
    _, reached = await _reminder(desk, "D-1", BY_SMS, email="a@x.example", phone=number)
    _, outage = await _reminder(desk, "D-2", BY_SMS, email="b@x.example", phone="+33612345000")
    _, invalid = await _reminder(desk, "D-3", BY_SMS, email="c@x.example", phone="+0612345678")

    sent = await desk.message(reached, "sms", ("delivered",))
    async with httpx.AsyncClient(base_url=infra.sms_gateway_url) as gateway:
        (kept,) = (await gateway.get("/messages", params={"to": number})).json()["messages"]
    assert kept["id"] == sent["provider_reference"]
    assert kept["reference"] == sent["communication_id"]
    failed = await desk.message(outage, "sms", ("failed",))
    assert failed["reason"].startswith("sms gateway 503")
    assert (await delivery(infra, failed["communication_id"]))["attempts"] == ATTEMPTS
    refused = await desk.message(invalid, "sms", ("failed",))
    assert refused["reason"] == "invalid number"
    assert (await delivery(infra, refused["communication_id"]))["attempts"] == 1


async def test_a_letters_pdf_is_kept_sealed_with_its_digest_and_unreadable_once_erased(desk, infra):
    history, claim_id = await _reminder(desk, "D-1", BY_LETTER, email="a@x.example")
    letter = await desk.message(claim_id, "letter", ("sent",))
    communication_id = letter["communication_id"]
    (sent,) = (await logged(desk.process, CommunicationSent))[communication_id]
    assert sent.document_sha256 == letter["document_sha256"]

    engine = create_engine(infra.database_url, DATABASE, pool_size=1)
    try:
        letters = LetterChannel(engine, Sealer(desk.keys))
        pdf = await letters.document(communication_id, desk.name, "D-1")
        assert pdf is not None and pdf.startswith(b"%PDF")
        assert hashlib.sha256(pdf).hexdigest() == sent.document_sha256
        async with raw(engine) as conn:
            stored = await conn.fetchval(
                "SELECT pdf FROM sender.letters WHERE communication_id = $1", sent.communication_id
            )
        assert stored.startswith("pii:") and base64.b64encode(pdf[:30]).decode() not in stored

        await desk.erase(history)

        async def erased():
            answer = await desk.api.get(f"/v1/communications/{communication_id}")
            return answer.json() if answer.json()["content"]["body"] == ERASED else None

        shown = await eventually(erased)
        assert shown["document_sha256"] == sent.document_sha256  # the digest names no one
        assert (
            await LetterChannel(engine, Sealer(desk.keys)).document(
                communication_id, desk.name, "D-1"
            )
            is None
        )
    finally:
        await engine.dispose()
