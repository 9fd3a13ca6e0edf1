"""The baseline for the command path: a bare Starlette endpoint that answers a POST with its
own body, served by uvicorn with the service's settings (uvloop, httptools, no access log) in
a process of its own. What the same load generator gets from it, on the same machine in the
same run, is what Python, uvicorn and loopback HTTP cost without any of our work."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def echo(request: Request) -> Response:
    return Response(await request.body(), media_type="application/json")


app = Starlette(routes=[Route("/echo", echo, methods=["POST"])])
