"""The channels a message goes out on, behind one interface: ``await channel.send(message)``
gives ``Accepted``, ``TemporaryFailure`` (retried) or ``PermanentFailure`` (the message fails,
dunning falls back to its next channel).

- email: SMTP through aiosmtplib; its ``Message-ID`` derives from the communication id, so a
  message sent again after a crash carries the same one. A 4xx reply or a lost connection is
  temporary, a 5xx permanent.
- SMS: an HTTP gateway (``POST {url}/messages``); 422 (an invalid number) and any other 4xx are
  permanent, 5xx and connection errors temporary.
- letters: the PDF is made and kept (``adapters.letters``): posting it is a person's job.
- tasks (phone, visit, bailiff, lawyer): sending opens the task, no I/O; the rendered script is
  its content.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Protocol
from uuid import UUID

import aiosmtplib
import httpx

from amiable_communications.settings import CommunicationsSettings


@dataclass(frozen=True)
class Outgoing:
    """One rendered message and where it goes."""

    communication_id: UUID
    tenant: str
    debtor_id: str
    channel: str
    subject: str
    body: str
    language: str
    #: The address on the channel: an email address or a phone number; None for a letter or a
    #: task, whose address is in the body
    to: str | None = None
    reply_to: str | None = None
    sent_at: object = None
    #: A letter's postal lines, printed above the body
    address_lines: tuple[str, ...] = ()
    sender_lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Accepted:
    message_id: str | None = None
    provider_reference: str | None = None
    document_sha256: str | None = None
    registered: bool = False
    #: The channel itself says the message reached its destination (the receiving SMTP server,
    #: the gateway): a CommunicationDelivered follows the Sent at once
    delivered: bool = False


@dataclass(frozen=True)
class TemporaryFailure:
    reason: str


@dataclass(frozen=True)
class PermanentFailure:
    reason: str


Outcome = Accepted | TemporaryFailure | PermanentFailure


class Channel(Protocol):
    async def send(self, message: Outgoing) -> Outcome: ...


def message_id(communication_id: UUID, domain: str) -> str:
    return f"<{communication_id}@{domain}>"


class EmailChannel:
    def __init__(self, settings: CommunicationsSettings) -> None:
        self.settings = settings

    def compose(self, message: Outgoing) -> EmailMessage:
        email = EmailMessage()
        email["Message-ID"] = message_id(message.communication_id, self.settings.message_id_domain)
        email["From"] = self.settings.mail_from
        email["To"] = message.to
        if message.reply_to:
            email["Reply-To"] = message.reply_to
        email["Subject"] = message.subject
        email["Content-Language"] = message.language
        if message.sent_at is not None:
            email["Date"] = format_datetime(message.sent_at)
        email.set_content(message.body)
        return email

    async def send(self, message: Outgoing) -> Outcome:
        if not message.to:
            return PermanentFailure("no email address")
        email = self.compose(message)
        s = self.settings
        try:
            await aiosmtplib.send(
                email,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password,
                use_tls=s.smtp_tls == "tls",
                start_tls=s.smtp_tls == "starttls",
                timeout=s.smtp_timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return classify_smtp([r.code for r in exc.recipients], str(exc))
        except aiosmtplib.SMTPResponseException as exc:
            return classify_smtp([exc.code], exc.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return TemporaryFailure(f"smtp: {type(exc).__name__}: {exc}"[:500])
        return Accepted(message_id=email["Message-ID"], delivered=True)


def classify_smtp(codes: list[int], text: str) -> Outcome:
    """A 5xx reply is the server's final word; anything else may pass on a later try."""
    reason = f"smtp {','.join(map(str, codes))}: {text}"[:500]
    if codes and all(500 <= code < 600 for code in codes):
        return PermanentFailure(reason)
    return TemporaryFailure(reason)


class SmsChannel:
    #: An SMS is short: the subject and the body's first lines, cut at this length.
    LIMIT = 480

    def __init__(self, settings: CommunicationsSettings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    async def send(self, message: Outgoing) -> Outcome:
        if not message.to:
            return PermanentFailure("no phone number")
        headers = {"Idempotency-Key": str(message.communication_id)}
        if self.settings.sms_gateway_token:
            headers["Authorization"] = f"Bearer {self.settings.sms_gateway_token}"
        payload = {
            "to": message.to,
            "text": sms_text(message, self.LIMIT),
            "reference": str(message.communication_id),
        }
        try:
            answer = await self.client.post(
                f"{self.settings.sms_gateway_url.rstrip('/')}/messages",
                json=payload,
                headers=headers,
                timeout=self.settings.smtp_timeout,
            )
        except httpx.HTTPError as exc:
            return TemporaryFailure(f"sms gateway: {type(exc).__name__}")
        return classify_gateway(answer.status_code, answer.text, _reference(answer))


def _reference(answer: httpx.Response) -> str | None:
    try:
        found = answer.json().get("id")
    except ValueError:
        return None
    return None if found is None else str(found)


def classify_gateway(status: int, text: str, reference: str | None) -> Outcome:
    if 200 <= status < 300:
        return Accepted(provider_reference=reference, delivered=True)
    if status == 422:
        return PermanentFailure("invalid number")
    reason = f"sms gateway {status}: {text}"[:500]
    if status >= 500 or status in (408, 429):
        return TemporaryFailure(reason)
    return PermanentFailure(reason)


def sms_text(message: Outgoing, limit: int) -> str:
    """The subject, the body's paragraphs while they fit (a reminder states the amounts
    first), and always whom to answer."""
    reply = f"\n{message.reply_to}" if message.reply_to else ""
    text = message.subject
    for paragraph in message.body.split("\n\n"):
        candidate = f"{text}\n{paragraph.strip()}"
        if len(candidate) + len(reply) > limit:
            break
        text = candidate
    return (text[: limit - len(reply)] + reply).strip()


class TaskChannel:
    """A call, a visit, a hand-over: opened by being recorded as sent; a person works it."""

    async def send(self, message: Outgoing) -> Outcome:
        return Accepted()
