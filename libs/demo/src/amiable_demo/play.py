"""What the debtors of a generated history do through the public APIs, and when: the schedule
``amiable demo run`` plays on the moved clock.

A history (``generate``) holds the events the services would have written; the demo wants the
requests that make the services write them. Each command a debtor or the creditor's people
caused becomes one :class:`Action` at the moment it was recorded: registering a claim, paying
(everything then due, an instalment, or part), promising, agreeing a plan, disputing, the
creditor upholding the dispute, a write-off, collective proceedings recorded with risk. What
the services decide themselves (qualification, settlement, a broken promise, a missed
instalment) is left to them. Amounts that depend on the service's own figures (what is due on
the day) are read when the action plays, so the services' rules stay theirs.

Pure: the same plan gives the same actions, each with an Idempotency-Key of its own, so a demo
started again replays what it already did without doing it twice.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from amiable_demo.generate import History, Plan
from amiable_demo.sealing import account_key as demo_key
from amiable_demo.sealing import open_sealed
from amiable_events.claims import (
    ClaimAdjusted,
    ClaimCancelled,
    ClaimRegistered,
    ClaimSettled,
    ClaimWrittenOff,
    Debtor,
    PaymentPlanAgreed,
    PaymentReceived,
    PromiseToPayRecorded,
)
from amiable_events.disputes import DisputeOpened
from amiable_events.envelope import Envelope
from amiable_events.risk import InsolvencyRecorded
from amiable_rules import money

#: The debtors' countries of the demo portfolio.
DEMO_COUNTRIES: tuple[str, ...] = ("FR", "DE", "NL", "IN", "US", "ES", "IT")
#: Weeks of history, not years: many debtors with a few claims each, so that every behaviour
#: shows in a portfolio of a few dozen claims.
DEMO_CLAIMS_PER_DEBTOR = (2, 6)
#: A town per debtor country: letters need a postal address, the generator gives none.
TOWNS: dict[str, tuple[str, str]] = {
    "FR": ("69003", "Lyon"),
    "DE": ("50667", "Köln"),
    "NL": ("3511", "Utrecht"),
    "IN": ("411001", "Pune"),
    "US": ("02108", "Boston"),
    "ES": ("46001", "Valencia"),
    "IT": ("10121", "Torino"),
}


def demo_plan(
    *, claims: int, seed: int, start: date, months: int, tenant: str = "demo-creditor"
) -> Plan:
    return Plan(
        claims=claims,
        seed=seed,
        start=start,
        months=months,
        tenants=(tenant,),
        countries=DEMO_COUNTRIES,
        claims_per_debtor=DEMO_CLAIMS_PER_DEBTOR,
    )


@dataclass(frozen=True)
class Action:
    """One request a debtor (or the creditor's people) makes at moved time ``at``.

    ``kind`` is one of ``register``, ``pay``, ``pay_instalment``, ``promise``, ``plan``,
    ``dispute``, ``resolve_dispute``, ``write_off``, ``insolvency``; ``invoice`` names the
    claim (None for ``insolvency``, which is about the debtor); ``body`` what is known in
    advance, JSON-ready.
    """

    at: datetime
    kind: str
    tenant: str
    debtor_id: str
    behaviour: str
    invoice: str | None
    key: str
    body: dict[str, Any] = field(default_factory=dict)


def schedule(history: History) -> list[Action]:
    """Every debtor's actions, in the order they happen (ties: debtor, then recorded order)."""
    ranked = []
    for number, debtor in enumerate(history.debtors):
        for position, action in enumerate(_debtor_actions(run_name(history.plan), debtor)):
            ranked.append((action.at, number, position, action))
    ranked.sort(key=lambda row: row[:3])
    return [row[3] for row in ranked]


def _commands(envelopes: tuple[Envelope, ...]) -> list[list[Envelope]]:
    """The envelopes grouped by the command that appended them (the first causes the rest)."""
    commands: list[list[Envelope]] = []
    for envelope in envelopes:
        if envelope.causation_id is None or not commands:
            commands.append([envelope])
        else:
            commands[-1].append(envelope)
    return commands


def run_name(plan: Plan) -> str:
    """What sets one demo's invoices and keys apart from another's on the same tenant: its seed
    and first day. The same demo started again (same seed, same ``--start``) replays its
    requests; another is a portfolio of its own, never acting on an earlier demo's claims."""
    return f"{plan.start:%Y%m%d}-S{plan.seed}"


def _debtor_actions(run: str, debtor) -> list[Action]:
    invoices: dict[str, str] = {}
    plans: dict[str, int] = {}
    disputed: set[str] = set()
    done: dict[tuple[str, str], int] = defaultdict(int)
    actions: list[Action] = []

    def act(first: Envelope, kind: str, invoice: str | None, /, **body: Any) -> None:
        subject = invoice or f"{run}-{debtor.debtor_id}"
        ordinal = done[(subject, kind)]
        done[(subject, kind)] += 1
        actions.append(
            Action(
                at=first.time,
                kind=kind,
                tenant=debtor.tenant,
                debtor_id=debtor.debtor_id,
                behaviour=debtor.behaviour,
                invoice=invoice,
                key=f"demo-{subject}-{kind}-{ordinal}",
                body=body,
            )
        )

    for command in _commands(debtor.envelopes):
        first, event = command[0], command[0].data
        invoice = invoices.get(first.subject)
        settles = any(isinstance(e.data, ClaimSettled) for e in command)
        day = first.time.date().isoformat()
        match event:
            case ClaimRegistered():
                invoice = f"{event.invoice_number}-{run}"
                invoices[first.subject] = invoice
                act(first, "register", invoice, **claim_body(debtor.account, event, invoice))
            case PaymentReceived() if first.subject in plans:
                plans[first.subject] += 1
                act(
                    first,
                    "pay_instalment",
                    invoice,
                    received_on=day,
                    instalment=plans[first.subject] - 1,
                    everything_due=settles,
                )
            case PaymentReceived():
                amount = None if settles else _text(event.amount, event.currency)
                act(first, "pay", invoice, received_on=day, amount=amount, method=event.method)
            case PromiseToPayRecorded():
                act(
                    first,
                    "promise",
                    invoice,
                    promised_on=event.promised_on.isoformat(),
                    source=event.source_channel,
                )
            case PaymentPlanAgreed():
                plans[first.subject] = 0
                act(
                    first,
                    "plan",
                    invoice,
                    due_on=[i.due_on.isoformat() for i in event.installments],
                    grace_days=event.grace_days,
                )
            case DisputeOpened():
                disputed.add(first.subject)
                amount = None if event.whole_claim else _text(event.disputed_amount, event.currency)
                act(first, "dispute", invoice, reason=event.reason, disputed_amount=amount)
            case ClaimAdjusted() | ClaimCancelled() if first.subject in disputed:
                # The credit note follows the dispute: the creditor upholds it, and claims
                # cancels or reduces the claim by the disputed part.
                act(first, "resolve_dispute", invoice, outcome="upheld")
            case ClaimWrittenOff():
                act(first, "write_off", invoice, reason="collective proceedings opened")
            case InsolvencyRecorded():
                act(
                    first,
                    "insolvency",
                    None,
                    kind=event.kind,
                    opened_on=event.opened_on.isoformat(),
                    reference=event.reference,
                )
    return actions


def claim_body(account: str, registered: ClaimRegistered, invoice: str) -> dict[str, Any]:
    """The ``POST /v1/claims`` body of a generated claim, as invoice ``invoice``: its debtor's
    contacts opened with the demo key (the API takes them in clear and seals them itself)."""
    debtor = registered.debtor
    return {
        "invoice_number": invoice,
        "amount": _text(registered.amount, registered.currency),
        "currency": registered.currency,
        "issued_on": registered.issued_on.isoformat(),
        "due_on": registered.due_on.isoformat(),
        "governing_law": registered.governing_law,
        "debtor": _debtor_body(account, debtor),
    }


def _debtor_body(account: str, debtor: Debtor) -> dict[str, Any]:
    key = demo_key(account)

    def opened(value: str | None) -> str | None:
        return None if value is None else open_sealed(key, account, value)

    contacts = [
        {
            "name": opened(contact.name),
            "email": opened(contact.email),
            "phone": (opened(contact.phone) or "").replace(" ", "") or None,
            "role": opened(contact.role_sealed),
        }
        for contact in debtor.contacts
    ]
    postal_code, town = TOWNS.get(debtor.country, ("1000", "Capital"))
    return {
        "id": debtor.id,
        "legal_name": debtor.legal_name,
        "country": debtor.country,
        "language": debtor.language,
        "timezone": debtor.timezone,
        "contacts": [{k: v for k, v in c.items() if v is not None} for c in contacts],
        "postal_address": {
            "lines": [f"{int(debtor.id.rsplit('-', 1)[-1]) % 97 + 1} {debtor.legal_name}"],
            "postal_code": postal_code,
            "city": town,
            "country": debtor.country,
        },
    }


def instalments(balance: Decimal, currency: str, due_on: list[str]) -> list[dict[str, str]]:
    """``balance`` cut into one instalment per date, as the generator does: equal parts rounded
    down to the currency's unit, the last taking what is left (they add up to the balance, as
    the claims service requires)."""
    count = len(due_on)
    part = (balance / count).quantize(money.unit(currency), ROUND_DOWN)
    amounts = [part] * (count - 1) + [balance - part * (count - 1)]
    return [
        {"due_on": day, "amount": _text(amount, currency)}
        for day, amount in zip(due_on, amounts, strict=True)
    ]


def _text(amount: Decimal, currency: str) -> str:
    return format(money.quantize(amount, currency), "f")


def moved_clock(start: date, speed: float, now: datetime) -> str:
    """The ``AMIABLE_CLOCK`` setting whose moved time is 00:00 UTC of ``start`` at real time
    ``now`` and runs ``speed`` times faster. An accelerated clock agrees with the real one at its
    epoch, so the epoch is the instant where the two lines cross: ``epoch + (now - epoch) x
    speed = start``."""
    origin = datetime.combine(start, time(0), tzinfo=UTC)
    epoch = now + (origin - now) / (1 - speed) if speed != 1 else now
    return f"accelerated:{epoch.isoformat()}:{speed:g}"


def end_of(plan: Plan) -> datetime:
    """The moved time at which the demo has played every day of its history."""
    return datetime.combine(plan.end + timedelta(days=1), time(0), tzinfo=UTC)
