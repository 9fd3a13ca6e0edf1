"""``raw``: a statement cut short while PostgreSQL does not answer (the server killed, the
network gone quiet, the request given up) does not leave its connection in the pool believing
an operation is still in progress: once the server answers again, the next use works."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from sqlalchemy.engine import make_url

from amiable_events.db import create_engine, raw

pytestmark = pytest.mark.integration


class Silence:
    """A TCP relay to PostgreSQL that can lose what it is given without closing anything, as
    a server that died without its sockets being closed looks from the client."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.quiet = False
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _relay(self, reader, writer) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)

        async def pipe(source, sink) -> None:
            with contextlib.suppress(Exception):
                while data := await source.read(65536):
                    if self.quiet:
                        continue  # lost, as on the way to a dead server
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_a_statement_given_up_on_a_silent_server_does_not_poison_the_pool(infra):
    url = make_url(infra.database_url)
    silence = Silence(url.host, url.port)
    port = await silence.start()
    relayed = url.set(port=port).render_as_string(False)
    engine = create_engine(relayed, "amiable_claims", pool_size=1)
    try:
        async with raw(engine) as conn:
            assert await conn.fetchval("SELECT 1") == 1
        silence.quiet = True
        for _ in range(2):
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0.5):
                    async with raw(engine) as conn:
                        await conn.fetchval("SELECT 2")
        silence.quiet = False
        async with asyncio.timeout(10):
            async with raw(engine) as conn:
                assert await conn.fetchval("SELECT 3") == 3
    finally:
        silence.quiet = False
        await engine.dispose()
        await silence.stop()
