"""Projection admin routes every service exposes (scope ``admin``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from amiable_events.auth import Principal, require_scope

AdminDep = Annotated[Principal, Depends(require_scope("admin"))]


class UnparkRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"accounts": ["acme:C-42"]}]})

    accounts: list[str] | None = Field(None, description="Debtor accounts; all when absent")


def admin_router(runner_of) -> APIRouter:
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get("/state-digest", operation_id="stateDigest")
    async def state_digest(request: Request, _: AdminDep) -> dict[str, Any]:
        """A hash of the projection's rows and stored offsets: equal after a rebuild."""
        return await runner_of(request).store.digest()

    @router.get("/parked", operation_id="listParked")
    async def parked(request: Request, _: AdminDep) -> dict[str, Any]:
        """Debtor accounts whose events wait after an apply failure."""
        return {"accounts": await runner_of(request).store.parked()}

    @router.post("/unpark", operation_id="unpark")
    async def unpark(
        request: Request,
        _: AdminDep,
        body: Annotated[UnparkRequest | None, Body(examples=[{"accounts": ["acme:C-42"]}])] = None,
    ):
        """Replay parked accounts' events with the code now deployed."""
        runner = runner_of(request)
        outcome = await runner.store.unpark(body.accounts if body else None)
        await runner.refresh_parked_metric()
        return {"accounts": outcome}

    return router
