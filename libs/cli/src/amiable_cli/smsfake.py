"""A fake SMS gateway for development and tests, never for production: it sends nothing.

``amiable stack up`` runs it as ``python -m amiable_cli.smsfake --port N --folder DIR``:

- ``POST /messages`` ``{"to": "+33612345678", "text": "...", "reference": "..."}`` answers 202
  ``{"id": ...}`` and keeps the message (one JSON line in ``DIR/messages.jsonl``);
- a ``to`` that is not an E.164 number (``+``, then up to 15 digits, not starting with 0), or a
  missing ``text``, is refused with 422 ``{"error": ...}``;
- a valid number ending in ``000`` gets 503 with ``Retry-After: 1``, as a gateway outage would,
  so failure paths can be tested; neither a refused nor a failed message is kept;
- ``GET /messages`` (``?to=`` for one number) lists what was kept, oldest first;
- ``GET /healthz`` answers 200.
"""

from __future__ import annotations

import argparse
import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

E164 = re.compile(r"\+[1-9]\d{1,14}")
#: A number ending like this gets a simulated gateway error.
FAILING_SUFFIX = "000"


def _refused(reason: str) -> JSONResponse:
    return JSONResponse({"error": reason}, status_code=422)


def create_app(folder: Path) -> Starlette:
    folder.mkdir(parents=True, exist_ok=True)
    kept = folder / "messages.jsonl"

    async def send(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return _refused("the body is not JSON")
        if not isinstance(body, dict):
            return _refused("the body is not a JSON object")
        to, text, reference = body.get("to"), body.get("text"), body.get("reference")
        if not isinstance(to, str) or not E164.fullmatch(to):
            return _refused(f"to: {to!r} is not an E.164 number (+ and up to 15 digits)")
        if not isinstance(text, str) or not text:
            return _refused("text: a non-empty string is required")
        if reference is not None and not isinstance(reference, str):
            return _refused("reference: a string, when given")
        if to.endswith(FAILING_SUFFIX):
            return JSONResponse(
                {"error": f"simulated gateway outage for numbers ending in {FAILING_SUFFIX}"},
                status_code=503,
                headers={"Retry-After": "1"},
            )
        message = {
            "id": uuid.uuid4().hex,
            "to": to,
            "text": text,
            "reference": reference,
            "received_at": datetime.now(UTC).isoformat(),
        }
        # one process, one event loop, one small write: lines never interleave
        with kept.open("a") as out:
            out.write(json.dumps(message) + "\n")
        return JSONResponse({"id": message["id"]}, status_code=202)

    async def listed(request: Request) -> JSONResponse:
        to = request.query_params.get("to")
        lines = kept.read_text().splitlines() if kept.exists() else []
        messages = [json.loads(line) for line in lines if line]
        return JSONResponse(
            {"messages": [message for message in messages if to is None or message["to"] == to]}
        )

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/messages", send, methods=["POST"]),
            Route("/messages", listed, methods=["GET"]),
            Route("/healthz", healthz),
        ]
    )


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--folder", type=Path, required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_app(args.folder), host=args.host, port=args.port, log_level="info", access_log=False
    )


if __name__ == "__main__":
    main()
