"""The portfolio reads in SQL (``adapters/portfolio.py``) give exactly what the pure reference
``domain/kpis.py`` gives over the same claims: every KPI, aged balance and statement's aged
principal, to the last digit and the printed scale ("0" and "0.00" are different answers).

Varied portfolios are generated from seeds (deterministic: a failure names its seed): claims in
currencies of 0, 2 and 3 decimals, amounts written with more or fewer decimals, payments before
and after registration, overpayments, credit notes, claims settled, written off or cancelled,
events after the closure, registrations at times whose UTC date is not their local date, claims
not issued yet at some dates, and periods that cut through all of it (and, for the statements'
amounts due, governing laws, contractual terms and payment plans). The events go through the
projector in batches of random sizes, as the runner applies them, into a real PostgreSQL schema;
the reference folds the same events in Python.
"""

from __future__ import annotations

import dataclasses
import json
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import get_args

import pytest
from sqlalchemy import text

from amiable_claims.adapters.portfolio import PortfolioReadModel, StatementClaim
from amiable_claims.adapters.projector import ClaimsProjector
from amiable_claims.domain import kpis, risk_mix
from amiable_claims.domain.evolve import fold
from amiable_claims.domain.figures import amount_due
from amiable_claims.domain.state import Claim
from amiable_claims.main import policy
from amiable_claims.settings import ClaimsSettings
from amiable_events.catalog import REGISTRY
from amiable_events.claims import (
    ClaimAdjusted,
    ClaimCancelled,
    ClaimRegistered,
    ClaimSettled,
    ClaimWrittenOff,
    ContractualInterest,
    Debtor,
    Installment,
    LatePaymentTerms,
    PaymentPlanAgreed,
    PaymentReceived,
)
from amiable_events.db import create_engine
from amiable_events.envelope import Envelope
from amiable_events.projection import ProjectionStore
from amiable_events.risk import Grade, RiskAssessed, Segment

pytestmark = pytest.mark.integration

BASE = date(2026, 3, 1)
#: currency -> decimals of its minor unit
CURRENCIES = {"EUR": 2, "JPY": 0, "KWD": 3, "USD": 2}
DEBTORS = ("D-1", "D-2", "D-3")
RULES = policy(ClaimsSettings(env="dev"))


@pytest.fixture(scope="module")
async def reads(infra):
    """A claims projection schema of the module's own, and the portfolio reads on it."""
    engine = create_engine(infra.database_url, "amiable_claims")
    store = ProjectionStore(
        ClaimsProjector(RULES),
        engine,
        REGISTRY,
        schema=f"portfolio_sql_{uuid.uuid4().hex[:10]}",
    )
    await store.create(fresh=True)
    try:
        yield store, PortfolioReadModel(store)
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{store.schema}" CASCADE'))
        await engine.dispose()


def _amount(rng: random.Random, currency: str, high: int) -> Decimal:
    """A positive amount of at most ``high`` major units, written with 0 to the currency's
    decimals ("1250", "1250.5", "1250.50")."""
    digits = CURRENCIES[currency]
    places = rng.randint(0, digits)
    units = rng.randint(1, high * 10**places)
    return Decimal(units).scaleb(-places)


def _day(rng: random.Random, low: int, high: int) -> date:
    return BASE + timedelta(days=rng.randint(low, high))


def _at(rng: random.Random, day: date) -> datetime:
    """A moment of ``day`` in UTC, or in a zone where it is already (or still) another UTC day."""
    zone = rng.choice([UTC, UTC, timezone(timedelta(hours=9)), timezone(timedelta(hours=-7))])
    return datetime.combine(day, time(rng.randint(0, 23), rng.randint(0, 59)), tzinfo=zone)


def _envelopes(tenant: str, debtor_id: str, claim_id: uuid.UUID):
    """Makes the claim's envelopes: (event, step, moment) -> Envelope."""

    def envelope(data, step: str, moment: datetime) -> Envelope:
        return Envelope(
            id=uuid.uuid5(claim_id, step),
            subject=str(claim_id),
            time=moment,
            tenant=tenant,
            debtor_id=debtor_id,
            correlation_id=claim_id,
            data=data,
        )

    return envelope


def portfolio(seed: int, tenant: str) -> list[Envelope]:
    """Seed ``seed``'s claims of ``tenant`` as events, in a log order (each claim's events
    after its registration, claims interleaved)."""
    rng = random.Random(seed)
    streams = []
    for n in range(rng.randint(1, 40)):
        claim_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}/{n}")
        debtor_id = rng.choice(DEBTORS)
        currency = rng.choice(list(CURRENCIES))
        amount = _amount(rng, currency, 5000)
        issued_on = _day(rng, -200, 200)
        due_on = issued_on + timedelta(days=rng.randint(0, 90))
        registered_on = issued_on + timedelta(days=rng.randint(-20, 120))
        envelope = _envelopes(tenant, debtor_id, claim_id)
        registered_at = _at(rng, registered_on)
        events = [
            envelope(
                ClaimRegistered(
                    claim_id=claim_id,
                    invoice_number=f"INV-{n}",
                    amount=amount,
                    currency=currency,
                    issued_on=issued_on,
                    due_on=due_on,
                    debtor=Debtor(
                        id=debtor_id,
                        legal_name=f"{debtor_id} SA",
                        country="FR",
                        language="fr-FR",
                        timezone="Europe/Paris",
                    ),
                    registered_at=registered_at,
                    # for the statement's amounts due: the rule and its terms
                    governing_law=rng.choice([None, "FR", "DE", "GB", "none"]),
                    late_payment_terms=rng.choice(
                        [
                            None,
                            None,
                            LatePaymentTerms(
                                interest=ContractualInterest(kind="fixed", rate=Decimal("9.5")),
                                fixed_fee=_amount(rng, currency, 60),
                            ),
                        ]
                    ),
                ),
                "registered",
                registered_at,
            )
        ]
        later = []
        for k in range(rng.choice([0, 0, 1, 1, 2, 3])):
            on = registered_on + timedelta(days=rng.randint(-40, 200))
            later.append(
                envelope(
                    PaymentReceived(
                        claim_id=claim_id,
                        payment_id=uuid.uuid5(claim_id, f"payment-{k}"),
                        amount=_amount(rng, currency, int(amount * Decimal("0.8")) + 1),
                        currency=currency,
                        received_on=on,
                        recorded_at=_at(rng, on),
                    ),
                    f"payment-{k}",
                    _at(rng, on),
                )
            )
        for k in range(rng.choice([0, 0, 0, 1, 2])):
            on = issued_on + timedelta(days=rng.randint(-10, 200))
            later.append(
                envelope(
                    ClaimAdjusted(
                        claim_id=claim_id,
                        amount=_amount(rng, currency, int(amount / 3) + 1),
                        credit_note_reference=f"CN-{n}-{k}",
                        adjusted_on=on,
                        adjusted_at=_at(rng, on),
                    ),
                    f"credit-{k}",
                    _at(rng, on),
                )
            )
        if rng.random() < 0.2:
            on = registered_on + timedelta(days=rng.randint(0, 60))
            later.append(
                envelope(
                    PaymentPlanAgreed(
                        claim_id=claim_id,
                        plan_id=uuid.uuid5(claim_id, "plan"),
                        agreed_on=on,
                        installments=(Installment(due_on=on + timedelta(days=30), amount=amount),),
                        grace_days=5,
                        agreed_at=_at(rng, on),
                    ),
                    "plan",
                    _at(rng, on),
                )
            )
        if rng.random() < 0.35:
            on = registered_on + timedelta(days=rng.randint(-5, 200))
            moment = datetime.combine(on, time(12), tzinfo=UTC)
            closing = rng.choice(
                [
                    ClaimSettled(claim_id=claim_id, settled_on=on, overpaid=Decimal(0)),
                    ClaimWrittenOff(claim_id=claim_id, reason="insolvent", written_off_at=moment),
                    ClaimCancelled(claim_id=claim_id, reason="not owed", cancelled_at=moment),
                ]
            )
            # a payment or a credit note may come after the closure
            later.insert(rng.randint(0, len(later)), envelope(closing, "closed", moment))
        streams.append(events + later)
    log = []
    while streams:  # interleave the claims, each one's events in their order
        stream = rng.choice(streams)
        log.append(stream.pop(0))
        if not stream:
            streams.remove(stream)
    return log


async def apply(
    store: ProjectionStore, envelopes: list[Envelope], partition: int, rng: random.Random
) -> None:
    """Through the projector, in batches of random sizes (a claim's events may span several);
    ``partition``: a position of the test's own in the timeline."""
    positioned = [
        dataclasses.replace(e, partition=partition, offset=i) for i, e in enumerate(envelopes)
    ]
    while positioned:
        size = rng.randint(1, 25)
        batch, positioned = positioned[:size], positioned[size:]
        async with store.transaction() as conn:
            await conn.execute(text("SELECT 1"))  # begin: Bulk writes in the transaction
            await store.projector.apply_many(conn, batch)


def facts_of(envelopes: list[Envelope]) -> tuple[list[kpis.ClaimFacts], dict]:
    """The reference's facts of each claim, and its state (by claim id)."""
    by_claim: dict[str, list[Envelope]] = {}
    for envelope in envelopes:
        by_claim.setdefault(envelope.subject, []).append(envelope)
    states = {claim_id: fold(events) for claim_id, events in by_claim.items()}
    return [kpis.claim_facts(state) for state in states.values()], states


def printed(value) -> str:
    return json.dumps(value, sort_keys=False)


def dates(rng: random.Random) -> list[date]:
    return sorted({_day(rng, -260, 420) for _ in range(4)} | {BASE})


@pytest.mark.parametrize("seed", range(40))
async def test_sql_figures_are_the_reference_figures(reads, seed):
    store, portfolio_reads = reads
    tenant = f"seed-{seed}-{uuid.uuid4().hex[:6]}"
    rng = random.Random(1000 + seed)
    envelopes = portfolio(seed, tenant)
    await apply(store, envelopes, seed, rng)
    facts, states = facts_of(envelopes)
    currencies = kpis.currencies(facts)

    for _ in range(4):
        start = _day(rng, -260, 400)
        end = start + timedelta(days=rng.choice([0, 1, 30, 90, 365]))
        expected = [kpis.kpis(facts, start, end, currency=c).as_dict() for c in currencies]
        found = [k.as_dict() for k in await portfolio_reads.period_kpis(tenant, start, end)]
        assert printed(found) == printed(expected), (seed, start, end)

    for day in dates(rng):
        expected = [kpis.aged_balance(facts, day, currency=c).as_dict() for c in currencies]
        found = [a.as_dict() for a in await portfolio_reads.aged_balances(tenant, day)]
        assert printed(found) == printed(expected), (seed, day)

        for debtor_id in DEBTORS:
            open_claims = sorted(
                (
                    s
                    for s in states.values()
                    if s.debtor_id == debtor_id
                    and not s.closed
                    and kpis.claim_facts(s).registered_on <= day
                ),
                key=lambda s: (s.due_on, str(s.claim_id)),
            )
            open_facts = [kpis.claim_facts(s) for s in open_claims]
            expected_aged = {
                c: kpis.aged_balance(open_facts, day, currency=c, style="statement").as_dict()
                for c in kpis.currencies(open_facts)
            }
            found = await portfolio_reads.debtor_open_claims(tenant, debtor_id, day)
            assert [json.loads(s)["claim_id"] for s in found.states] == [
                str(s.claim_id) for s in open_claims
            ], (seed, debtor_id, day)
            assert printed({c: a.as_dict() for c, a in found.aged.items()}) == printed(
                expected_aged
            ), (seed, debtor_id, day)
            # A statement line's amounts from the fields it reads are the claim's own.
            for state in found.states:
                assert amount_due(StatementClaim.model_validate_json(state), day, RULES) == (
                    amount_due(Claim.model_validate_json(state), day, RULES)
                )


def assessments(rng: random.Random, tenant: str) -> list[Envelope]:
    """RiskAssessed events of the debtors but the last (never assessed), some assessed twice."""
    found = []
    for debtor_id in DEBTORS[:-1]:
        for n in range(rng.randint(1, 2)):
            event = RiskAssessed(
                debtor_id=debtor_id,
                score=rng.randint(0, 100),
                band=0,
                grade=rng.choice(get_args(Grade)),
                segment=rng.choice(get_args(Segment)),
                scored_segment="reliable",
                reasons=(),
                scorecard_version="test",
                as_of=BASE,
                assessed_at=datetime.combine(BASE, time(12), tzinfo=UTC),
                trigger="time_passed",
            )
            found.append(
                Envelope(
                    id=uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}/{debtor_id}/{n}"),
                    subject=event.subject,
                    time=event.assessed_at,
                    tenant=tenant,
                    debtor_id=debtor_id,
                    correlation_id=uuid.uuid4(),
                    data=event,
                )
            )
    return found


@pytest.mark.parametrize("seed", range(10))
async def test_sql_risk_mix_is_the_reference_mix(reads, seed):
    """Each debtor in the line of its latest assessment, the last debtor unassessed."""
    store, portfolio_reads = reads
    tenant = f"mix-{seed}-{uuid.uuid4().hex[:6]}"
    rng = random.Random(2000 + seed)
    claims = portfolio(seed, tenant)
    log, risk = list(claims), assessments(rng, tenant)
    for position, envelope in zip(
        sorted(rng.randint(0, len(log)) for _ in risk), risk, strict=True
    ):
        log.insert(position, envelope)  # in their order, among the claims' events
    await apply(store, log, 100 + seed, rng)
    _, states = facts_of(claims)
    latest = {e.debtor_id: risk_mix.Assessment(e.data.grade, e.data.segment) for e in risk}
    currencies = kpis.currencies(kpis.claim_facts(s) for s in states.values())
    pairs = [(s.debtor_id, kpis.claim_facts(s)) for s in states.values()]
    graded = 0  # debtors counted under a grade, over the dates: the mix is not all unassessed
    for day in dates(rng):
        expected = {
            c: risk_mix.mix(
                c, day, risk_mix.groups(risk_mix.debtor_balances(pairs, day, c), latest)
            ).as_dict()
            for c in currencies
        }
        found = await portfolio_reads.risk_mix(tenant, day, currencies)
        assert printed({c: m.as_dict() for c, m in found.items()}) == printed(expected), (
            seed,
            day,
        )
        graded += sum(line["debtors"] for m in expected.values() for line in m["by_grade"][:-1])
    assert graded > 0


async def test_a_tenant_with_no_claims_has_no_figures(reads):
    _, portfolio_reads = reads
    assert await portfolio_reads.period_kpis("nobody", BASE, BASE) == []
    assert await portfolio_reads.aged_balances("nobody", BASE) == []
    found = await portfolio_reads.debtor_open_claims("nobody", "D-1", BASE)
    assert found.states == [] and found.aged == {}
