from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text

from amiable_events.db import create_engine
from tests.support import TEST_JWT_SECRET, ServiceProcess, free_port


@pytest.fixture(scope="module")
async def claims_service(infra, tmp_path_factory):
    """One claims process for the module, with a projection schema and consumer group of its
    own over the real claim log (tests keep apart by using their own tenants)."""
    schema = f"api_{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "AMIABLE_KAFKA_BOOTSTRAP": infra.bootstrap,
        "AMIABLE_DATABASE_URL": infra.database_url,
        "AMIABLE_ENV": "test",
        "AMIABLE_JWT_SECRET": TEST_JWT_SECRET,
        "AMIABLE_PROJECTION_SCHEMA": schema,
        "AMIABLE_CONSUMER_GROUP": f"amiable-claims-{schema}",
        "OTEL_SDK_DISABLED": "true",
    }
    log_path = tmp_path_factory.mktemp("claims") / "claims.log"
    service = ServiceProcess("claims", free_port(), env, log_path).start().wait_ready()
    try:
        yield service
    finally:
        service.stop()
        engine = create_engine(infra.database_url, "amiable_claims")
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await engine.dispose()
