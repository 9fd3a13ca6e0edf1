"""HTTP conventions shared by every service: RFC 9457 problem details, health and admin routes."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from amiable_events.errors import ApplicationError, Invalid, Unavailable

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem_response(
    request: Request, status: int, title: str, detail: str | None = None, **extra: Any
) -> JSONResponse:
    body = {"type": "about:blank", "title": title, "status": status, "instance": request.url.path}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


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
                "field": ".".join(str(part) for part in error["loc"] if part != "body"),
                "reason": error["msg"].removeprefix("Value error, "),
            }
            for error in exc.errors()
        ]
        return problem_response(
            request, 422, "Invalid request", f"{len(errors)} field(s) are invalid", errors=errors
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(request, 500, "Internal error", "the error was logged")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(request, exc.status_code, str(exc.detail))


def operations_router(runner_of) -> APIRouter:
    """Health, readiness, metrics and the projection admin routes.

    ``runner_of(request)`` returns the service's ProjectionRunner.
    """
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", operation_id="healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", operation_id="readyz")
    async def readyz(request: Request) -> JSONResponse:
        runner = runner_of(request)
        lag = await runner.lag()
        max_lag = request.app.state.settings.ready_max_lag
        ready = lag is not None and lag <= max_lag
        return JSONResponse(
            {"ready": ready, "lag": lag, "max_lag": max_lag, "last_error": runner.last_error},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", operation_id="metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
