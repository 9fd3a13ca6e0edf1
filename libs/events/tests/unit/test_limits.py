"""The request body cap (issue 7, "the import reads everything before checking size"): 413
problem+json before the app reads past the cap, whether the body declares its length or
streams in chunks."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, Request

from amiable_events.http import install_problem_handlers
from amiable_events.limits import BodyLimit

CAP = 1_000
BULK_CAP = 10_000


def capped_app() -> tuple[FastAPI, list[int]]:
    """An app whose routes record how many body bytes they got to read."""
    read: list[int] = []
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(
        BodyLimit, limit_for=lambda path: BULK_CAP if path.endswith(":import") else CAP
    )

    @app.post("/v1/things")
    async def things(body: dict) -> dict:
        read.append(len(str(body)))
        return {"ok": True}

    @app.post("/v1/things:import")
    async def bulk(request: Request) -> dict:
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            read.append(size)
        return {"size": size}

    return app, read


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_a_declared_length_over_the_cap_is_refused_before_the_route_runs():
    app, read = capped_app()
    async with client(app) as api:
        answer = await api.post(
            "/v1/things",
            content=b'{"a": "' + b"x" * 5_000 + b'"}',
            headers={"Content-Type": "application/json"},
        )
    assert answer.status_code == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["title"] == "Request body too large"
    assert read == []


async def test_a_streamed_body_is_cut_at_the_cap():
    app, read = capped_app()
    sent = []

    async def chunks():
        for _ in range(100):
            sent.append(500)
            yield b"x" * 500

    async with client(app) as api:
        answer = await api.post("/v1/things:import", content=chunks())
    assert answer.status_code == 413
    assert answer.json()["detail"] == f"the body of this route is at most {BULK_CAP} bytes"
    assert max(read) <= BULK_CAP  # the route never saw a byte past the cap
    assert sum(sent) < 100 * 500  # and the rest was never pulled from the client


async def test_a_streamed_json_body_over_the_cap_is_a_413_not_a_400():
    app, read = capped_app()

    async def chunks():
        yield b'{"a": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}'

    async with client(app) as api:
        answer = await api.post(
            "/v1/things", content=chunks(), headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 413
    assert read == []


async def test_bodies_within_their_caps_pass():
    app, _ = capped_app()
    async with client(app) as api:
        small = await api.post("/v1/things", json={"a": "x" * 100})
        bulk = await api.post("/v1/things:import", content=b"x" * 5_000)
    assert small.status_code == 200
    assert bulk.json() == {"size": 5_000}
