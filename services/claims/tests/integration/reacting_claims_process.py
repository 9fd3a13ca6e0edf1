"""The claims projection and reactions, run as a real process that dies (SIGKILL) right after
appending its first reactions, before its batch commits: what a kill of the claims service in
the middle of a reaction leaves. test_disputes_api.py then starts the claims service on the same
schema and checks that the reaction takes effect once.

Settings from the environment: BOOTSTRAP, DATABASE_URL, TOPIC, SCHEMA, GROUP.
"""

from __future__ import annotations

import asyncio
import os
import signal

from amiable_claims.adapters.projector import ClaimsProjector
from amiable_claims.app.reactions import reactions
from amiable_claims.main import policy
from amiable_claims.settings import ClaimsSettings
from amiable_events.catalog import REGISTRY
from amiable_events.db import create_engine
from amiable_events.producer import EventLog
from amiable_events.projection import ProjectionRunner, ProjectionStore
from amiable_events.reactions import Reactor


class CrashingLog(EventLog):
    """Appends, then dies at once: the batch's transaction never commits."""

    async def append(self, envelopes, **options):
        appended = await super().append(envelopes, **options)
        os.kill(os.getpid(), signal.SIGKILL)
        return appended


async def main() -> None:
    env = os.environ
    log = CrashingLog(env["BOOTSTRAP"], topic=env["TOPIC"], client_id="reacting-claims")
    await log.start()
    engine = create_engine(env["DATABASE_URL"], "amiable_claims")
    store = ProjectionStore(
        ClaimsProjector(policy(ClaimsSettings(env="dev"))),
        engine,
        REGISTRY,
        schema=env["SCHEMA"],
        reactor=Reactor(reactions(policy(ClaimsSettings(env="dev")))),
        log=log,
    )
    runner = ProjectionRunner(
        store,
        bootstrap=env["BOOTSTRAP"],
        topic=env["TOPIC"],
        dlq_producer=log,
        group_id=env["GROUP"],
    )
    await runner.start()
    await asyncio.Event().wait()  # until the first reaction kills it


if __name__ == "__main__":
    asyncio.run(main())
