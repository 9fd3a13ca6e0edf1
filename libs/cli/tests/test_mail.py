"""The stack's mail sink and fake SMS gateway, as a service will use them: an email sent with
aiosmtplib is kept with its Message-ID and read back with `amiable mail`; the SMS fake accepts,
refuses and fails as documented. Each test uses recipients of its own: the sink is shared."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import httpx
import pytest
from typer.testing import CliRunner

from amiable_cli import stack
from amiable_cli.main import app

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def local_sink(infra):
    """The infra's mail sink, when it is the local stack's (`amiable mail` reads its folder)."""
    config = stack.StackConfig.from_env()
    if (infra.smtp_host, infra.smtp_port) != (config.smtp_host, config.smtp_port):
        pytest.skip("the mail sink is an external one: `amiable mail` reads the local stack's")
    return infra


def mail(args: list[str]):
    result = CliRunner().invoke(app, ["mail", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def reminder(to: str, *, subject: str = "Invoice INV-1: a reminder") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Durand Collections <collections@creditor.test>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="amiable.test")
    message.set_content("1 234,56 € are due since 31 October.\nPay by bank transfer.")
    return message


async def test_the_stack_runs_the_mail_sink_and_the_sms_fake(local_sink):
    status = stack.status()

    assert status.sinks_running
    assert status.smtp_address == f"{local_sink.smtp_host}:{local_sink.smtp_port}"
    assert status.sms_gateway_url == local_sink.sms_gateway_url
    async with httpx.AsyncClient(base_url=local_sink.sms_gateway_url) as client:
        assert (await client.get("/healthz")).status_code == 200


async def test_an_email_sent_with_aiosmtplib_is_listed_with_its_message_id(local_sink, unique):
    to = f"claire-{unique}@debtor.test"
    message = reminder(to)

    await aiosmtplib.send(message, hostname=local_sink.smtp_host, port=local_sink.smtp_port)

    # the sink answers 250 once the file is written: no waiting
    listed = json.loads(mail(["list", "--json", "--to", to]))
    assert [entry["message_id"] for entry in listed] == [message["Message-ID"]]
    assert listed[0]["from"] == "Durand Collections <collections@creditor.test>"
    assert listed[0]["to"] == [to]
    assert listed[0]["subject"] == "Invoice INV-1: a reminder"


async def test_mail_show_prints_the_headers_and_the_text_body(local_sink, unique):
    to = f"jan-{unique}@debtor.test"
    message = reminder(to, subject="Rechnung INV-2: Zahlungserinnerung")
    await aiosmtplib.send(message, hostname=local_sink.smtp_host, port=local_sink.smtp_port)

    shown = json.loads(mail(["show", message["Message-ID"], "--json"]))
    printed = mail(["show", message["Message-ID"].strip("<>")])

    assert shown["copies"] == 1
    assert ["Message-ID", message["Message-ID"]] in shown["headers"]
    assert shown["text"] == "1 234,56 € are due since 31 October.\nPay by bank transfer.\n"
    assert f"Message-ID: {message['Message-ID']}" in printed
    assert "Subject: Rechnung INV-2: Zahlungserinnerung" in printed
    assert printed.rstrip().endswith("Pay by bank transfer.")


async def test_the_sink_takes_any_credentials_and_counts_a_resent_message_id(local_sink, unique):
    to = f"ana-{unique}@debtor.test"
    message = reminder(to)

    for _ in range(2):
        await aiosmtplib.send(
            message,
            hostname=local_sink.smtp_host,
            port=local_sink.smtp_port,
            username="communications",
            password="anything",
        )

    listed = json.loads(mail(["list", "--json", "--to", to]))
    assert [entry["message_id"] for entry in listed] == [message["Message-ID"]] * 2
    assert json.loads(mail(["show", message["Message-ID"], "--json"]))["copies"] == 2


async def test_mail_list_filters_by_recipient_and_receipt_time(local_sink, unique):
    first, second = f"first-{unique}@debtor.test", f"second-{unique}@debtor.test"
    await aiosmtplib.send(reminder(first), hostname=local_sink.smtp_host, port=local_sink.smtp_port)
    between = datetime.now(UTC)
    await aiosmtplib.send(
        reminder(second), hostname=local_sink.smtp_host, port=local_sink.smtp_port
    )

    both = json.loads(mail(["list", "--json", "--to", unique]))
    since = ["--since", between.isoformat()]
    since_between = json.loads(mail(["list", "--json", "--to", unique, *since]))
    later = (between + timedelta(hours=1)).isoformat()

    assert [entry["to"] for entry in both] == [[first], [second]]  # newest last
    assert [entry["to"] for entry in since_between] == [[second]]
    assert json.loads(mail(["list", "--json", "--to", unique, "--since", later])) == []
    assert len(json.loads(mail(["list", "--json", "--to", unique, "--since", "1h"]))) == 2
    lines = mail(["list", "--to", unique]).splitlines()
    assert len(lines) == 2 and first in lines[0] and second in lines[1]


async def test_the_sms_fake_accepts_an_e164_number_and_lists_it(local_sink, unique):
    number = "+3361" + str(int(unique, 16))[:7]
    async with httpx.AsyncClient(base_url=local_sink.sms_gateway_url) as client:
        sent = await client.post(
            "/messages", json={"to": number, "text": "1 234,56 € due", "reference": unique}
        )
        listed = (await client.get("/messages", params={"to": number})).json()["messages"]

    assert sent.status_code == 202
    assert [(m["id"], m["to"], m["text"], m["reference"]) for m in listed] == [
        (sent.json()["id"], number, "1 234,56 € due", unique)
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"to": "0612345678", "text": "no country code"},
        {"to": "+0612345678", "text": "starts with 0"},
        {"to": "+3361234567890123", "text": "16 digits"},
        {"to": "+33 6 12 34 56 78", "text": "spaces"},
        {"to": "+33612345678", "text": ""},
    ],
)
async def test_the_sms_fake_refuses_an_invalid_message_with_422(local_sink, body):
    async with httpx.AsyncClient(base_url=local_sink.sms_gateway_url) as client:
        refused = await client.post("/messages", json=body)
        listed = (await client.get("/messages", params={"to": body["to"]})).json()["messages"]

    assert refused.status_code == 422
    assert "error" in refused.json()
    assert listed == []


async def test_the_sms_fake_fails_a_number_ending_in_000_with_503(local_sink):
    number = "+33612345000"
    async with httpx.AsyncClient(base_url=local_sink.sms_gateway_url) as client:
        failed = await client.post("/messages", json={"to": number, "text": "hello"})
        listed = (await client.get("/messages", params={"to": number})).json()["messages"]

    assert failed.status_code == 503
    assert failed.headers["retry-after"] == "1"
    assert listed == []
