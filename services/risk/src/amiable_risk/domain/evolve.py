"""The debtor account's state after one more event of the log: total (an event about a claim
risk never saw changes nothing), in log order, on event time only.

After each event the assessment is recomputed for the debtor's local date of that event.
Whether the event *publishes* it (``publish``) and which signals it *raises* (``raised``) are
part of the state too, decided here once, so the reaction that emits ``RiskAssessed`` and
``RiskAlertRaised`` is a plain read of the state, and the same whether a batch of the runner
holds one event or a thousand.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from amiable_events.claims import (
    ClaimAdjusted,
    ClaimCancelled,
    ClaimQualified,
    ClaimRegistered,
    ClaimRejected,
    ClaimSettled,
    ClaimWrittenOff,
    DebtorPersonalDataErased,
    PaymentPlanDefaulted,
    PaymentReceived,
    PromiseBroken,
)
from amiable_events.envelope import Envelope
from amiable_events.risk import CreditLimitSet, InsolvencyRecorded, RiskAssessed, SegmentOverridden
from amiable_risk.domain.assess import assess, signals
from amiable_risk.domain.features import YEAR, features, month_of, months_before
from amiable_risk.domain.scorecard import Scorecard
from amiable_risk.domain.state import (
    Account,
    CreditLimit,
    MonthVolume,
    OpenClaim,
    Override,
    Proceeding,
    RecentClaim,
    Settled,
    zone,
)

Updates = dict[str, Any]
Handler = Callable[[Account, Any, date, Scorecard], Updates]


def _registered(account: Account, event: ClaimRegistered, day: date, sc: Scorecard) -> Updates:
    claim_id = str(event.claim_id)
    if claim_id in account.open or any(c.claim_id == claim_id for c in account.recent_claims):
        return {}
    month = month_of(event.issued_on)
    volume = account.months.get(month, MonthVolume())
    first = account.first_claim_on
    return {
        "country": event.debtor.country,
        "timezone": event.debtor.timezone,
        "first_claim_on": event.issued_on if first is None else min(first, event.issued_on),
        "open": {
            **account.open,
            claim_id: OpenClaim(
                principal=event.amount,
                currency=event.currency,
                issued_on=event.issued_on,
                due_on=event.due_on,
            ),
        },
        "months": {
            **account.months,
            month: MonthVolume(claims=volume.claims + 1, amount=volume.amount + event.amount),
        },
        "recent_claims": (*account.recent_claims, RecentClaim(claim_id=claim_id))[
            -sc.history.recent_claims :
        ],
    }


def _paid(account: Account, event: PaymentReceived | ClaimAdjusted, day, sc) -> Updates:
    claim = account.open.get(str(event.claim_id))
    if claim is None:
        return {}
    paid = claim.model_copy(update={"principal": max(Decimal(0), claim.principal - event.amount)})
    return {"open": {**account.open, str(event.claim_id): paid}}


def _settled(account: Account, event: ClaimSettled, day: date, sc: Scorecard) -> Updates:
    claim = account.open.get(str(event.claim_id))
    if claim is None:
        return {}
    settled = Settled(issued_on=claim.issued_on, due_on=claim.due_on, settled_on=event.settled_on)
    return {
        "open": _without(account.open, str(event.claim_id)),
        "settlements": (*account.settlements, settled)[-sc.history.settlements :],
    }


def _closed(account: Account, event: ClaimWrittenOff | ClaimCancelled, day, sc) -> Updates:
    return {"open": _without(account.open, str(event.claim_id))}


def _without(open_claims: dict[str, OpenClaim], claim_id: str) -> dict[str, OpenClaim]:
    return {key: claim for key, claim in open_claims.items() if key != claim_id}


def _unchanged(account: Account, event, day: date, sc: Scorecard) -> Updates:
    return {}


def _promise_broken(account: Account, event: PromiseBroken, day: date, sc) -> Updates:
    return {"broken_promises": (*account.broken_promises, day)}


def _plan_defaulted(account: Account, event: PaymentPlanDefaulted, day: date, sc) -> Updates:
    return {"defaulted_plans": (*account.defaulted_plans, day)}


def _erased(account: Account, event: DebtorPersonalDataErased, day: date, sc) -> Updates:
    if account.override is None or account.override.reason is None:
        return {}
    return {"override": account.override.model_copy(update={"reason": None})}


def _insolvency(account: Account, event: InsolvencyRecorded, day: date, sc) -> Updates:
    return {
        "proceeding": Proceeding(
            kind=event.kind, opened_on=event.opened_on, reference=event.reference
        )
    }


def _credit_limit(account: Account, event: CreditLimitSet, day: date, sc) -> Updates:
    return {"credit_limit": CreditLimit(amount=event.amount, currency=event.currency)}


def _overridden(account: Account, event: SegmentOverridden, day: date, sc) -> Updates:
    return {"override": Override(segment=event.segment, until=event.until, reason=event.reason)}


#: The events that can publish an assessment or raise a signal (the reactions' table). A
#: registration is not one: its claim's qualification, right after it, publishes.
REACTS_TO: dict[type, Handler] = {
    ClaimQualified: _unchanged,
    ClaimRejected: _unchanged,
    PaymentReceived: _paid,
    ClaimAdjusted: _paid,
    ClaimSettled: _settled,
    ClaimWrittenOff: _closed,
    ClaimCancelled: _closed,
    PromiseBroken: _promise_broken,
    PaymentPlanDefaulted: _plan_defaulted,
    InsolvencyRecorded: _insolvency,
    CreditLimitSet: _credit_limit,
    SegmentOverridden: _overridden,
}
HANDLERS: dict[type, Handler] = {
    **REACTS_TO,
    ClaimRegistered: _registered,
    DebtorPersonalDataErased: _erased,
    RiskAssessed: _unchanged,
}


def follows(envelope: Envelope) -> bool:
    return type(envelope.data) in HANDLERS


def local_date(envelope: Envelope, timezone: str) -> date:
    return envelope.time.astimezone(zone(timezone)).date()


def evolve(state: Account | None, envelope: Envelope, scorecard: Scorecard) -> Account | None:
    event = envelope.data
    kind = type(event)
    handler = HANDLERS.get(kind)
    if handler is None:
        return state
    account = state or Account(debtor_id=envelope.debtor_id)
    day = local_date(envelope, account.timezone)
    if kind is RiskAssessed:  # a time-passed assessment moves the day on to its own
        day = max(day, event.as_of)
    as_of = day if account.as_of is None else max(account.as_of, day)
    account = account.model_copy(update=handler(account, event, day, scorecard))
    pruned = _pruned(account, as_of, scorecard)
    if pruned:
        account = account.model_copy(update=pruned)
    facts = features(account, as_of, scorecard)
    assessment = assess(account, facts, scorecard)
    decided: Updates = {"as_of": as_of, "assessment": assessment, "publish": False, "raised": ()}
    if account.assessment != assessment:
        decided["assessed_at"] = envelope.time
    if kind is RiskAssessed:
        decided["published"] = (event.band, event.grade, event.segment)
    elif kind in REACTS_TO:
        if kind is ClaimQualified or assessment.key != account.published:
            decided |= {"publish": True, "published": assessment.key}
        active = signals(account, facts, scorecard)
        decided["raised"] = tuple(a for a in active if a.signal not in account.alerts)
        decided["alerts"] = tuple(a.signal for a in active)
    return account.model_copy(update=decided)


def _pruned(account: Account, as_of: date, scorecard: Scorecard) -> Updates:
    """What no feature looks at any more (so the state stays small); empty when nothing is."""
    since = as_of - timedelta(days=YEAR)
    oldest_month = months_before(as_of, scorecard.history.baseline_months)[-1]
    pruned: Updates = {}
    for name in ("broken_promises", "defaulted_plans", "disputes"):
        days = getattr(account, name)
        if days and days[0] <= since:
            pruned[name] = tuple(d for d in days if d > since)
    if any(month < oldest_month for month in account.months):
        pruned["months"] = {m: v for m, v in account.months.items() if m >= oldest_month}
    return pruned


def dispute_opened(account: Account, claim_id: str, on: date) -> Account:
    """A dispute opened on one of the debtor's claims. The disputes service's ``DisputeOpened``
    (issue 10) will call this from its handler; the features already count disputes."""
    return account.model_copy(
        update={
            "disputes": (*account.disputes, on),
            "recent_claims": tuple(
                c.model_copy(update={"disputed": True}) if c.claim_id == claim_id else c
                for c in account.recent_claims
            ),
        }
    )
