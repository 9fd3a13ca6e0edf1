"""Projection admin routes every service exposes (scope ``admin``).

A tenant's ``admin`` acts on its own debtor accounts only (``<tenant>:*``): parked accounts are
keyed by account, and their reasons speak of that tenant's data. What spans every tenant (the
digest of the whole projection, unparking any account) needs an operator token: one issued for
``AMIABLE_OPERATOR_AUDIENCE`` (see docs/api.md), with scope ``admin``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from amiable_events.auth import Principal, require_scope
from amiable_events.envelope import account_key
from amiable_events.errors import Forbidden

AdminDep = Annotated[Principal, Depends(require_scope("admin"))]


def _operator(principal: Principal) -> None:
    if not principal.operator:
        raise Forbidden(
            "this operation spans every tenant: it needs an operator token "
            "(the operator audience, scope admin)",
            title="Operator only",
        )


def _own(principal: Principal, account: str) -> bool:
    """Whether ``principal`` may act on debtor ``account``: its tenant's, or any for an
    operator."""
    return principal.operator or account.startswith(account_key(principal.tenant, ""))


class UnparkRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"accounts": ["acme:C-42"]}]})

    accounts: list[str] | None = Field(None, description="Debtor accounts; all when absent")


def admin_router(runner_of) -> APIRouter:
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get("/state-digest", operation_id="stateDigest")
    async def state_digest(request: Request, principal: AdminDep) -> dict[str, Any]:
        """A hash of the projection's rows and stored offsets: equal after a rebuild.
        Operator only: it covers every tenant."""
        _operator(principal)
        return await runner_of(request).store.digest()

    @router.get("/parked", operation_id="listParked")
    async def parked(request: Request, principal: AdminDep) -> dict[str, Any]:
        """The tenant's debtor accounts whose events wait after an apply failure (every
        tenant's for an operator)."""
        accounts = await runner_of(request).store.parked()
        return {"accounts": [row for row in accounts if _own(principal, row["account"])]}

    @router.post("/unpark", operation_id="unpark")
    async def unpark(
        request: Request,
        principal: AdminDep,
        body: Annotated[UnparkRequest | None, Body(examples=[{"accounts": ["acme:C-42"]}])] = None,
    ):
        """Replay parked accounts' events with the code now deployed: the tenant's own
        accounts (another tenant's are ignored, as if not parked), any for an operator."""
        runner = runner_of(request)
        wanted = body.accounts if body and body.accounts is not None else None
        if not principal.operator:
            if wanted is None:
                wanted = [row["account"] for row in await runner.store.parked()]
            wanted = [account for account in wanted if _own(principal, account)]
        return {"accounts": await runner.unpark(wanted)}

    return router
