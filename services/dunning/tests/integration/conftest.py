"""The dunning service on the real stack: a dunning process per test module, on a topic, a
schema and a consumer group of the module's own, its clock frozen at noon UTC on ``TODAY``, fed
the claims events the claims service would write (tests.risk_givens.History) through
``dunning.log``. Each test keeps to tenants of its own."""

from __future__ import annotations

import httpx
import pytest

from tests.risk_givens import TODAY
from tests.support import auth, service_on_own_topic

READ, WRITE = "dunning:read", "dunning:write"


@pytest.fixture(scope="module")
async def dunning(infra, tmp_path_factory):
    async with service_on_own_topic(
        infra, "dunning", tmp_path_factory.mktemp("dunning"), clock=TODAY
    ) as process:
        yield process


@pytest.fixture
async def api(dunning, unique):
    """A client of the module's dunning process for a tenant of the test's own, with both
    dunning scopes."""
    async with httpx.AsyncClient(base_url=dunning.url, timeout=60) as client:
        client.tenant = f"t-{unique}"
        client.headers.update(auth(client.tenant, READ, WRITE))
        yield client
