"""The schemathesis run each service's fuzzing test makes against its live process.

Every check is on: no answer may be a 5xx, every status and content type answered must be
documented, a request the schema accepts must not be refused for its shape, one the schema
refuses must be refused, and every answer must match its documented schema. What differs from
schemathesis' defaults is in tests/schemathesis.toml and tests/schemathesis_hooks.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

#: Examples per operation and phase: enough to meet every bound, small enough for `make test`.
MAX_EXAMPLES = int(os.environ.get("AMIABLE_FUZZ_EXAMPLES", "25"))


def fuzz(
    service_url: str, bearer: str, report_dir: Path, *, env: dict[str, str] | None = None
) -> tuple[int, str]:
    """Schemathesis against ``service_url``'s OpenAPI with the token ``bearer`` (``env`` reaches
    the hooks): its exit code and its summary (operations, phases, checks, the failing cases
    and how to replay them), also printed, so that ``pytest -rP`` shows it."""
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(ROOT / "tests" / "schemathesis.toml"),
        "run",
        f"{service_url}/openapi.json",
        "--checks",
        "all",
        "--header",
        f"Authorization: Bearer {bearer}",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "7",
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--suppress-health-check",
        "too_slow",
        "--report",
        "junit",
        "--report-dir",
        str(report_dir),
    ]
    run = subprocess.run(
        command,
        env={
            **os.environ,
            **(env or {}),
            "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
            "PYTHONPATH": str(ROOT),
            "NO_COLOR": "1",
        },
        cwd=report_dir,
        capture_output=True,
        text=True,
        timeout=900,
    )
    report = run.stdout[-20000:] + run.stderr[-5000:]
    print(report)
    return run.returncode, report
