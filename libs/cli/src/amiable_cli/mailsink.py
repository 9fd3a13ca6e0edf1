"""The local stack's mail sink: an SMTP server (aiosmtpd) that keeps every message it receives
as one ``.eml`` file and never relays anything.

``amiable stack up`` runs it as ``python -m amiable_cli.mailsink --port N --folder DIR``. It
speaks plain SMTP: no STARTTLS is offered (a client's opportunistic STARTTLS, aiosmtplib's
default, then stays off instead of failing on a self-signed certificate) and AUTH is optional,
any credentials accepted, so a service configured with a user and password sends here unchanged.

Each file is the message's bytes as received, Message-ID untouched, after three headers the
sink puts first: ``X-Amiable-Received-At`` (UTC, the sink's wall clock, not a service's
``AMIABLE_CLOCK``), ``X-Amiable-Envelope-From`` and ``X-Amiable-Envelope-To`` (the RCPT TO
addresses, Bcc included). The file is written under a temporary name and renamed before the
sink answers 250: once a client's send returns, ``amiable mail list`` shows the message.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

RECEIVED_AT = "X-Amiable-Received-At"
ENVELOPE_FROM = "X-Amiable-Envelope-From"
ENVELOPE_TO = "X-Amiable-Envelope-To"


def store(
    folder: Path, mail_from: str, rcpt_tos: list[str], content: bytes, received_at: datetime
) -> Path:
    """Write one received message; the file name sorts in the order of receipt."""
    name = f"{received_at:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}"
    head = (
        f"{RECEIVED_AT}: {received_at.isoformat()}\r\n"
        f"{ENVELOPE_FROM}: {mail_from}\r\n"
        f"{ENVELOPE_TO}: {', '.join(rcpt_tos)}\r\n"
    )
    # a reader listing the folder never sees half a message: it only looks at *.eml
    partial = folder / f".{name}.partial"
    partial.write_bytes(head.encode() + content)
    return partial.replace(folder / f"{name}.eml")


@dataclass(frozen=True)
class Mail:
    """One received message, as ``amiable mail list`` shows it."""

    id: str
    received_at: datetime
    message_id: str
    sender: str
    recipients: list[str]
    subject: str
    path: Path

    def summary(self) -> dict:
        return {
            "id": self.id,
            "received_at": self.received_at.isoformat(),
            "message_id": self.message_id,
            "from": self.sender,
            "to": self.recipients,
            "subject": self.subject,
        }


def parse(path: Path, *, headers_only: bool = False) -> EmailMessage:
    with path.open("rb") as handle:
        return BytesParser(policy=policy.default).parse(handle, headersonly=headers_only)


def read(path: Path) -> Mail:
    message = parse(path, headers_only=True)
    envelope_to = str(message.get(ENVELOPE_TO, ""))
    return Mail(
        id=path.stem,
        received_at=datetime.fromisoformat(str(message[RECEIVED_AT])),
        message_id=str(message.get("Message-ID", "")),
        sender=str(message.get("From", "") or message.get(ENVELOPE_FROM, "")),
        recipients=[address.strip() for address in envelope_to.split(",") if address.strip()],
        subject=str(message.get("Subject", "")),
        path=path,
    )


def received(folder: Path) -> list[Mail]:
    """Every message in the sink, oldest first."""
    if not folder.is_dir():
        return []
    return [read(path) for path in sorted(folder.glob("*.eml"))]


def text_body(message: EmailMessage) -> str:
    """The plain-text part, else the HTML part as it is, else nothing."""
    body = message.get_body(preferencelist=("plain", "html"))
    return body.get_content() if body is not None else ""


def attachments(message: EmailMessage) -> list[str]:
    return [part.get_filename() or part.get_content_type() for part in message.iter_attachments()]


class _Keep:
    """aiosmtpd handler: every accepted message goes to the folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server, session, envelope) -> str:
        content = envelope.original_content or envelope.content
        store(
            self.folder,
            envelope.mail_from,
            list(envelope.rcpt_tos),
            content,
            datetime.now(UTC),
        )
        return "250 OK kept by the amiable mail sink"


def _any_credentials(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=True)


async def serve(host: str, port: int, folder: Path) -> None:
    from aiosmtpd.smtp import SMTP

    handler = _Keep(folder)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            hostname="amiable-mail-sink",
            enable_SMTPUTF8=True,
            auth_require_tls=False,
            authenticator=_any_credentials,
        ),
        host,
        port,
    )
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"amiable mail sink on {host}:{port}, keeping messages in {folder}", flush=True)
    await stop.wait()
    server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--folder", type=Path, required=True)
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    asyncio.run(serve(args.host, args.port, args.folder))


if __name__ == "__main__":
    main()
