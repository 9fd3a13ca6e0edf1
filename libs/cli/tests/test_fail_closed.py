"""Secrets fail closed (issue 7): a service started as an image starts it, with no AMIABLE_ENV,
is in production mode and refuses to start without a real secret, before it connects to
anything. (Short secrets and http JWKS URLs: libs/events/tests/unit/test_auth.py.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from amiable_events.settings import DEV_JWT_SECRET
from tests.support import ROOT


def serve(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AMIABLE_")}
    return subprocess.run(
        [sys.executable, "-m", "amiable_cli.main", "serve", "claims", "--port", "1"],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "env",
    [
        {},  # no AMIABLE_ENV: production, and no secret
        {"AMIABLE_JWT_SECRET": DEV_JWT_SECRET},  # the public dev secret outside dev
    ],
    ids=["no-secret", "dev-secret"],
)
def test_a_service_without_a_real_secret_refuses_to_start(env):
    started = serve(**env)
    assert started.returncode != 0
    assert "AMIABLE_JWT_SECRET must be set" in started.stderr
