from __future__ import annotations

import uuid
from datetime import date

import pytest

from tests.support import (
    FROZEN_AT,
    ServiceProcess,
    create_topic,
    delete_topics,
    drop_schemas,
    ensure_dlq,
    free_port,
    service_env,
)


@pytest.fixture(scope="module")
async def claims_service(infra, tmp_path_factory, request):
    """One claims process for the module, on a Kafka topic, a projection schema and a consumer
    group of its own (all deleted at teardown), with its clock frozen at ``FROZEN_AT``, or at
    the instant the module parametrises it with (``indirect=True``)."""
    moment = getattr(request, "param", FROZEN_AT)
    suffix = uuid.uuid4().hex[:10]
    schema = f"api_{suffix}"
    await ensure_dlq(infra.bootstrap)
    topic = await create_topic(infra.bootstrap, f"claims-{suffix}")
    env = service_env(
        infra,
        clock=moment,
        topic=topic,
        projection_schema=schema,
        consumer_group=f"amiable-claims-{schema}",
    )
    log_path = tmp_path_factory.mktemp("claims") / "claims.log"
    try:
        service = ServiceProcess("claims", free_port(), env, log_path).start().wait_ready()
        try:
            yield service
        finally:
            service.stop()
    finally:
        await drop_schemas(infra.database_url, "amiable_claims", [schema])
        await delete_topics(infra.bootstrap, [topic])


@pytest.fixture
def today(claims_service) -> date:
    """The date on the clock the module's service was given: every test date is computed from
    it."""
    return claims_service.today
