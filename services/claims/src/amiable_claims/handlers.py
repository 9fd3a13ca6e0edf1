"""Runs claim commands: load the claim -> decide -> append -> wait until readable.

One lock per debtor account (one partition) serialises a command's read of the state with its
append inside a process; across replicas, ``evolve`` is total, so a concurrent append can never
corrupt a claim, and every command first waits until the account's partition is applied.
"""

from __future__ import annotations

import asyncio
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import orjson

from amiable_claims import reference
from amiable_claims.domain import (
    Claim,
    Conflict,
    FieldError,
    InvalidClaim,
    InvoiceNumberTaken,
    Policy,
    RegisterClaim,
    decide_registration,
)
from amiable_events.base import Event
from amiable_events.claims import Contact, Debtor
from amiable_events.envelope import Envelope, account_key
from amiable_events.http import Problem
from amiable_events.ids import caused_id, keyed_id

Decide = Callable[[Claim, datetime], list[Event]]


def invalid(errors) -> Problem:
    return Problem(
        422,
        "Invalid request",
        f"{len(errors)} field(s) are invalid",
        errors=[{"field": e.field, "reason": e.reason} for e in errors],
    )


class ClaimsHandler:
    def __init__(self, *, log, runner, read_model, sealer, clock, policy: Policy, timeout) -> None:
        self.log = log
        self.runner = runner
        self.read_model = read_model
        self.sealer = sealer
        self.clock = clock
        self.policy = policy
        self.timeout = timeout
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # tenant -> invoice number -> registration appended but not yet projected
        self.pending_registrations: dict[str, dict] = {}

    def lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    async def catch_up(self, account: str) -> None:
        """Read your writes: the account's partition is applied up to its end before deciding."""
        if not await self.runner.wait_caught_up(account, self.timeout):
            raise Problem(503, "Read model lagging", "the claims projection is catching up")

    def envelopes(
        self,
        events: list[Event],
        *,
        tenant: str,
        debtor_id: str,
        now: datetime,
        first_id: uuid.UUID,
        correlation_id: uuid.UUID,
    ) -> list[Envelope]:
        """The first event gets ``first_id``; the ones it entails are caused by it, with
        deterministic ids."""
        envelopes = []
        for index, event in enumerate(events):
            envelopes.append(
                Envelope(
                    id=first_id if index == 0 else caused_id(first_id, "claims", event.type),
                    subject=str(event.claim_id),
                    time=now,
                    tenant=tenant,
                    debtor_id=debtor_id,
                    correlation_id=correlation_id,
                    causation_id=None if index == 0 else first_id,
                    data=event,
                )
            )
        return envelopes

    async def append_and_wait(self, envelopes: list[Envelope]) -> None:
        """Durably in the log (acks=all), then applied by the projection (bounded wait)."""
        appended = await self.log.append(envelopes)
        await self.wait_applied(appended[-1], envelopes[0].subject)

    async def wait_applied(self, last, claim_id: str) -> None:
        if not await self.runner.wait_until_applied(last.partition, last.offset, self.timeout):
            raise Problem(
                503,
                "Recorded, not yet readable",
                "the events are in the log but the read model lags; read the claim shortly",
                claim_id=claim_id,
            )

    async def claim_row(self, tenant: str, claim_id: uuid.UUID) -> dict:
        """The tenant's claim, or 404 (also for another tenant's claim)."""
        row = await self.read_model.claim(tenant, claim_id)
        if row is None:
            raise Problem(404, "Claim not found", f"no claim {claim_id} for this tenant")
        return row

    async def execute(
        self,
        tenant: str,
        claim_id: uuid.UUID,
        decide: Decide,
        *,
        correlation_id: uuid.UUID | None = None,
        event_id: uuid.UUID | None = None,
    ) -> dict:
        """Run one command on one claim; answers the claim's row after the events applied."""
        row = await self.claim_row(tenant, claim_id)
        account = account_key(tenant, row["debtor_id"])
        async with self.lock(account):
            await self.catch_up(account)
            row = await self.read_model.claim(tenant, claim_id)
            claim = Claim.model_validate(row["state"])
            now = self.clock.now()
            try:
                events = decide(claim, now)
            except InvalidClaim as exc:
                raise invalid(exc.errors) from exc
            except Conflict as exc:
                raise Problem(409, "Conflict", str(exc), status_of_claim=claim.status) from exc
            if events:
                first_id = event_id or uuid.uuid4()
                await self.append_and_wait(
                    self.envelopes(
                        events,
                        tenant=tenant,
                        debtor_id=row["debtor_id"],
                        now=now,
                        first_id=first_id,
                        correlation_id=correlation_id or first_id,
                    )
                )
            return await self.read_model.claim(tenant, claim_id)


@dataclass
class _Pending:
    """A registration appended to the log and not yet in the read model."""

    command: RegisterClaim
    claim_id: uuid.UUID
    idempotency_key: str | None
    applied: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def invoice(self) -> str:
        return self.command.invoice_number

    def looks_like(self, other: RegisterClaim) -> bool:
        mine = self.command
        return (mine.debtor.id, mine.amount, mine.currency, mine.issued_on, mine.due_on) == (
            other.debtor.id,
            other.amount,
            other.currency,
            other.issued_on,
            other.due_on,
        )


class Registrations:
    """Registering claims, one by one or in bulk: seal personal data, decide, append."""

    def __init__(self, handler: ClaimsHandler) -> None:
        self.handler = handler
        self.pending = handler.pending_registrations

    async def command(self, tenant: str, body, idempotency_key: str | None):
        """The RegisterClaim of a valid request body, personal data sealed, or 422."""
        errors = []
        debtor = body.debtor
        language = debtor.language or reference.default_language(debtor.country)
        canonical = reference.canonical_language(language)
        if canonical is None:
            errors.append(FieldError("debtor.language", f"{language} is not a known BCP 47 tag"))
        timezone = debtor.timezone or reference.default_timezone(debtor.country)
        if timezone is None:
            errors.append(
                FieldError("debtor.timezone", f"required: {debtor.country} spans several zones")
            )
        elif not reference.is_timezone(timezone):
            errors.append(FieldError("debtor.timezone", f"{timezone} is not an IANA time zone"))
        if errors:
            raise InvalidClaim(errors)
        seal = await self.handler.sealer.sealer_for(account_key(tenant, debtor.id))
        return RegisterClaim(
            tenant=tenant,
            invoice_number=body.invoice_number,
            amount=Decimal(body.amount),
            currency=body.currency,
            issued_on=body.issued_on,
            due_on=body.due_on,
            contract_reference=body.contract_reference,
            purchase_order=body.purchase_order,
            description=body.description,
            idempotency_key=idempotency_key,
            governing_law=body.governing_law,
            late_payment_terms=body.late_payment_terms,
            debtor=Debtor(
                id=debtor.id,
                legal_name=debtor.legal_name,
                registration_id=debtor.registration_id,
                country=debtor.country,
                language=canonical,
                timezone=timezone,
                contacts=sealed_contacts(seal, debtor.contacts),
                postal_address=sealed_address(seal, debtor.postal_address),
            ),
        )

    async def register(
        self, tenant: str, body, idempotency_key: str | None, correlation_id: uuid.UUID
    ) -> tuple[dict, bool]:
        """The claim row and whether it was created now (False: an idempotent replay).

        The tenant's lock covers the checks and the append only: claims appended but not yet
        projected are kept in ``pending`` so the next registration sees them, and the wait for
        the projection happens outside the lock.
        """
        handler = self.handler
        pending = self.pending.setdefault(tenant, {})
        async with handler.lock(tenant):
            await handler.catch_up(account_key(tenant, body.debtor.id))
            if idempotency_key:
                first = await handler.read_model.with_idempotency_key(tenant, idempotency_key)
                in_flight = next(
                    (p for p in pending.values() if p.idempotency_key == idempotency_key), None
                )
                invoice = first["invoice_number"] if first else in_flight and in_flight.invoice
                if invoice and invoice != body.invoice_number:
                    raise Problem(
                        422,
                        "Idempotency-Key reused",
                        "this Idempotency-Key was used for another request",
                        errors=[
                            {"field": "Idempotency-Key", "reason": f"used for invoice {invoice}"}
                        ],
                    )
                if first is not None:
                    return first, False
                if in_flight is not None:
                    await in_flight.applied.wait()
                    return await handler.read_model.claim(tenant, in_flight.claim_id), False
            existing = await handler.read_model.first_with_invoice(tenant, body.invoice_number)
            taken_by = existing["claim_id"] if existing else None
            if taken_by is None and body.invoice_number in pending:
                taken_by = pending[body.invoice_number].claim_id
            now = handler.clock.now()
            try:
                command = await self.command(tenant, body, idempotency_key)
                look_alike = await handler.read_model.look_alike(
                    tenant,
                    body.debtor.id,
                    command.amount,
                    command.currency,
                    command.issued_on,
                    command.due_on,
                )
                duplicate_of = (
                    look_alike["claim_id"]
                    if look_alike
                    else next((p.claim_id for p in pending.values() if p.looks_like(command)), None)
                )
                events = decide_registration(
                    command,
                    taken_by,
                    now=now,
                    new_id=uuid.uuid4,
                    policy=handler.policy,
                    duplicate_of=duplicate_of,
                )
            except InvalidClaim as exc:
                raise invalid(exc.errors) from exc
            except InvoiceNumberTaken as exc:
                raise Problem(
                    409,
                    "Invoice already registered",
                    str(exc),
                    existing_claim_id=str(exc.claim_id),
                ) from exc
            first_id = (
                keyed_id(tenant, "claim-registered", idempotency_key)
                if idempotency_key
                else uuid.uuid4()
            )
            envelopes = handler.envelopes(
                events,
                tenant=tenant,
                debtor_id=body.debtor.id,
                now=now,
                first_id=first_id,
                correlation_id=correlation_id,
            )
            appended = await handler.log.append(envelopes)
            claim = _Pending(command, events[0].claim_id, idempotency_key)
            pending[command.invoice_number] = claim
        try:
            await handler.wait_applied(appended[-1], envelopes[0].subject)
        finally:
            claim.applied.set()
            pending.pop(command.invoice_number, None)
        return await handler.read_model.claim(tenant, events[0].claim_id), True

    async def import_rows(self, tenant: str, rows: list, *, batch: int = 2000) -> list[dict]:
        """Register every valid row; one bad row never blocks the others.

        ``rows`` holds, per file row, a ``ClaimIn`` or the list of its field errors. Duplicates
        are invoice numbers the tenant already has, or that an earlier row of the file has.
        """
        handler = self.handler
        results: list[dict] = []
        last: dict[int, int] = {}
        taken: dict[str, uuid.UUID] = {}  # invoice numbers known: registered before or in the file
        async with handler.lock(tenant):
            for start in range(0, len(rows), batch):
                chunk = rows[start : start + batch]
                numbers = [body.invoice_number for body in chunk if not isinstance(body, list)]
                for number, claim_id in (
                    await handler.read_model.invoices_taken(tenant, numbers)
                ).items():
                    taken.setdefault(number, claim_id)
                envelopes = []
                now = handler.clock.now()
                for offset, body in enumerate(chunk, start=start + 1):
                    if isinstance(body, list):
                        results.append({"row": offset, "status": "invalid", "errors": body})
                        continue
                    if body.invoice_number in taken:
                        results.append(
                            {
                                "row": offset,
                                "status": "duplicate",
                                "invoice_number": body.invoice_number,
                                "claim_id": taken[body.invoice_number],
                            }
                        )
                        continue
                    try:
                        command = await self.command(tenant, body, None)
                        events = decide_registration(
                            command, None, now=now, new_id=uuid.uuid4, policy=handler.policy
                        )
                    except InvalidClaim as exc:
                        results.append(
                            {
                                "row": offset,
                                "status": "invalid",
                                "errors": [
                                    {"field": e.field, "reason": e.reason} for e in exc.errors
                                ],
                            }
                        )
                        continue
                    claim_id = events[0].claim_id
                    taken[body.invoice_number] = claim_id
                    first_id = uuid.uuid4()
                    envelopes += handler.envelopes(
                        events,
                        tenant=tenant,
                        debtor_id=body.debtor.id,
                        now=now,
                        first_id=first_id,
                        correlation_id=first_id,
                    )
                    results.append(
                        {
                            "row": offset,
                            "status": "created",
                            "invoice_number": body.invoice_number,
                            "claim_id": claim_id,
                        }
                    )
                # Batches are appended back to back (the in-memory ``taken`` covers the rows not
                # yet projected); the answer waits once, for the whole import to be readable.
                for record in await handler.log.append(envelopes) if envelopes else []:
                    last[record.partition] = max(last.get(record.partition, -1), record.offset)
            deadline = handler.timeout + len(rows) / 500  # the projection applies >2,000 rows/s
            for partition, offset in last.items():
                if not await handler.runner.wait_until_applied(partition, offset, deadline):
                    raise Problem(
                        503,
                        "Imported, not yet readable",
                        "every created row is in the log; the read model is catching up",
                    )
        return results


def sealed_contacts(seal, contacts) -> tuple[Contact, ...]:
    def sealed(value: str | None) -> str | None:
        return None if value is None else seal(value)

    return tuple(
        Contact(
            name=sealed(contact.name),
            email=sealed(contact.email),
            phone=sealed(contact.phone),
            role=contact.role,
        )
        for contact in contacts
    )


def sealed_address(seal, address) -> str | None:
    if address is None:
        return None
    return seal(orjson.dumps(address.model_dump(mode="json")).decode())
