"""Issue 7, part A: schemathesis against a live claims process, every check on, 0 failures
(tests/fuzzing.py). The bulk import (``importClaims``) is fuzzed too, with files shaped like CSV
and NDJSON (tests/schemathesis_hooks.py) and its own number of examples
(tests/schemathesis.toml).
"""

from __future__ import annotations

import uuid

import pytest

from amiable_claims.main import SERVICE
from tests.fuzzing import fuzz
from tests.support import token

pytestmark = pytest.mark.integration


def test_schemathesis_finds_no_failure_with_every_check_on(claims_service, tmp_path):
    tenant = f"fuzz-{uuid.uuid4().hex[:8]}"
    code, report = fuzz(claims_service.url, token(tenant, *SERVICE.all_scopes), tmp_path)
    assert code == 0, report
