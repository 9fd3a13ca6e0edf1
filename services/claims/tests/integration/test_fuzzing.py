"""Issue 7, part A: schemathesis against a live claims process, every check on, 0 failures.

It sends what the OpenAPI document allows (and what it forbids) to every operation: no answer
may be a 5xx, every status and content type answered must be documented, a request the schema
accepts must not be refused for its shape, one the schema refuses must be refused, and every
answer must match its documented schema. The bulk import (``importClaims``) is fuzzed too, with
files shaped like CSV and NDJSON (tests/schemathesis_hooks.py) and its own number of examples
(tests/schemathesis.toml).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from amiable_claims.main import SERVICE
from tests.support import ROOT, token

pytestmark = pytest.mark.integration

#: Examples per operation and phase: enough to meet every bound, small enough for `make test`.
MAX_EXAMPLES = int(os.environ.get("AMIABLE_FUZZ_EXAMPLES", "25"))


def test_schemathesis_finds_no_failure_with_every_check_on(claims_service, tmp_path):
    tenant = f"fuzz-{uuid.uuid4().hex[:8]}"
    bearer = token(tenant, *SERVICE.all_scopes)
    command = [
        str(Path(sys.executable).parent / "schemathesis"),
        "--config-file",
        str(ROOT / "tests" / "schemathesis.toml"),
        "run",
        f"{claims_service.url}/openapi.json",
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
        str(tmp_path),
    ]
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
        "PYTHONPATH": str(ROOT),
        "NO_COLOR": "1",
    }
    run = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=900
    )
    report = run.stdout[-20000:] + run.stderr[-5000:]
    print(report)  # the summary: operations, phases, checks and cases (pytest -rP shows it)
    assert run.returncode == 0, report
