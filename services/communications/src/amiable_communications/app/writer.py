"""Writes a message from the live projection: the debtor account's state, the tenant's creditor
profile and what is sealed (the contact, the postal address) opened with the account's key,
composed and rendered on the service's clock. The sender writes what it sends with it, and the
preview writes what a message would say now.

A tenant without a creditor profile sends nothing: every template states how to pay and who
writes, and a letter or a formal notice must name the parties, so a message without them would
be incomplete (it fails, ``no_creditor_profile``). An erased debtor gets nothing either: what
would address it reads ``[erased]`` (``debtor_erased``).
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson

from amiable_communications.adapters.channels import Outgoing
from amiable_communications.adapters.projector import load_accounts
from amiable_communications.domain.compose import NothingToSay, Personal, write
from amiable_communications.domain.state import Account, Comm
from amiable_communications.domain.templates import MissingContext, Rendered
from amiable_events.clock import Clock
from amiable_events.communications import CreditorProfile
from amiable_events.ledger import Figures
from amiable_events.personal import ERASED, Sealer
from amiable_events.projection import ProjectionStore

_PROFILE = "SELECT profile FROM {schema}.creditor_profiles WHERE tenant = $1"
_ACCOUNT_OF_CLAIM = """SELECT a.state FROM {schema}.communication_claims c
    JOIN {schema}.communication_accounts a USING (tenant, debtor_id)
    WHERE c.tenant = $1 AND c.claim_id = $2"""


class Refused(Exception):
    """The message cannot be written: it fails with this reason."""


@dataclass(frozen=True)
class Written:
    message: Outgoing
    rendered: Rendered


class Writer:
    def __init__(
        self, store: ProjectionStore, sealer: Sealer, clock: Clock, figures: Figures
    ) -> None:
        self.store = store
        self.sealer = sealer
        self.clock = clock
        self.figures = figures

    async def account(self, tenant: str, debtor_id: str) -> Account | None:
        async with self.store.raw() as conn:
            found = await load_accounts(
                conn, f'"{self.store.schema}".communication_accounts', [(tenant, debtor_id)]
            )
        return found.get((tenant, debtor_id))

    async def account_of_claim(self, tenant: str, claim_id: UUID) -> Account | None:
        row = await self.store.fetchrow(_ACCOUNT_OF_CLAIM, tenant, claim_id)
        return None if row is None else Account.model_validate_json(row["state"])

    async def profile(self, tenant: str) -> CreditorProfile | None:
        row = await self.store.fetchrow(_PROFILE, tenant)
        if row is None:
            return None
        profile = row["profile"]
        return CreditorProfile.model_validate(
            orjson.loads(profile) if isinstance(profile, str | bytes) else profile
        )

    async def message(
        self, tenant: str, debtor_id: str, communication_id: UUID, *, addressed: bool = True
    ) -> Written:
        """The message ``communication_id`` as it goes out now, or why it cannot."""
        account = await self.account(tenant, debtor_id)
        comm = None if account is None else account.comm(str(communication_id))
        if account is None or comm is None:
            raise Refused("unknown_communication")
        return await self.write(account, comm, addressed=addressed)

    async def write(self, account: Account, comm: Comm, *, addressed: bool = True) -> Written:
        """``addressed``: the message must have its recipient's address (a preview need not)."""
        if account.erased:
            raise Refused("debtor_erased")
        profile = await self.profile(account.tenant)
        if profile is None:
            raise Refused("no_creditor_profile")
        personal = await self._personal(account, comm)
        now = self.clock.now()
        written_on = now.astimezone(ZoneInfo(account.timezone or "UTC")).date()
        rendered = self._render(account, comm, profile, written_on, personal)
        subject, body = await self._edited(account, comm, rendered)
        to = personal.email if comm.channel == "email" else personal.phone
        if addressed and comm.channel in ("email", "sms") and not to:
            raise Refused("no_address")
        sender = profile.sender
        message = Outgoing(
            communication_id=UUID(comm.communication_id),
            tenant=account.tenant,
            debtor_id=account.debtor_id,
            channel=comm.channel,
            subject=subject,
            body=body,
            language=rendered.language_used,
            to=to,
            reply_to=profile.reply_email,
            sent_at=now,
            address_lines=(account.legal_name, *personal.address_lines),
            sender_lines=(sender.legal_name, *sender.address),
        )
        return Written(message, rendered)

    def _render(self, account, comm, profile, written_on, personal) -> Rendered:
        try:
            return write(account, comm, profile, self.figures, written_on, personal)
        except NothingToSay as exc:
            raise Refused("claim_closed") from exc
        except (MissingContext, KeyError, ValueError) as exc:
            raise Refused(f"cannot_render: {exc}"[:500]) from exc

    async def _edited(self, account: Account, comm: Comm, rendered: Rendered) -> tuple[str, str]:
        """A reviewer's edit replaces what the template wrote."""
        if comm.edited_subject is None and comm.edited_body is None:
            return rendered.subject, rendered.body
        opened = await self.sealer.opener_for(f"{account.tenant}:{account.debtor_id}")
        subject = opened(comm.edited_subject) or rendered.subject
        body = opened(comm.edited_body) or rendered.body
        if ERASED in (subject, body):
            raise Refused("debtor_erased")
        return subject, body

    async def _personal(self, account: Account, comm: Comm) -> Personal:
        opened = await self.sealer.opener_for(f"{account.tenant}:{account.debtor_id}")

        def value(token: str | None) -> str | None:
            text = opened(token)
            if text == ERASED:
                raise Refused("debtor_erased")
            return text

        wanted = "email" if comm.channel == "email" else "phone"
        contact = next((c for c in account.contacts if getattr(c, wanted)), None)
        if contact is None and account.contacts:
            contact = account.contacts[0]
        address: tuple[str, ...] = ()
        if account.postal_address is not None:
            address = address_lines(value(account.postal_address) or "")
        if contact is None:
            return Personal(address_lines=address)
        return Personal(
            contact_name=value(contact.name),
            address_lines=address,
            email=value(contact.email),
            phone=value(contact.phone),
        )


def address_lines(opened: str) -> tuple[str, ...]:
    """A postal address as claims seals it (JSON: lines, postal code, city, region, country),
    as the lines of an envelope; free text as it is."""
    try:
        address = orjson.loads(opened)
    except orjson.JSONDecodeError:
        return tuple(line for line in opened.splitlines() if line.strip())
    if not isinstance(address, dict):
        return (str(address),)
    town = " ".join(p for p in (address.get("postal_code"), address.get("city")) if p)
    lines = [*address.get("lines", ()), town, address.get("region"), address.get("country")]
    return tuple(line for line in lines if line)
