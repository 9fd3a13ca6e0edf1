"""The HTTP load generator: wrk (a C program, Debian's package ``wrk``) in a process of its own.

wrk runs a closed loop: ``concurrency`` keep-alive connections over 2 threads, each sending its
next request as soon as the last answer is read, for ``seconds``; latency is from the request
written to the answer read. ``bench/wrk.lua`` gives every request its own body (a claim needs its
own invoice number) and prints the figures as JSON. Why wrk and not a Python client: on this
2-core machine the generator shares the CPU with the server, and a Python asyncio client (tried:
2 processes, uvloop, raw keep-alive HTTP) cost about as much per request as the bare echo
server, halving the echo's rate (6,400 against wrk's 12,400 req/s at concurrency 16) and so
flattering the ratio of ours to it. The issue's before-figures were taken with wrk too.

``make bench`` installs wrk with apt-get when it is missing and the bench runs as root (like the
local stack's set-up); otherwise it stops and says what to install.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

SCRIPT = Path(__file__).with_name("wrk.lua")


@dataclass(frozen=True)
class Load:
    url: str
    #: The JSON body; ``{n}`` becomes a number unique to the request, ``{debtor}`` that number
    #: modulo 500.
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    concurrency: int = 16
    seconds: int = 20
    threads: int = 2


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    p50: float
    p99: float
    max: float
    #: wrk's error counts: ``status`` is answers with a status over 399.
    errors: dict[str, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


def wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit(
            "make bench needs wrk, the HTTP load generator: install it (apt-get install wrk)"
        )
    # Debian's package lists may be missing on a fresh machine: update once, then install.
    if subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True).returncode:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, check=True)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True, check=True)
    return shutil.which("wrk") or "wrk"


def run(load: Load) -> LoadResult:
    """Run ``load`` and wait for it (blocking: call it from a thread in async code)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json") as body:
        body.write(load.body)
        body.flush()
        command = [
            wrk(),
            f"--threads={min(load.threads, load.concurrency)}",
            f"--connections={load.concurrency}",
            f"--duration={load.seconds}s",
            # wrk's default (2 s) would count a slow answer as an error, not as a latency.
            "--timeout=60s",
            f"--script={SCRIPT}",
            *(f"--header={name}: {value}" for name, value in load.headers.items()),
            "--header=Content-Type: application/json",
            load.url,
            "--",
            body.name,
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=load.seconds + 120, check=True
        )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return LoadResult(
        requests=figures["requests"],
        seconds=figures["duration_us"] / 1e6,
        p50=figures["p50_us"] / 1e6,
        p99=figures["p99_us"] / 1e6,
        max=figures["max_us"] / 1e6,
        errors=figures["errors"],
    )
