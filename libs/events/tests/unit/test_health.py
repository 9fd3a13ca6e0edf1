"""/healthz fails when the projection runner or the timer loop has died (both are supervised,
so a dead one is a bug the orchestrator answers with a restart)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from amiable_events.http import operations_router


def _client(runner_alive: bool, timers_alive: bool | None) -> TestClient:
    app = FastAPI()
    runner = SimpleNamespace(alive=runner_alive)
    app.state.timers = None if timers_alive is None else SimpleNamespace(alive=timers_alive)
    app.include_router(operations_router(lambda request: runner))
    return TestClient(app)


@pytest.mark.parametrize(
    ("runner", "timers", "status", "dead"),
    [
        (True, True, 200, None),
        (True, None, 200, None),
        (False, True, 503, ["projection"]),
        (True, False, 503, ["timers"]),
    ],
)
def test_healthz_fails_when_a_supervised_task_is_dead(runner, timers, status, dead) -> None:
    answer = _client(runner, timers).get("/healthz")
    assert answer.status_code == status
    assert answer.json().get("dead") == dead
