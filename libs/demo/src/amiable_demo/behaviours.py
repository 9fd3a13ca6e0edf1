"""How each kind of debtor pays its claims, oldest first. A behaviour gets the debtor's claims,
registered, and records what happens to each after registration (an event past the end of the
history is dropped as it is recorded).

- ``reliable``: pays within a few days of the due date, often before it;
- ``slowing``: on time at first, then a few more days late claim after claim;
- ``chronic_late_payer``: 30 to 60 days late, promises to pay and often breaks the promise;
- ``loyal_temporary_difficulty``: years of reliable payment, then a squeeze: a few claims late
  and one on a payment plan, then reliable again;
- ``disputing``: disputes on many claims, each settled a week later by a credit note (partial,
  some cancelling the invoice), and late;
- ``insolvent``: slows down fast, stops paying, enters collective proceedings; its open claims
  are written off.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from decimal import Decimal

from amiable_demo.simulate import INSTALLMENT_GRACE_DAYS, SimulatedClaim
from amiable_rules import money

BEHAVIOURS: tuple[str, ...] = (
    "reliable",
    "slowing",
    "chronic_late_payer",
    "loyal_temporary_difficulty",
    "disputing",
    "insolvent",
)
#: Share of debtors per behaviour, in percent.
DEFAULT_MIX: dict[str, int] = {
    "reliable": 40,
    "slowing": 12,
    "chronic_late_payer": 14,
    "loyal_temporary_difficulty": 12,
    "disputing": 12,
    "insolvent": 10,
}
#: How many claims a debtor of each behaviour has over the history (fewest, most).
CLAIMS_PER_DEBTOR: dict[str, tuple[int, int]] = {
    "reliable": (6, 30),
    "slowing": (10, 30),
    "chronic_late_payer": (6, 30),
    "loyal_temporary_difficulty": (18, 36),
    "disputing": (6, 30),
    "insolvent": (8, 24),
}

#: A disputing debtor's credit note follows its dispute (``DisputeOpened``) by this long.
DISPUTED_BEFORE_CREDIT = timedelta(days=7)

Behaviour = Callable[[Sequence[SimulatedClaim], random.Random], None]


def days(count: int) -> timedelta:
    return timedelta(days=count)


def punctual_delay(rng: random.Random) -> int:
    """Days late of a reliable payer: mostly before or just after the due date."""
    draw = rng.random()
    if draw < 0.8:
        return rng.randint(-10, 2)
    if draw < 0.96:
        return rng.randint(3, 10)
    return rng.randint(11, 25)


def reliable(claims: Sequence[SimulatedClaim], rng: random.Random) -> None:
    for claim in claims:
        claim.pay(claim.due_on + days(punctual_delay(rng)))


def slowing(claims: Sequence[SimulatedClaim], rng: random.Random) -> None:
    onset = len(claims) // 3
    growth = rng.uniform(1.5, 4.0)
    for index, claim in enumerate(claims):
        if index < onset:
            delay = rng.randint(-5, 3)
        else:
            delay = round(rng.randint(0, 4) + growth * (index - onset) + rng.uniform(-2, 2))
        claim.pay(claim.due_on + days(min(delay, 120)))


def _pay_after_promise(claim: SimulatedClaim, rng: random.Random, pay_on: date) -> None:
    """Promise to pay some days ahead; keep it, or break it and pay later than ``pay_on``."""
    promised_on = claim.not_before(claim.due_on + days(rng.randint(20, 35))) + days(
        rng.randint(5, 15)
    )
    promise = claim.promise(promised_on - days(rng.randint(3, 10)), promised_on)
    if promise is None:
        return
    if rng.random() < 0.4:
        claim.pay(promised_on - days(rng.randint(0, 2)))
        return
    broken_on = claim.break_promise(promise[0], promised_on, promise[1])
    claim.pay(max(pay_on, broken_on + days(rng.randint(3, 20))))


def chronic_late_payer(claims: Sequence[SimulatedClaim], rng: random.Random) -> None:
    for claim in claims:
        pay_on = claim.due_on + days(rng.randint(30, 60))
        draw = rng.random()
        if draw < 0.5:
            _pay_after_promise(claim, rng, pay_on)
            continue
        if draw < 0.7:
            half = money.quantize(claim.amount / 2, claim.currency)
            claim.pay(pay_on - days(rng.randint(10, 20)), half)
        claim.pay(pay_on)


def _on_plan(claim: SimulatedClaim, rng: random.Random) -> None:
    """A plan of three monthly instalments, paid on time but one, sometimes, late."""
    installments = claim.agree_plan(claim.due_on + days(rng.randint(10, 25)), 3)
    late = 1 if rng.random() < 0.3 else None
    for index, installment in enumerate(installments):
        if index == late:
            claim.miss_installment(index)
            paid_on = installment.due_on + days(INSTALLMENT_GRACE_DAYS + rng.randint(2, 10))
        else:
            paid_on = installment.due_on - days(rng.randint(0, 3))
        claim.pay(paid_on, installment.amount)


def loyal_temporary_difficulty(claims: Sequence[SimulatedClaim], rng: random.Random) -> None:
    squeeze = int(len(claims) * rng.uniform(0.6, 0.8))
    length = rng.randint(2, 4)
    for index, claim in enumerate(claims):
        if index == squeeze:
            _on_plan(claim, rng)
        elif squeeze < index < squeeze + length:
            claim.pay(claim.due_on + days(rng.randint(20, 50)))
        else:
            claim.pay(claim.due_on + days(punctual_delay(rng)))


def disputing(claims: Sequence[SimulatedClaim], rng: random.Random) -> None:
    for claim in claims:
        draw = rng.random()
        reference = f"CN-{claim.claim_id.hex[:8].upper()}"
        if draw < 0.15:
            credited_on = claim.due_on + days(rng.randint(-10, 20))
            claim.dispute(credited_on - DISPUTED_BEFORE_CREDIT)
            claim.cancel(credited_on, reference, "goods returned: the whole delivery was disputed")
            continue
        if draw < 0.6:
            share = Decimal(rng.randint(10, 40)) / 100
            credited_on = claim.due_on + days(rng.randint(-5, 20))
            reason = rng.choice(
                ("damaged goods", "short delivery", "price disagreement", "service not rendered")
            )
            claim.dispute(
                credited_on - DISPUTED_BEFORE_CREDIT,
                money.quantize(claim.amount * share, claim.currency),
            )
            claim.adjust(credited_on, share, reference, reason)
            claim.pay(claim.due_on + days(rng.randint(15, 50)))
        else:
            claim.pay(claim.due_on + days(rng.randint(5, 40)))


def insolvent(claims: Sequence[SimulatedClaim], rng: random.Random) -> None:
    """The debtor's claims end with its insolvency: ``claims`` are all it got. The proceedings
    open after every claim fell due, so each fixed fee was already owed and the claims service
    waives none (it appends no ``FixedFeeWaived``)."""
    growth = rng.uniform(3.0, 7.0)
    unpaid_from = len(claims) - rng.randint(2, 4)
    last_due = max(claim.due_on for claim in claims)
    opened_on = last_due + days(rng.randint(15, 60))
    unpaid = []
    for index, claim in enumerate(claims):
        pay_on = claim.due_on + days(round(rng.randint(-3, 5) + growth * index))
        if index >= unpaid_from or pay_on >= opened_on:
            unpaid.append(claim)
            continue
        claim.pay(pay_on)
    if unpaid and rng.random() < 0.6:
        claim = unpaid[0]
        promised_on = claim.not_before(claim.due_on + days(rng.randint(10, 20)))
        promise = claim.promise(promised_on - days(rng.randint(3, 7)), promised_on)
        if promise is not None:
            claim.break_promise(promise[0], promised_on, promise[1])
    account = claims[0].account
    kind = rng.choices(("safeguard", "receivership", "liquidation"), weights=(2, 3, 5))[0]
    reference = f"RG {opened_on.year}/{rng.randint(10000, 99999)}"
    recorded_on = opened_on + days(rng.randint(2, 15))
    if not account.insolvency(recorded_on, kind, opened_on, reference):
        return
    for claim in unpaid:
        claim.write_off(
            recorded_on + days(rng.randint(30, 150)),
            f"collective proceedings ({kind}) opened on {opened_on.isoformat()}, {reference}",
        )


PAYING: dict[str, Behaviour] = {
    "reliable": reliable,
    "slowing": slowing,
    "chronic_late_payer": chronic_late_payer,
    "loyal_temporary_difficulty": loyal_temporary_difficulty,
    "disputing": disputing,
    "insolvent": insolvent,
}
