"""The tenant's creditor profile (what its letters state) and each debtor's contact
preferences (opt-out, preferred channel, language)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Path

from amiable_communications.api.deps import INVALID, UNAVAILABLE, HandlerDep, ReaderDep, WriterDep
from amiable_communications.api.models import PreferencesIn, PreferencesOut, ProfileIn, ProfileOut
from amiable_communications.domain.commands import SetContactPreferences, SetCreditorProfile
from amiable_communications.domain.state import Account, Preferences
from amiable_events.communications import CreditorProfile
from amiable_events.errors import Invalid

router = APIRouter(tags=["profiles"])

DebtorPath = Annotated[str, Path(description="Your id for the customer", max_length=100)]
DEBTOR_NOT_FOUND = {404: {"description": "No claim of this tenant on that debtor"}}


def _profile(row: dict) -> ProfileOut:
    return ProfileOut(
        profile=orjson.loads(row["profile"]), set_by=row["set_by"], set_at=row["set_at"]
    )


def _creditor_profile(body: ProfileIn) -> CreditorProfile:
    """The contract's profile, once the rule no schema states holds: letters come from an agency
    exactly in the collection_agency sender mode."""
    if (body.sender_mode == "collection_agency") != (body.agency is not None):
        reason = "required" if body.agency is None else "only"
        raise Invalid.field(
            "agency", f"{reason} when the sender mode is collection_agency (the letters name it)"
        )
    return CreditorProfile.model_validate(body.model_dump())


def _preferences(account: Account) -> PreferencesOut:
    return PreferencesOut(debtor_id=account.debtor_id, **account.preferences.model_dump())


@router.get(
    "/v1/creditor-profile",
    operation_id="getCreditorProfile",
    responses={404: {"description": "No profile set yet"}, **UNAVAILABLE},
    summary="The tenant's identity and payment details, as its letters state them",
)
async def get_profile(principal: ReaderDep, handler: HandlerDep) -> ProfileOut:
    return _profile(await handler.profile(principal.tenant))


@router.put(
    "/v1/creditor-profile",
    operation_id="setCreditorProfile",
    responses={
        422: {
            "description": "Invalid fields, or an agency without the collection_agency "
            "sender mode (or that mode without one)"
        },
        **UNAVAILABLE,
    },
    summary="Set the whole profile (CreditorProfileSet, a tenant event): legal name, address, "
    "registration number, IBAN and reference format, reply contact, sender mode",
)
async def set_profile(body: ProfileIn, command: WriterDep, handler: HandlerDep) -> ProfileOut:
    replayed = await handler.set_profile(
        command.tenant,
        SetCreditorProfile(profile=_creditor_profile(body), set_by=command.principal.actor),
        correlation_id=command.correlation_id,
        idempotency=command.idempotency(body),
    )
    command.answered(replayed)
    return _profile(await handler.profile(command.tenant))


@router.get(
    "/v1/debtors/{debtor_id}/contact-preferences",
    operation_id="getContactPreferences",
    responses={**DEBTOR_NOT_FOUND, **UNAVAILABLE},
    summary="How the debtor wants to be contacted (the defaults when never set)",
)
async def get_preferences(
    debtor_id: DebtorPath, principal: ReaderDep, handler: HandlerDep
) -> PreferencesOut:
    return _preferences(await handler.account(principal.tenant, debtor_id))


@router.put(
    "/v1/debtors/{debtor_id}/contact-preferences",
    operation_id="setContactPreferences",
    responses={**DEBTOR_NOT_FOUND, **INVALID, **UNAVAILABLE},
    summary="Set the debtor's opt-out (whole or per channel), preferred channel and language "
    "(ContactPreferencesSet): the contact governor follows them from now on",
)
async def set_preferences(
    debtor_id: DebtorPath, body: PreferencesIn, command: WriterDep, handler: HandlerDep
) -> PreferencesOut:
    replayed = await handler.execute(
        command.tenant,
        SetContactPreferences(
            debtor_id=debtor_id,
            preferences=Preferences(
                opted_out=body.opted_out,
                opted_out_channels=tuple(body.opted_out_channels),
                preferred_channel=body.preferred_channel,
                language=body.language,
            ),
            set_by=command.principal.actor,
        ),
        correlation_id=command.correlation_id,
        idempotency=command.idempotency(body),
    )
    command.answered(replayed)
    return _preferences(await handler.account(command.tenant, debtor_id))
