"""``POST /v1/templates/preview``: any template rendered for a claim, as a message written now
would read (the claim's figures today, the debtor's language unless another is asked for, the
tenant's creditor profile, the contact's name and address opened). Nothing is queued or sent."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from amiable_communications.api.deps import UNAVAILABLE, ComposerDep, ReaderDep
from amiable_communications.app.writer import Refused
from amiable_communications.domain.react import kind_of
from amiable_communications.domain.state import Comm
from amiable_communications.domain.templates import KEYS
from amiable_events.dunning import Channel, Tone
from amiable_events.errors import Conflict, FieldError, Invalid, NotFound

router = APIRouter(tags=["templates"])


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    claim_id: uuid.UUID
    template: str = Field(max_length=100, examples=["email.reminder"])
    language: str | None = Field(
        None, max_length=35, description="BCP 47; the debtor's language when absent"
    )
    tone: Tone = "neutral"
    channel: Channel = "email"


class PreviewOut(BaseModel):
    subject: str
    body: str
    language_used: str = Field(description="The templates' language (English when none fits)")
    locale: str = Field(description="The BCP 47 locale figures are formatted in")


@router.post(
    "/v1/templates/preview",
    operation_id="previewTemplate",
    responses={
        404: {"description": "No such claim for this tenant (or not read yet)"},
        409: {"description": "No message can be written now: the reason says why"},
        422: {"description": "Unknown template, or invalid fields"},
        **UNAVAILABLE,
    },
    summary="Render a template for a claim, as a message written now would read",
)
async def preview(body: PreviewIn, principal: ReaderDep, writer: ComposerDep) -> PreviewOut:
    if body.template not in KEYS:
        raise Invalid([FieldError("template", f"no template {body.template!r}")])
    account = await writer.account_of_claim(principal.tenant, body.claim_id)
    if account is None or account.claim(str(body.claim_id)) is None:
        raise NotFound(f"no claim {body.claim_id}")
    now = writer.clock.now()
    comm = Comm(
        communication_id=str(uuid.uuid4()),
        claim_id=str(body.claim_id),
        claims=(str(body.claim_id),),
        purpose="dunning_step",
        cause_id=str(body.claim_id),
        channel=body.channel,
        template=body.template,
        tone=body.tone,
        language=body.language or account.speaks,
        kind=kind_of("dunning_step", body.channel),
        status="queued",
        at=now,
        # As dunning sets it on a formal notice's day when the policy names none.
        payment_deadline=now.date() + timedelta(days=8),
    )
    try:
        written = await writer.write(account, comm, addressed=False)
    except Refused as exc:
        raise Conflict(f"no message can be written: {exc}", reason=str(exc)) from exc
    rendered = written.rendered
    return PreviewOut(
        subject=written.message.subject,
        body=written.message.body,
        language_used=rendered.language_used,
        locale=rendered.locale,
    )
