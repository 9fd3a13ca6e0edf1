"""The mail sink's and the SMS fake's processes, on a state folder and ports of the test's own:
started and stopped the way `amiable stack up`/`down` do it, without Kafka and PostgreSQL (none
runs in that folder, so `stack.down` has only these two to stop)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest
from typer.testing import CliRunner

from amiable_cli import sinks, stack
from amiable_cli.main import app
from tests.support import free_port


def listening(port: int) -> bool:
    return stack._port_open(port, sinks.HOST)


@pytest.fixture
def own_config(tmp_path: Path) -> Iterator[stack.StackConfig]:
    config = stack.StackConfig(
        state_dir=tmp_path / "state",
        kafka_port=free_port(),
        postgres_port=free_port(),
        smtp_port=free_port(),
        sms_port=free_port(),
    )
    yield config
    stack.down(config, log=lambda message: None)


def test_stack_down_stops_the_sink_and_the_gateway(own_config):
    sinks.start(own_config, log=lambda message: None)
    running = stack.status(own_config)
    assert running.sinks_running
    assert listening(own_config.smtp_port) and listening(own_config.sms_port)
    pids = (running.smtp_pid, running.sms_pid)

    messages: list[str] = []
    stack.down(own_config, log=messages.append)

    stopped = stack.status(own_config)
    assert (stopped.smtp_pid, stopped.sms_pid) == (None, None)
    assert not any(stack._alive(pid) for pid in pids)
    assert not listening(own_config.smtp_port) and not listening(own_config.sms_port)
    assert messages == [
        f"stack: stopping the mail sink (pid {pids[0]})",
        f"stack: stopping the SMS fake (pid {pids[1]})",
    ]


def test_starting_running_sinks_again_starts_nothing(own_config):
    sinks.start(own_config, log=lambda message: None)
    before = stack.status(own_config)

    messages: list[str] = []
    sinks.start(own_config, log=messages.append)

    after = stack.status(own_config)
    assert messages == []
    assert (after.smtp_pid, after.sms_pid) == (before.smtp_pid, before.sms_pid)


def test_a_port_taken_by_another_process_is_refused_naming_its_setting(own_config):
    with socket.socket() as taken:
        taken.bind((sinks.HOST, own_config.smtp_port))
        taken.listen()
        with pytest.raises(stack.StackError, match="AMIABLE_STACK_SMTP_PORT"):
            sinks.start(own_config, log=lambda message: None)

    assert stack.status(own_config).smtp_pid is None


async def test_mail_clear_empties_the_sink(own_config, monkeypatch):
    sinks.start(own_config, log=lambda message: None)
    message = EmailMessage()
    message["From"] = "creditor@amiable.test"
    message["To"] = "debtor@amiable.test"
    message["Subject"] = "Reminder"
    message["Message-ID"] = "<clear-me@amiable.test>"
    message.set_content("Please pay.")
    await aiosmtplib.send(message, hostname=own_config.smtp_host, port=own_config.smtp_port)
    monkeypatch.setenv("AMIABLE_STATE_DIR", str(own_config.state_dir))
    runner = CliRunner()
    assert "<clear-me@amiable.test>" in runner.invoke(app, ["mail", "list"]).stdout

    cleared = runner.invoke(app, ["mail", "clear"])

    assert cleared.exit_code == 0
    assert cleared.stdout.strip() == "deleted 1 messages"
    assert runner.invoke(app, ["mail", "list", "--json"]).stdout.strip() == "[]"
    # the sink's own files stay: it keeps running and receiving
    assert sinks.mail_sink(own_config).pid_file.exists()
