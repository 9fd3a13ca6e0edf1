"""Debtor accounts: erasing a debtor's personal data (scope ``debtors:erase``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from amiable_claims.api.deps import HandlerDep
from amiable_claims.app.erasure import erase_debtor
from amiable_events.auth import Principal, require_scope
from amiable_events.http import CorrelationDep
from amiable_events.inputs import Text

router = APIRouter(prefix="/v1/debtors", tags=["debtors"])

EraserDep = Annotated[Principal, Depends(require_scope("debtors:erase"))]


class ErasureOut(BaseModel):
    debtor_id: str
    erased_at: datetime
    event_id: uuid.UUID = Field(description="The DebtorPersonalDataErased event on the log")


@router.delete(
    "/{debtor_id}/personal-data",
    operation_id="eraseDebtorPersonalData",
    response_model=ErasureOut,
    responses={
        404: {"description": "The tenant has no claim on this debtor"},
        503: {"description": "The log or the read model is unavailable; retry"},
    },
)
async def erase_personal_data(
    debtor_id: Annotated[Text(100), Path(description="Your own id for the customer")],
    principal: EraserDep,
    handler: HandlerDep,
    correlation_id: CorrelationDep = None,
) -> ErasureOut:
    """Erase the debtor's personal data (names, emails, phones, addresses, contact roles,
    descriptions): its key is shredded and `DebtorPersonalDataErased` appended. From the answer
    on, every read of the debtor's claims, on every replica, shows `[erased]`; the claims and
    their amounts stay."""
    erasure = await erase_debtor(
        handler, principal.tenant, debtor_id, correlation_id=correlation_id
    )
    return ErasureOut(
        debtor_id=erasure.debtor_id, erased_at=erasure.erased_at, event_id=erasure.event_id
    )
