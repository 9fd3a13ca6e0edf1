"""The disputes service on the real stack: a disputes process per test module, on a topic, a
schema and a consumer group of the module's own, fed the claims events the claims service would
write (tests.risk_givens.History) and driven through its API. Its clock is frozen at noon UTC on
``TODAY``; every date is computed from it."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from tests.risk_givens import TODAY, History
from tests.support import (
    ServiceProcess,
    auth,
    eventually,
    service_on_own_topic,
)

DISPUTES = ("disputes:read", "disputes:write")


@pytest.fixture(scope="module")
async def disputes(infra, tmp_path_factory):
    async with service_on_own_topic(
        infra, "disputes", tmp_path_factory.mktemp("disputes"), clock=TODAY
    ) as process:
        process.infra = infra
        yield process


@dataclass
class Desk:
    """One tenant of the module's disputes process: the claims it appends to the log and its
    calls to the API, with a token of both disputes scopes unless told otherwise."""

    process: ServiceProcess
    api: httpx.AsyncClient
    tenant: str

    async def append(self, history: History, since: int = 0) -> None:
        """The history's envelopes from ``since`` on, on the process's topic."""
        await self.process.log.append(history.envelopes[since:])

    def history(self, debtor_id: str = "D-1") -> History:
        return History(self.tenant, debtor_id)

    async def post(
        self, path: str, body: dict, *, scopes=DISPUTES, headers: dict | None = None
    ) -> httpx.Response:
        return await self.api.post(
            path, json=body, headers={**auth(self.tenant, *scopes), **(headers or {})}
        )

    async def get(self, path: str, *, scopes=DISPUTES, **params) -> httpx.Response:
        return await self.api.get(path, params=params, headers=auth(self.tenant, *scopes))

    async def open(self, body: dict, headers: dict | None = None) -> httpx.Response:
        """``POST /v1/disputes`` once the service has read the claim: it answers 404 until
        then, and a 404 changes nothing."""

        async def answered():
            answer = await self.post("/v1/disputes", body, headers=headers)
            return answer if answer.status_code != 404 else None

        return await eventually(answered, timeout=30)

    async def opened(self, claim_id, **body) -> dict:
        """A dispute the service opened on the claim (201), as it answered it."""
        answer = await self.open(
            {"claim_id": str(claim_id), "reason": "quality_or_service", "raised_by": "agent"} | body
        )
        assert answer.status_code == 201, answer.text
        return answer.json()

    async def act(self, dispute_id, action: str, body: dict, status: int = 200) -> dict:
        """``POST /v1/disputes/{id}/{action}``, which must answer ``status``."""
        answer = await self.post(f"/v1/disputes/{dispute_id}/{action}", body)
        assert answer.status_code == status, answer.text
        return answer.json()

    async def dispute(self, dispute_id, ready=lambda body: True) -> dict:
        """``GET /v1/disputes/{id}`` once ``ready(body)`` holds."""

        async def check():
            answer = await self.get(f"/v1/disputes/{dispute_id}")
            return answer.json() if answer.status_code == 200 and ready(answer.json()) else None

        return await eventually(check, timeout=30)


@pytest.fixture
async def desk(disputes, unique):
    async with httpx.AsyncClient(base_url=disputes.url, timeout=15) as api:
        yield Desk(disputes, api, f"t-{unique}")
