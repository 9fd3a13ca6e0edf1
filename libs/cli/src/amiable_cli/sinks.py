"""The two dev servers the local stack runs beside Kafka and PostgreSQL: the mail sink
(``amiable_cli.mailsink``) and the fake SMS gateway (``amiable_cli.smsfake``).

Each is a detached Python process like the broker, with its pid and log file in its own folder
of the state folder, where it also keeps what it receives:

    <state>/mail/*.eml, sink.pid, sink.log          the mail sink (AMIABLE_STACK_SMTP_PORT)
    <state>/sms/messages.jsonl, gateway.pid, .log   the SMS fake (AMIABLE_STACK_SMS_PORT)

``stack.up()`` starts the missing ones, ``stack.down()`` stops them, ``make clean`` deletes the
folders with the rest of the state.
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from amiable_cli import stack

HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class DevServer:
    label: str
    module: str
    folder: Path
    port: int
    port_variable: str
    pid_name: str

    @property
    def pid_file(self) -> Path:
        return self.folder / f"{self.pid_name}.pid"

    @property
    def log_file(self) -> Path:
        return self.folder / f"{self.pid_name}.log"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            self.module,
            "--host",
            HOST,
            "--port",
            str(self.port),
            "--folder",
            str(self.folder),
        ]


def mail_sink(config: stack.StackConfig) -> DevServer:
    return DevServer(
        label="mail sink",
        module="amiable_cli.mailsink",
        folder=config.mail_dir,
        port=config.smtp_port,
        port_variable="AMIABLE_STACK_SMTP_PORT",
        pid_name="sink",
    )


def sms_fake(config: stack.StackConfig) -> DevServer:
    return DevServer(
        label="SMS fake",
        module="amiable_cli.smsfake",
        folder=config.sms_dir,
        port=config.sms_port,
        port_variable="AMIABLE_STACK_SMS_PORT",
        pid_name="gateway",
    )


def servers(config: stack.StackConfig) -> tuple[DevServer, DevServer]:
    return mail_sink(config), sms_fake(config)


def pid(server: DevServer, *, clean: bool = False) -> int | None:
    """The pid of this state folder's running server; a stale pid file is removed when `clean`.

    The command line must name the module and this folder: a pid reused by another process, or
    the server of another state folder, is not ours."""
    found = stack._read_pid(server.pid_file)
    if found is not None and stack._alive(found):
        cmdline = stack._cmdline(found)
        if server.module in cmdline and str(server.folder) in cmdline:
            return found
    if clean:
        server.pid_file.unlink(missing_ok=True)
    return None


def _launch(server: DevServer) -> int:
    if stack._port_open(server.port, HOST):
        raise stack.StackError(
            f"port {server.port} is in use by another process, not by this stack's "
            f"{server.label}; stop it or set {server.port_variable}"
        )
    server.folder.mkdir(parents=True, exist_ok=True)
    started = stack._spawn_detached(server.command(), log_file=server.log_file, cwd=server.folder)
    server.pid_file.write_text(f"{started}\n")
    return started


def _wait(server: DevServer, started: int) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not stack._alive(started):
            raise stack.StackError(
                stack._with_log(f"the {server.label} exited while starting", server.log_file)
            )
        if stack._port_open(server.port, HOST):
            return
        time.sleep(0.1)
    raise stack.StackError(
        stack._with_log(
            f"the {server.label} did not listen on {HOST}:{server.port} within "
            f"{START_TIMEOUT_S:.0f} s",
            server.log_file,
        )
    )


def start(config: stack.StackConfig, log: stack.Log) -> None:
    """Start whichever of the two is not running and wait until both listen; on failure, stop
    what this call started."""
    launched: list[tuple[DevServer, int]] = []
    try:
        for server in servers(config):
            if pid(server, clean=True) is None:
                launched.append((server, _launch(server)))
                log(f"stack: starting the {server.label} on {HOST}:{server.port}")
        for server, started in launched:
            _wait(server, started)
    except BaseException:
        for server, started in launched:
            with contextlib.suppress(Exception):
                stack._terminate(started, STOP_TIMEOUT_S)
            server.pid_file.unlink(missing_ok=True)
        raise


def stop(config: stack.StackConfig, log: stack.Log) -> None:
    for server in servers(config):
        running = pid(server, clean=True)
        if running is not None:
            log(f"stack: stopping the {server.label} (pid {running})")
            stack._terminate(running, STOP_TIMEOUT_S)
        server.pid_file.unlink(missing_ok=True)
