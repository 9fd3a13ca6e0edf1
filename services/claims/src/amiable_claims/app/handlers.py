"""The claims application: commands on claims through the command bus, registrations (one by
one or in bulk) and the reads the routes need. No HTTP here: errors are application errors.

Registrations create a claim, so they are not a command on an existing subject: they hold the
debtor account's lock (look-alikes are per debtor; invoice numbers are reserved in PostgreSQL)
through the checks and the append, and use the bus for everything else. An import holds the
tenant's lock: its rows span every debtor.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field, replace
from decimal import Decimal

import orjson

from amiable_claims.adapters.read_model import ClaimRecord, ClaimsReadModel
from amiable_claims.adapters.reservations import InvoiceReservations
from amiable_claims.domain import reference
from amiable_claims.domain.commands import RegisterClaim
from amiable_claims.domain.decide import InvalidClaim, InvoiceNumberTaken, decide_registration
from amiable_claims.domain.state import Claim, Policy
from amiable_events.claims import Contact, Debtor
from amiable_events.commands import CommandBus, Idempotency
from amiable_events.envelope import account_key
from amiable_events.errors import FieldError, Invalid, NotFound, Unavailable
from amiable_events.ids import keyed_id
from amiable_events.personal import Sealer


class ClaimsHandler:
    def __init__(
        self,
        *,
        bus: CommandBus[Claim],
        read_model: ClaimsReadModel,
        reservations: InvoiceReservations,
        sealer: Sealer,
        policy: Policy,
    ) -> None:
        self.bus = bus
        self.read_model = read_model
        self.reservations = reservations
        self.sealer = sealer
        self.policy = policy
        self.clock = bus.clock
        # tenant -> invoice number -> registration appended but not yet projected
        self.pending_registrations: dict[str, dict] = {}

    async def claim_record(self, tenant: str, claim_id: uuid.UUID) -> ClaimRecord:
        """The tenant's claim, or 404 (also for another tenant's claim)."""
        record = await self.read_model.claim(tenant, claim_id)
        if record is None:
            raise NotFound(f"no claim {claim_id} for this tenant", title="Claim not found")
        return record

    async def duplicate_of(self, tenant: str, claim_id: uuid.UUID) -> uuid.UUID | None:
        """Another claim of the tenant that looks like this one (same debtor, amount, dates)."""
        claim = (await self.claim_record(tenant, claim_id)).claim
        look_alike = await self.read_model.look_alike(
            tenant, claim.debtor_id, claim.amount, claim.currency, claim.issued_on, claim.due_on
        )
        return look_alike if look_alike != claim_id else None

    async def execute(
        self,
        tenant: str,
        claim_id: uuid.UUID,
        command,
        *,
        correlation_id: uuid.UUID | None = None,
        idempotency: Idempotency | None = None,
    ) -> tuple[ClaimRecord, bool]:
        """Run one command on one claim: the claim once its events applied, and whether the
        request was an idempotent replay (nothing done, the current claim answered)."""
        executed = await self.bus.execute(
            tenant, claim_id, command, correlation_id=correlation_id, idempotency=idempotency
        )
        return await self.claim_record(tenant, claim_id), executed.replayed


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
            description=sealed_text(seal, body.description),
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
    ) -> tuple[ClaimRecord, bool]:
        """The claim and whether it was created now (False: an idempotent replay).

        The debtor account's lock (look-alikes are per debtor) and, with an Idempotency-Key,
        the key's lock cover the checks and the append only; an invoice number is unique
        through its reservation in PostgreSQL, so registrations of one tenant for different
        debtors run side by side. Claims appended but not yet projected are kept in
        ``pending`` so the next registration sees them, and the wait for the projection
        happens outside the locks.
        """
        handler, bus = self.handler, self.handler.bus
        pending = self.pending.setdefault(tenant, {})
        account = account_key(tenant, body.debtor.id)
        async with contextlib.AsyncExitStack() as locked:
            if idempotency_key:  # first: a key's retry may name another debtor
                await locked.enter_async_context(bus.lock(keyed_lock(tenant, idempotency_key)))
            await locked.enter_async_context(bus.lock(account))
            await bus.catch_up(account)
            if idempotency_key:
                first = await handler.read_model.with_idempotency_key(tenant, idempotency_key)
                in_flight = next(
                    (p for p in pending.values() if p.idempotency_key == idempotency_key), None
                )
                invoice = first.claim.invoice_number if first else in_flight and in_flight.invoice
                if invoice and invoice != body.invoice_number:
                    raise Invalid.field("Idempotency-Key", f"used for invoice {invoice}")
                if first is not None:
                    return first, False
                if in_flight is not None:
                    await in_flight.applied.wait()
                    return await handler.read_model.claim(tenant, in_flight.claim_id), False
            taken_by, look_alike = await handler.read_model.registration_checks(
                tenant,
                body.invoice_number,
                body.debtor.id,
                Decimal(body.amount),
                body.currency,
                body.issued_on,
                body.due_on,
            )
            if taken_by is None and body.invoice_number in pending:
                taken_by = pending[body.invoice_number].claim_id
            context = bus.context(tenant)
            now = context.now
            command = await self.command(tenant, body, idempotency_key)
            duplicate_of = look_alike or next(
                (p.claim_id for p in pending.values() if p.looks_like(command)), None
            )
            events = decide_registration(
                None,
                replace(command, taken_by=taken_by, duplicate_of=duplicate_of),
                context,
            )
            claim_id = events[0].claim_id
            taken = await self.reserve(tenant, {body.invoice_number: (claim_id, body.debtor.id)})
            if taken:
                raise InvoiceNumberTaken(body.invoice_number, taken[body.invoice_number])
            first_id = (
                keyed_id(tenant, "claim-registered", idempotency_key)
                if idempotency_key
                else uuid.uuid4()
            )
            envelopes = bus.envelopes(
                events,
                tenant=tenant,
                debtor_id=body.debtor.id,
                now=now,
                first_id=first_id,
                correlation_id=correlation_id,
            )
            appended = await bus.log.append(envelopes)
            claim = _Pending(command, events[0].claim_id, idempotency_key)
            pending[command.invoice_number] = claim
        try:
            await bus.wait_applied(appended)
        finally:
            claim.applied.set()
            pending.pop(command.invoice_number, None)
        return await handler.read_model.claim(tenant, events[0].claim_id), True

    async def reserve(
        self, tenant: str, wanted: dict[str, tuple[uuid.UUID, str]]
    ) -> dict[str, uuid.UUID]:
        """Reserve each invoice number for its claim (number -> claim id, debtor id); answers
        the numbers another claim holds, with that claim. A holder whose registration never
        reached the read model (see :mod:`.reservations`) is taken over after the grace
        period, once its debtor account is caught up."""
        handler = self.handler
        holders = await handler.reservations.reserve(tenant, wanted)
        lost = {}
        for number, holder in holders.items():
            claim_id, debtor_id = wanted[number]
            if holder.stale:
                await handler.bus.catch_up(account_key(tenant, holder.debtor_id))
                record = await handler.read_model.claim(tenant, holder.claim_id)
                if (
                    record is None or record.claim.invoice_number != number
                ) and await handler.reservations.take_over(
                    tenant, number, holder.claim_id, claim_id, debtor_id
                ):
                    continue
            lost[number] = holder.claim_id
        return lost

    async def import_rows(self, tenant: str, rows: list, *, batch: int = 2000) -> list[dict]:
        """Register every valid row; one bad row never blocks the others.

        ``rows`` holds, per file row, a ``ClaimIn`` or the list of its field errors. Duplicates
        are invoice numbers the tenant already has, or that an earlier row of the file has.
        Every row is decided before anything is appended: an unexpected error on any row
        appends nothing, and the client's retry of the same file starts from a clean slate.
        """
        handler, bus = self.handler, self.handler.bus
        results: list[dict] = []
        batches = []
        taken: dict[str, uuid.UUID] = {}  # invoice numbers known: registered before or in the file
        created: dict[str, tuple[uuid.UUID, str]] = {}  # number -> claim id, debtor id
        async with bus.lock(tenant):
            # What the read model says is taken must include what is on the log: a retried
            # file after a crash finds the rows its first attempt appended.
            await bus.catch_up_accounts(
                {account_key(tenant, body.debtor.id) for body in rows if not isinstance(body, list)}
            )
            for start in range(0, len(rows), batch):
                chunk = rows[start : start + batch]
                # The file's rows are dropped as they are decided: only their events are kept
                # until the append (peak memory of a 50,000-row import, see `make bench`).
                rows[start : start + batch] = [None] * len(chunk)
                numbers = [body.invoice_number for body in chunk if not isinstance(body, list)]
                for number, claim_id in (
                    await handler.read_model.invoices_taken(tenant, numbers)
                ).items():
                    taken.setdefault(number, claim_id)
                envelopes = []
                context = bus.context(tenant)
                now = context.now
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
                        command = replace(command, claim_id=imported_id(tenant, body))
                        events = decide_registration(None, command, context)
                    except InvalidClaim as exc:
                        errors = [{"field": e.field, "reason": e.reason} for e in exc.errors]
                        results.append({"row": offset, "status": "invalid", "errors": errors})
                        continue
                    except (ArithmeticError, ValueError) as exc:
                        # Date arithmetic past year 9999 (a due date near it): the row's dates
                        # are out of range; the model's bounds refuse most of these earlier.
                        errors = [{"field": "row", "reason": f"out of range: {exc}"}]
                        results.append({"row": offset, "status": "invalid", "errors": errors})
                        continue
                    claim_id = events[0].claim_id
                    taken[body.invoice_number] = claim_id
                    created[body.invoice_number] = (claim_id, body.debtor.id)
                    # From the invoice number too: two imports of one file append the same
                    # events, and every consumer drops the second copy as already applied.
                    first_id = keyed_id(tenant, "imported-claim-registered", body.invoice_number)
                    envelopes += bus.envelopes(
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
                if envelopes:
                    batches.append(envelopes)
            # Another process may have registered some of these numbers meanwhile: the
            # reservations decide, and a row whose number another claim holds is a duplicate.
            lost = await self.reserve(tenant, created)
            if lost:
                dropped = {str(created[number][0]) for number in lost}
                batches = [
                    [e for e in envelopes if e.subject not in dropped] for envelopes in batches
                ]
                for result in results:
                    if result["status"] == "created" and result["invoice_number"] in lost:
                        result.update(status="duplicate", claim_id=lost[result["invoice_number"]])
            # Batches are appended back to back (the in-memory ``taken`` covers the rows not
            # yet projected); the answer waits once, for the whole import to be readable.
            appended = []
            for envelopes in batches:
                for part in _appends(envelopes):
                    appended += await bus.log.append(part)
            try:
                await bus.wait_applied(appended, timeout=bus.timeout + len(rows) / 500)
            except Unavailable as exc:
                raise Unavailable(
                    "every created row is in the log; the read model is catching up",
                    title="Imported, not yet readable",
                ) from exc
        return results


#: Envelopes a single append of an import: each append must be acknowledged within the log's
#: append timeout, so a large import goes out as many appends of a bounded size.
IMPORT_APPEND = 500


def _appends(envelopes: list) -> list[list]:
    """``envelopes`` cut into appends of about ``IMPORT_APPEND``, never between two events of
    one claim (a registration's events land all or none)."""
    parts: list[list] = [[]]
    for envelope in envelopes:
        current = parts[-1]
        if len(current) >= IMPORT_APPEND and current[-1].subject != envelope.subject:
            parts.append(current := [])
        current.append(envelope)
    return [part for part in parts if part]


def imported_id(tenant: str, body) -> uuid.UUID:
    """An imported row's claim id: from its invoice number, so the retry of a file whose import
    died after reserving its numbers names the same claims and reuses the reservations."""
    return keyed_id(tenant, "imported-claim", body.invoice_number)


def keyed_lock(tenant: str, idempotency_key: str) -> str:
    """The in-process lock of a registration's Idempotency-Key: never a debtor account's name
    (an account is ``<tenant>:<debtor>``, and a NUL is in no tenant)."""
    return f"{tenant}\x00{idempotency_key}"


def sealed_contacts(seal, contacts) -> tuple[Contact, ...]:
    def sealed(value: str | None) -> str | None:
        return None if value is None else seal(value)

    return tuple(
        Contact(
            name=sealed(contact.name),
            email=sealed(contact.email),
            phone=sealed(contact.phone),
            role_sealed=sealed(contact.role),  # free text that may name a person
        )
        for contact in contacts
    )


def sealed_text(seal, text: str | None) -> str | None:
    """Free text that may name a person (a description, a comment), sealed like personal data."""
    return None if text is None else seal(text)


def sealed_address(seal, address) -> str | None:
    if address is None:
        return None
    return seal(orjson.dumps(address.model_dump(mode="json")).decode())
