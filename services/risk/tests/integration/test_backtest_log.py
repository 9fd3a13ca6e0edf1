"""The backtest through the real log: a generated history appended by ``amiable demo generate
--to-log`` to a topic of the test's own, replayed by ``amiable risk backtest --from-log``."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from amiable_cli.main import app
from amiable_demo.generate import Plan, generate
from amiable_events.db import create_engine
from amiable_events.personal import debtor_keys
from amiable_events.service import KEYS_DATABASE
from amiable_risk.api.cli import commands
from amiable_risk.app.backtest import backtest
from amiable_risk.domain.scorecard import Scorecard
from tests.support import service_key_store, unique_name

pytestmark = pytest.mark.integration


async def test_a_history_appended_to_the_log_backtests_as_its_envelopes_do(infra, fresh_topic):
    topic = await fresh_topic("risk-backtest")
    tenant = unique_name("backtest")  # accounts that have no key yet: the demo's get stored
    runner = CliRunner(
        env={
            "AMIABLE_ENV": "dev",
            "AMIABLE_KAFKA_BOOTSTRAP": infra.bootstrap,
            "AMIABLE_DATABASE_URL": infra.database_url,
            "AMIABLE_TOPIC": topic,
        }
    )
    arguments = ["--claims", "150", "--seed", "9", "--tenants", tenant, "--to-log"]

    # The commands run their own event loops (asyncio.run): in a thread, off the test's loop.
    generated = await asyncio.to_thread(runner.invoke, app, ["demo", "generate", *arguments])
    replayed = await asyncio.to_thread(
        runner.invoke, commands, ["backtest", "--from-log", "--json"]
    )

    assert generated.exit_code == 0, generated.output
    assert replayed.exit_code == 0, replayed.output
    history = generate(Plan(claims=150, seed=9, tenants=(tenant,)))
    expected = backtest(history.envelopes, Scorecard.load()).as_json()
    assert json.loads(replayed.output) == expected
    assert expected["qualified"] == 150
    account, key = next(iter(history.keys().items()))
    engine = create_engine(infra.database_url, KEYS_DATABASE, pool_size=1)
    try:
        async with engine.connect() as conn:
            stored = await conn.scalar(
                select(debtor_keys.c.key).where(debtor_keys.c.account == account)
            )
        opened = await service_key_store(engine).get(account)
    finally:
        await engine.dispose()
    assert opened == key
    assert key not in stored  # stored wrapped by the key-encryption key
