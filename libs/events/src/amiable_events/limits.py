"""Request body cap, for every service: an ASGI middleware that answers 413 problem+json as soon
as a body is known to be over its cap, before the app reads past it.

A declared ``Content-Length`` over the cap is refused before a byte of the body is read; a body
without one (chunked) is counted as it streams in, and refused once it passes the cap. The app
never sees more than the cap, however it reads the body, so a large upload costs the service
at most the cap in memory. Bulk routes (paths ending in ``:import``) get a larger cap of their
own: they stream and parse the body row by row.
"""

from __future__ import annotations

from collections.abc import Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PROBLEM_JSON = b"application/problem+json"


class _BodyTooLarge(Exception):
    """Raised into the app by ``receive`` once the body passed the cap."""


class BodyLimit:
    """Refuse request bodies over ``limit_for(path)`` bytes with 413."""

    def __init__(self, app: ASGIApp, *, limit_for: Callable[[str], int]) -> None:
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = self.limit_for(path)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, path, limit)
            return
        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            # Whatever the app made of the interrupted read (its own 400 or 500), the answer
            # is the 413.
            if exceeded:
                return
            started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await _too_large(send, path, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _too_large(send: Send, path: str, limit: int) -> None:
    body = orjson.dumps(
        {
            "type": "about:blank",
            "title": "Request body too large",
            "status": 413,
            "detail": f"the body of this route is at most {limit} bytes",
            "instance": path,
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", PROBLEM_JSON),
                (b"content-length", str(len(body)).encode()),
                # No "Connection: close": the server then discards the rest of the body as it
                # arrives (never holding it) and the client, still sending, gets this answer
                # instead of a connection reset.
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
