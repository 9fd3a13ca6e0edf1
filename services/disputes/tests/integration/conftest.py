"""The disputes service on the real stack: a disputes process per test module, on a topic, a
schema and a consumer group of the module's own, fed the claims events the claims service would
write (tests.risk_givens.History) and driven through its API. Its clock is frozen at noon UTC on
``TODAY``; every date is computed from it."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from amiable_events.producer import EventLog
from tests.risk_givens import TODAY, History
from tests.support import (
    ServiceProcess,
    auth,
    create_topic,
    delete_topics,
    drop_schemas,
    ensure_dlq,
    eventually,
    free_port,
    service_env,
    unique_name,
)

DISPUTES = ("disputes:read", "disputes:write")


@pytest.fixture(scope="module")
async def disputes(infra, tmp_path_factory):
    topic = await create_topic(infra.bootstrap, unique_name("disputes"))
    schema = topic.replace("-", "_")
    await ensure_dlq(infra.bootstrap, "disputes")
    env = service_env(
        infra,
        clock=TODAY,
        topic=topic,
        projection_schema=schema,
        consumer_group=f"disputes-{schema}",
    )
    log_path = tmp_path_factory.mktemp("disputes") / "disputes.log"
    process = ServiceProcess("disputes", free_port(), env, log_path).start()
    log = EventLog(infra.bootstrap, topic=topic, client_id="disputes-test")
    await log.start()
    try:
        process.wait_ready()
        process.log = log
        process.topic = topic
        process.infra = infra
        yield process
    finally:
        await log.stop()
        process.stop()
        await drop_schemas(infra.database_url, "amiable_disputes", [schema])
        await delete_topics(infra.bootstrap, [topic])


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
