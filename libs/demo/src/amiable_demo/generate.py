"""``generate``: a seeded history of claims across tenants and debtor countries, as the envelopes
the claims service (and, for collective proceedings, the risk service) would have appended.

Deterministic: the same arguments give the same envelopes, ids and sealed values included.
Each debtor draws from a random stream of its own (seeded by the seed and its number), so a
debtor's history does not depend on how many debtors come before it.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from amiable_demo.behaviours import BEHAVIOURS, CLAIMS_PER_DEBTOR, DEFAULT_MIX, PAYING
from amiable_demo.countries import COUNTRIES, TENANT_LAWS, Country
from amiable_demo.sealing import account_key as demo_key
from amiable_demo.sealing import seal
from amiable_demo.simulate import Account, Rules, SimulatedClaim, new_id
from amiable_events.claims import ClaimRegistered, Contact, Debtor
from amiable_events.envelope import Envelope, account_key
from amiable_rules import money

DEFAULT_START = date(2023, 1, 2)
DEFAULT_TENANTS: tuple[str, ...] = ("demo-creditor",)
FIRST_NAMES = ("Camille", "Jonas", "Sanne", "Elin", "Priya", "Haruto", "Omar", "Emily", "Lucía")


@dataclass(frozen=True)
class Plan:
    """What to generate."""

    claims: int = 2_000
    seed: int = 1
    start: date = DEFAULT_START
    months: int = 36
    tenants: Sequence[str] = DEFAULT_TENANTS
    #: Share of debtors per behaviour (any positive weights).
    mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    #: The debtors' countries (codes of ``COUNTRIES``); empty: every one of them.
    countries: Sequence[str] = ()
    #: Claims per debtor (fewest, most) whatever its behaviour; None: each behaviour's own
    #: range, made for years of history (a demo of weeks wants more debtors, fewer claims).
    claims_per_debtor: tuple[int, int] | None = None

    @property
    def end(self) -> date:
        """The last day of the history: nothing after it has happened yet."""
        return self.start + timedelta(days=round(self.months * 365.25 / 12))

    @property
    def debtor_countries(self) -> tuple[Country, ...]:
        return tuple(c for c in COUNTRIES if not self.countries or c.code in self.countries)

    def law_of(self, tenant: str) -> str:
        return TENANT_LAWS[list(self.tenants).index(tenant) % len(TENANT_LAWS)]


@dataclass(frozen=True)
class DebtorHistory:
    tenant: str
    debtor_id: str
    behaviour: str
    country: str
    envelopes: tuple[Envelope, ...]

    @property
    def account(self) -> str:
        return account_key(self.tenant, self.debtor_id)


@dataclass(frozen=True)
class History:
    plan: Plan
    debtors: tuple[DebtorHistory, ...]

    @property
    def envelopes(self) -> list[Envelope]:
        """Every envelope in time order (ties: debtor, then the order they were recorded)."""
        ranked = [
            (envelope.time, number, position, envelope)
            for number, debtor in enumerate(self.debtors)
            for position, envelope in enumerate(debtor.envelopes)
        ]
        ranked.sort(key=lambda row: row[:3])
        return [row[3] for row in ranked]

    def keys(self) -> dict[str, bytes]:
        """Each debtor account's key: what opens its sealed personal data."""
        return {debtor.account: demo_key(debtor.account) for debtor in self.debtors}


def generate(plan: Plan) -> History:
    if plan.claims < 0:
        raise ValueError("claims must be 0 or more")
    if not plan.tenants:
        raise ValueError("at least one tenant")
    if set(plan.countries) - {country.code for country in COUNTRIES}:
        raise ValueError(f"countries: among {', '.join(c.code for c in COUNTRIES)}")
    unknown = set(plan.mix) - set(BEHAVIOURS)
    if unknown or not any(weight > 0 for weight in plan.mix.values()):
        raise ValueError(f"mix: weights of {', '.join(BEHAVIOURS)}, one at least positive")
    rules = Rules.load()
    shares = {name: plan.mix.get(name, 0) for name in BEHAVIOURS}
    total_share = sum(shares.values())
    counts = dict.fromkeys(BEHAVIOURS, 0)
    debtors: list[DebtorHistory] = []
    left = plan.claims
    while left > 0:
        number = len(debtors)
        # The behaviour furthest below its share so far: every behaviour shows up early, and
        # the mix holds for a small history too.
        behaviour = max(
            BEHAVIOURS, key=lambda name: shares[name] / total_share * (number + 1) - counts[name]
        )
        counts[behaviour] += 1
        rng = random.Random(f"{plan.seed}:{number}")
        fewest, most = plan.claims_per_debtor or CLAIMS_PER_DEBTOR[behaviour]
        claims = min(left, rng.randint(fewest, most))
        left -= claims
        debtors.append(_debtor(plan, rules, number, behaviour, claims, rng))
    return History(plan, tuple(debtors))


def _debtor(
    plan: Plan, rules: Rules, number: int, behaviour: str, claims: int, rng: random.Random
) -> DebtorHistory:
    tenant = plan.tenants[number % len(plan.tenants)]
    country = rng.choice(plan.debtor_countries)
    debtor_id = f"{country.code}-{number:06d}"
    account_name = account_key(tenant, debtor_id)
    key = demo_key(account_name)
    debtor = _describe(country, debtor_id, rng, lambda text: seal(key, account_name, text))
    end = datetime.combine(plan.end + timedelta(days=1), time(0), tzinfo=UTC)
    account = Account(tenant, debtor, rng, end, lambda text: seal(key, account_name, text))
    law = plan.law_of(tenant)
    issued = _issue_dates(plan, behaviour, claims, rng)
    scale = Decimal(str(round(math.exp(rng.gauss(0, 0.6)), 3)))
    simulated = []
    for index, issued_on in enumerate(issued):
        amount = _amount(country, scale, rng)
        due_on = issued_on + timedelta(days=rng.choice(country.terms))
        claim = SimulatedClaim(
            account=account,
            claim_id=new_id(rng),
            amount=amount,
            currency=country.currency,
            issued_on=issued_on,
            due_on=due_on,
            rule=rules.late_fees.resolve(law),
        )
        registered = ClaimRegistered(
            claim_id=claim.claim_id,
            invoice_number=f"INV-{number:06d}-{index + 1:03d}",
            amount=amount,
            currency=country.currency,
            issued_on=issued_on,
            due_on=due_on,
            debtor=debtor,
            registered_at=account.end,  # replaced by the moment it is recorded
            governing_law=law,
            governing_law_source="tenant",
        )
        if claim.register(issued_on + timedelta(days=rng.randint(0, 3)), registered, rules, law):
            simulated.append(claim)
    if simulated:
        PAYING[behaviour](simulated, rng)
    return DebtorHistory(
        tenant=tenant,
        debtor_id=debtor_id,
        behaviour=behaviour,
        country=country.code,
        envelopes=tuple(account.envelopes),
    )


def _describe(country: Country, debtor_id: str, rng: random.Random, sealed) -> Debtor:
    surname = rng.choice(country.words)
    trade = rng.choice(country.trades)
    slug = "".join(ch for ch in surname.lower() if ch.isascii() and ch.isalnum())
    contact = Contact(
        name=sealed(f"{rng.choice(FIRST_NAMES)} {rng.choice(country.words)}"),
        email=sealed(f"accounts@{slug}-{debtor_id.lower()}.{country.email_domain}"),
        phone=sealed(f"{country.phone_prefix} {rng.randint(100_000_000, 999_999_999)}"),
        role_sealed=sealed("accounts payable"),
    )
    return Debtor(
        id=debtor_id,
        legal_name=f"{trade} {surname} {country.suffix}",
        country=country.code,
        language=country.language,
        timezone=country.timezone,
        contacts=(contact,),
    )


def _issue_dates(plan: Plan, behaviour: str, claims: int, rng: random.Random) -> list[date]:
    """Invoices spread over the debtor's time as a customer: most debtors are there from the
    start (a loyal one always is), some join later; an insolvent one's invoices stop some
    months before the end."""
    span = (plan.end - plan.start).days
    # Up to two months in, or a sixth of a history shorter than a year (a demo of weeks).
    early = min(60, span // 6)
    joins_late = behaviour != "loyal_temporary_difficulty" and rng.random() < 0.2
    first = rng.randint(early, span * 6 // 10) if joins_late else rng.randint(0, early)
    last = span - 5
    if behaviour == "insolvent":
        last = first + int((last - first) * rng.uniform(0.5, 0.85))
    step = max(1, (last - first) // claims)
    return sorted(
        plan.start + timedelta(days=first + index * step + rng.randint(0, max(0, step // 3)))
        for index in range(claims)
    )


def _amount(country: Country, scale: Decimal, rng: random.Random) -> Decimal:
    """An invoice amount around EUR 2,500, in the country's currency."""
    euros = min(150_000.0, max(80.0, math.exp(rng.gauss(math.log(2_500), 0.9))))
    local = Decimal(str(round(euros, 2))) * scale * country.per_euro
    return money.quantize(local, country.currency)
