"""`amiable run`: every declared service as its own process, watched until Ctrl-C.

Each service runs as ``python -m amiable_cli.main serve <name> --port <port>`` on its declared
port, in a session of its own (Ctrl-C reaches this supervisor only, which then stops the
services in order). The supervisor waits for each ``/healthz``, then watches: Ctrl-C or SIGTERM
stops every service (SIGTERM, then SIGKILL after a timeout) and returns 0; a service that exits
on its own stops the others and fails with its name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

HEALTH_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
POLL_S = 0.25
#: Settings that belong to one service: a value inherited from the shell would make every
#: service share it, so the supervisor passes none of them on (the port goes as --port).
PER_SERVICE_ENV = ("AMIABLE_PORT", "AMIABLE_DATABASE", "AMIABLE_CONSUMER_GROUP")

Log = Callable[[str], Any]


class ServiceFailed(RuntimeError):
    """A service did not start, or exited while it should have been running."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


class _Stop(Exception):
    """SIGINT or SIGTERM, turned into an exception."""


@dataclass
class Running:
    name: str
    port: int
    process: subprocess.Popen


def command(name: str, port: int) -> list[str]:
    return [sys.executable, "-m", "amiable_cli.main", "serve", name, "--port", str(port)]


def child_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    environ = os.environ if environ is None else environ
    return {key: value for key, value in environ.items() if key not in PER_SERVICE_ENV}


def healthy(host: str, port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def start(services: Iterable[tuple[str, int]]) -> list[Running]:
    env = child_env()
    return [
        Running(
            name,
            port,
            subprocess.Popen(command(name, port), env=env, start_new_session=True),
        )
        for name, port in services
    ]


def wait_healthy(
    running: list[Running], *, host: str = "127.0.0.1", timeout_s: float = HEALTH_TIMEOUT_S
) -> None:
    """Wait until every service answers ``/healthz``; a service that exits first fails."""
    deadline = time.monotonic() + timeout_s
    waiting = list(running)
    while waiting:
        check_alive(running)
        waiting = [service for service in waiting if not healthy(host, service.port)]
        if not waiting:
            return
        if time.monotonic() > deadline:
            first = waiting[0]
            raise ServiceFailed(
                first.name, f"no answer on /healthz (port {first.port}) within {timeout_s:.0f} s"
            )
        time.sleep(POLL_S)


def check_alive(running: list[Running]) -> None:
    for service in running:
        code = service.process.poll()
        if code is not None:
            raise ServiceFailed(service.name, f"exited with code {code}")


def stop(running: list[Running], *, timeout_s: float = STOP_TIMEOUT_S, log: Log = print) -> None:
    """SIGTERM every service still running, then SIGKILL what is left after ``timeout_s``."""
    alive = [service for service in running if service.process.poll() is None]
    for service in alive:
        log(f"stopping {service.name} (pid {service.process.pid})")
        service.process.terminate()
    deadline = time.monotonic() + timeout_s
    for service in alive:
        try:
            service.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log(f"{service.name} did not stop within {timeout_s:.0f} s: killing it")
            service.process.kill()
            service.process.wait()


def supervise(
    services: Iterable[tuple[str, int]],
    *,
    on_ready: Callable[[], Any] = lambda: None,
    log: Log = print,
    health_timeout_s: float = HEALTH_TIMEOUT_S,
    stop_timeout_s: float = STOP_TIMEOUT_S,
) -> int:
    """Run ``services`` ((name, port) pairs) until Ctrl-C/SIGTERM (0) or a service fails (1)."""

    def on_signal(_signum, _frame):
        raise _Stop

    # Both set explicitly: a process started in the background inherits SIGINT ignored.
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    running: list[Running] = []
    try:
        running = start(services)
        wait_healthy(running, timeout_s=health_timeout_s)
        on_ready()
        while True:
            check_alive(running)
            time.sleep(POLL_S)
    except (KeyboardInterrupt, _Stop):
        code = 0
    except ServiceFailed as failure:
        log(f"amiable run: {failure}; stopping the other services")
        code = 1
    finally:
        # A second Ctrl-C must not leave services behind: stop them with signals ignored.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            stop(running, timeout_s=stop_timeout_s, log=log)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    return code
