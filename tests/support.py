"""Helpers every test may import: tokens, polling with a deadline, topics, service processes."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TEST_JWT_SECRET = "amiable-test-secret-0123456789abcdef"


@dataclass(frozen=True)
class Infra:
    bootstrap: str
    database_url: str


async def create_topic(bootstrap: str, name: str, partitions: int = 12) -> str:
    from amiable_events.topics import TopicSpec, create_topics

    await create_topics(bootstrap, [TopicSpec(name, partitions)])
    return name


def unique_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def token(tenant: str, *scopes: str) -> str:
    from amiable_events.auth import issue_token

    return issue_token(TEST_JWT_SECRET, tenant=tenant, scopes=list(scopes) or ["claims:write"])


def auth(tenant: str, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(tenant, *scopes)}"}


async def eventually(check: Callable, *, timeout: float = 30, interval: float = 0.05):
    """Poll ``check`` (sync or async) until it returns a truthy value, or fail at the deadline."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"not true within {timeout}s (last value {last!r})")


@dataclass
class ServiceProcess:
    """A service started as a real process (``amiable serve``) with its own settings."""

    name: str
    port: int
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 60) -> ServiceProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "amiable_cli.main",
                    "serve",
                    self.name,
                    "--port",
                    str(self.port),
                ],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.log_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not start:\n{self.log_text()}")

    def wait_ready(self, *, timeout: float = 120) -> ServiceProcess:
        """Until /readyz says the projection has caught up with the log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                return self
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready:\n{self.log_text()}")

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def kill(self) -> None:
        """``kill -9``: no shutdown code runs."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
