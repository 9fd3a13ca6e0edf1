"""``amiable mail``: what the local stack's mail sink received (``amiable_cli.mailsink``)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from amiable_cli import mailsink
from amiable_cli.stack import StackConfig

mail_app = typer.Typer(
    no_args_is_help=True,
    help="Read what the local mail sink received (`amiable stack up` starts it).",
)

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON")]
_AGO = re.compile(r"(\d+)([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _since(value: str) -> datetime:
    """An ISO 8601 date or time (UTC when it names no offset), or an age: 30s, 15m, 2h, 1d."""
    if ago := _AGO.fullmatch(value.strip()):
        amount, unit = ago.groups()
        return datetime.now(UTC) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r}: give an ISO 8601 time (2026-11-24T09:00:00+01:00) or an age (15m, 2h)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _bare(message_id: str) -> str:
    return message_id.strip().strip("<>")


@mail_app.command("list")
def list_mail(
    to: Annotated[
        str | None, typer.Option(help="only messages to a recipient containing this text")
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="only messages received since: an ISO time or an age (15m)")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """One line per received message (time, Message-ID, from, to, subject), newest last."""
    mails = mailsink.received(StackConfig.from_env().mail_dir)
    if to is not None:
        wanted = to.lower()
        mails = [mail for mail in mails if any(wanted in r.lower() for r in mail.recipients)]
    if since is not None:
        start = _since(since)
        mails = [mail for mail in mails if mail.received_at >= start]
    if as_json:
        typer.echo(json.dumps([mail.summary() for mail in mails], indent=2, ensure_ascii=False))
        return
    for mail in mails:
        typer.echo(
            f"{mail.received_at:%Y-%m-%d %H:%M:%S}  {mail.message_id}  {mail.sender}  ->  "
            f"{', '.join(mail.recipients)}  {mail.subject}"
        )


@mail_app.command("show")
def show_mail(
    mail_id: Annotated[str, typer.Argument(metavar="ID", help="a Message-ID, or a list's id")],
    as_json: JsonFlag = False,
) -> None:
    """Print one message: its headers and its text body. A Message-ID received more than once
    shows the first copy (``list`` shows each)."""
    mails = mailsink.received(StackConfig.from_env().mail_dir)
    matching = [mail for mail in mails if mail.id == mail_id] or [
        mail for mail in mails if _bare(mail.message_id) == _bare(mail_id)
    ]
    if not matching:
        typer.echo(f"no message {mail_id!r} in the mail sink", err=True)
        raise typer.Exit(1)
    mail = matching[0]
    message = mailsink.parse(mail.path)
    body = mailsink.text_body(message)
    if as_json:
        shown = {
            **mail.summary(),
            "copies": len(matching),
            "headers": [[name, str(value)] for name, value in message.items()],
            "text": body,
            "attachments": mailsink.attachments(message),
        }
        typer.echo(json.dumps(shown, indent=2, ensure_ascii=False))
        return
    for name, value in message.items():
        typer.echo(f"{name}: {value}")
    typer.echo("")
    typer.echo(body.rstrip("\n"))
    for name in mailsink.attachments(message):
        typer.echo(f"[attachment: {name}]")
    if len(matching) > 1:
        typer.echo(f"({len(matching)} copies of this Message-ID received)", err=True)


@mail_app.command("clear")
def clear_mail() -> None:
    """Delete every message the sink kept (dev only: tests share the sink, and filter)."""
    mails = mailsink.received(StackConfig.from_env().mail_dir)
    for mail in mails:
        mail.path.unlink(missing_ok=True)
    typer.echo(f"deleted {len(mails)} messages")
