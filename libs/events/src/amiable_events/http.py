"""HTTP conventions shared by every service: RFC 9457 problem details, health and admin routes,
and the headers every command route reads (correlation id, Idempotency-Key)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from amiable_events.auth import Principal, require_scope
from amiable_events.commands import Idempotency
from amiable_events.errors import ApplicationError, Invalid, Unavailable
from amiable_events.idempotency import fingerprint
from amiable_events.metrics import exposition
from amiable_events.outages import OUTAGE_TYPES, outage

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
#: Seconds a client waits before retrying when PostgreSQL or the broker is down.
RETRY_AFTER_OUTAGE = 2
#: Seconds /readyz waits for the lag before answering not ready.
READY_TIMEOUT = 2.0

CorrelationDep = Annotated[uuid.UUID | None, Header(alias="X-Correlation-Id")]
IdempotencyKeyDep = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=255,
        description="Unique per subject (a claim, a debtor) and command: a retry with the same "
        "key and body changes nothing and answers the current state with "
        "`Idempotent-Replayed: true`; the same key on another body is a 422",
    ),
]


def idempotency(request: Request, key: str | None, body: Any = None) -> Idempotency | None:
    """The request's Idempotency-Key with the fingerprint of its path and body (a pydantic
    model), or None without a key."""
    if not key:
        return None
    payload = body.model_dump(mode="json") if body is not None else None
    return Idempotency(key, fingerprint(request.url.path, payload))


@dataclass(frozen=True)
class CommandRequest:
    """What a command route needs besides its body and its service's handler: the writing
    caller, the request's correlation id and Idempotency-Key, and the response, to mark a
    replay."""

    principal: Principal
    request: Request
    response: Response
    correlation_id: uuid.UUID | None
    idempotency_key: str | None

    @property
    def tenant(self) -> str:
        return self.principal.tenant

    def idempotency(self, body: Any = None) -> Idempotency | None:
        return idempotency(self.request, self.idempotency_key, body)

    def answered(self, replayed: bool) -> None:
        """A retry of a request already carried out is answered with the current state, so
        marked."""
        if replayed:
            self.response.headers["Idempotent-Replayed"] = "true"


def command_request(scope: str):
    """The dependency giving a command route its :class:`CommandRequest` once the caller holds
    ``scope``."""

    # A default, not an annotation: annotations are strings here, resolved at module level,
    # where ``scope`` does not exist.
    async def dependency(
        request: Request,
        response: Response,
        principal: Principal = Depends(require_scope(scope)),  # noqa: B008
        correlation_id: CorrelationDep = None,
        idempotency_key: IdempotencyKeyDep = None,
    ) -> CommandRequest:
        return CommandRequest(principal, request, response, correlation_id, idempotency_key)

    return dependency


def problem_response(
    request: Request, status: int, title: str, detail: str | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "instance": request.url.path}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _methods_on(request: Request) -> list[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _without_location(loc: tuple) -> tuple:
    return loc[1:] if loc and loc[0] in ("body", "query", "path", "header", "cookie") else loc


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApplicationError)
    async def _application(request: Request, exc: ApplicationError) -> JSONResponse:
        """The one place where an application error becomes an HTTP answer."""
        extra = dict(exc.extra)
        if isinstance(exc, Invalid):
            extra["errors"] = [{"field": e.field, "reason": e.reason} for e in exc.errors]
        answer = problem_response(request, exc.status, exc.title, exc.detail, **extra)
        if isinstance(exc, Unavailable):
            answer.headers["Retry-After"] = str(exc.retry_after)
        return answer

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                # A field is named as the client sent it: 'debtor.id', 'as_of', 'cursor'
                # (not where FastAPI found it: 'body', 'query', 'path', 'header').
                "field": ".".join(str(part) for part in _without_location(error["loc"])),
                "reason": error["msg"].removeprefix("Value error, "),
            }
            for error in exc.errors()
        ]
        return problem_response(
            request, 422, "Invalid request", f"{len(errors)} field(s) are invalid", errors=errors
        )

    async def _outage(request: Request, exc: Exception) -> JSONResponse:
        down = outage(exc)
        if down is None:
            log.exception("unhandled error on %s %s", request.method, request.url.path)
            return problem_response(request, 500, "Internal error", "the error was logged")
        # A dependency is down: nothing was half-written, the client retries. One line, no
        # traceback (an outage would flood the log) and no exception text (it may hold SQL).
        log.warning(
            "%s unavailable on %s %s: %s",
            down,
            request.method,
            request.url.path,
            type(exc).__name__,
        )
        what = "event log" if down == "log" else "database"
        answer = problem_response(
            request, 503, "Service unavailable", f"the {what} is unreachable; retry"
        )
        answer.headers["Retry-After"] = str(RETRY_AFTER_OUTAGE)
        return answer

    # Registered per class, not only under Exception: Starlette re-raises what reaches its
    # catch-all handler, and uvicorn then logs a traceback and drops the keep-alive connection.
    for kind in OUTAGE_TYPES:
        app.add_exception_handler(kind, _outage)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        if outage(exc) is not None:
            return await _outage(request, exc)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, 500, "Internal error", "the error was logged")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        answer = problem_response(request, exc.status_code, str(exc.detail))
        answer.headers.update(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names the methods of the first route on the path; the client needs
            # those of every route on it.
            answer.headers["Allow"] = ", ".join(_methods_on(request))
        return answer

    document_problems(app)


#: The problem details every answer other than a success carries (RFC 9457), as documented.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details. A 422 lists every invalid field in `errors`.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string", "description": "'about:blank'"},
        "title": {"type": "string", "description": "The kind of problem"},
        "status": {"type": "integer", "description": "The HTTP status"},
        "detail": {"type": "string", "description": "What happened, for a human"},
        "instance": {"type": "string", "description": "The request path"},
        "errors": {
            "type": "array",
            "description": "422: each invalid field (dotted path) and why",
            "items": {
                "type": "object",
                "required": ["field", "reason"],
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
    "additionalProperties": True,
}

#: What each documented problem status means, on any operation of any service.
PROBLEMS = {
    400: "Malformed request",
    401: "No valid bearer token (missing, expired, badly signed, or a claim of the wrong type)",
    403: "The token lacks the scope the operation needs",
    404: "No such resource for this tenant",
    405: "Method not allowed on this path",
    409: "The resource's state forbids the operation",
    413: "Request body over the size limit",
    415: "Unsupported content type",
    422: "Invalid fields, each named with the reason",
    503: "Temporarily unavailable; retry after `Retry-After` seconds",
}


def _not_null(parameter: dict[str, Any]) -> None:
    """An optional parameter is one a client leaves out: a query or header value is text, and
    the text 'null' is not its absence. FastAPI writes ``T | None`` as anyOf [T, null]."""
    schema = parameter.get("schema", {})
    kinds = schema.get("anyOf")
    if kinds and {"type": "null"} in kinds and len(kinds) == 2:
        [kind] = [k for k in kinds if k != {"type": "null"}]
        rest = {k: v for k, v in schema.items() if k != "anyOf"}
        parameter["schema"] = {**kind, **rest}


def document_problems(app: FastAPI) -> None:
    """State in the OpenAPI document what every operation can answer besides success: each
    problem status with the problem+json schema (replacing FastAPI's own 422 shape, which this
    service never sends). An operation keeps its own description of a status."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas["Problem"] = PROBLEM_SCHEMA
        for name in ("HTTPValidationError", "ValidationError"):
            schemas.pop(name, None)
        content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for operations in spec.get("paths", {}).values():
            for operation in operations.values():
                for parameter in operation.get("parameters", []):
                    _not_null(parameter)
                responses = operation.setdefault("responses", {})
                for status, description in PROBLEMS.items():
                    answer = responses.setdefault(str(status), {"description": description})
                    answer["content"] = content
                    if status == 503:
                        answer["headers"] = {
                            "Retry-After": {
                                "description": "Seconds to wait before retrying",
                                "schema": {"type": "integer"},
                            }
                        }
        app.openapi_schema = spec
        return spec

    app.openapi = openapi


def operations_router(runner_of) -> APIRouter:
    """Health, readiness, metrics and the projection admin routes.

    ``runner_of(request)`` returns the service's ProjectionRunner.
    """
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", operation_id="healthz")
    async def healthz(request: Request) -> JSONResponse:
        """503 when the projection runner or the timer loop has died (both are supervised and
        restart after a failure, so a dead one is a bug): the orchestrator restarts the pod."""
        runner = runner_of(request)
        timers = getattr(request.app.state, "timers", None)
        dead = [
            name
            for name, task in (("projection", runner), ("timers", timers))
            if task is not None and not task.alive
        ]
        if dead:
            return JSONResponse({"status": "dead", "dead": dead}, status_code=503)
        return JSONResponse({"status": "ok"})

    @router.get("/readyz", operation_id="readyz")
    async def readyz(request: Request) -> JSONResponse:
        runner = runner_of(request)
        try:
            # Bounded: with the broker down the end offsets never come.
            lag = await asyncio.wait_for(runner.lag(), READY_TIMEOUT)
        except Exception as exc:
            if not isinstance(exc, TimeoutError) and outage(exc) is None:
                raise
            lag = None
        max_lag = request.app.state.settings.ready_max_lag
        ready = lag is not None and lag <= max_lag
        return JSONResponse(
            {"ready": ready, "lag": lag, "max_lag": max_lag, "last_error": runner.last_error},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", operation_id="metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        """Prometheus text, or OpenMetrics (with exemplars) when the scraper asks for it."""
        body, content_type = await exposition(request.headers.get("accept"))
        return Response(body, media_type=content_type)

    return router
