"""`amiable run`'s supervisor, with stand-in services (tiny HTTP servers): no stack needed."""

from __future__ import annotations

import os
import re
import signal
import sys

import pytest

from amiable_cli import supervise
from tests.support import free_port

#: A stand-in service: answers 200 on every GET; argv: name port [exit-after-seconds] [ignore-term]
FAKE = r"""
import http.server, signal, sys, threading, os
name, port = sys.argv[1], int(sys.argv[2])
exit_after = float(sys.argv[3]) if len(sys.argv) > 3 else 0
if len(sys.argv) > 4:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", port), Ok)
if exit_after:
    threading.Timer(exit_after, lambda: os._exit(3)).start()
server.serve_forever()
"""


@pytest.fixture
def fakes(monkeypatch):
    """name -> extra argv of the stand-in that plays that service."""
    behaviour: dict[str, list[str]] = {}

    def command(name: str, port: int) -> list[str]:
        return [sys.executable, "-c", FAKE, name, str(port), *behaviour.get(name, [])]

    monkeypatch.setattr(supervise, "command", command)
    return behaviour


def stopped_pids(messages: list[str]) -> list[int]:
    return [int(m) for text in messages for m in re.findall(r"\(pid (\d+)\)", text)]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_serve_command_runs_each_service_on_its_declared_port():
    assert supervise.command("claims", 8001)[1:] == [
        "-m",
        "amiable_cli.main",
        "serve",
        "claims",
        "--port",
        "8001",
    ]


def test_per_service_settings_are_not_passed_on():
    env = supervise.child_env({"AMIABLE_PORT": "9", "AMIABLE_DATABASE": "x", "AMIABLE_CLOCK": "c"})
    assert env == {"AMIABLE_CLOCK": "c"}


def test_ctrl_c_stops_every_service_and_returns_0(fakes):
    messages: list[str] = []
    ports = [free_port(), free_port()]
    ready = []

    def on_ready():
        ready.append(all(supervise.healthy("127.0.0.1", port) for port in ports))
        os.kill(os.getpid(), signal.SIGINT)

    code = supervise.supervise(
        [("one", ports[0]), ("two", ports[1])], on_ready=on_ready, log=messages.append
    )

    assert code == 0
    assert ready == [True]
    pids = stopped_pids(messages)
    assert len(pids) == 2 and all(gone(pid) for pid in pids)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_service_that_exits_stops_the_others_and_fails_with_its_name(fakes):
    fakes["two"] = ["1.0"]
    messages: list[str] = []

    code = supervise.supervise(
        [("one", free_port()), ("two", free_port())], log=messages.append, health_timeout_s=30
    )

    assert code == 1
    assert any("two: exited with code 3" in message for message in messages)
    pids = stopped_pids(messages)
    assert len(pids) == 1 and gone(pids[0])


def test_a_service_deaf_to_sigterm_is_killed_after_the_timeout(fakes):
    fakes["deaf"] = ["0", "ignore-term"]
    messages: list[str] = []

    code = supervise.supervise(
        [("deaf", free_port())],
        on_ready=lambda: os.kill(os.getpid(), signal.SIGTERM),
        log=messages.append,
        stop_timeout_s=0.5,
    )

    assert code == 0
    assert any("killing it" in message for message in messages)
    assert all(gone(pid) for pid in stopped_pids(messages))
