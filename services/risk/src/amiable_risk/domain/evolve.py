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
from amiable_events.disputes import DisputeOpened, HardshipDeclared
from amiable_events.envelope import Envelope
from amiable_events.risk import CreditLimitSet, InsolvencyRecorded, RiskAssessed, SegmentOverridden
from amiable_risk.domain.assess import assess, signals
from amiable_risk.domain.features import YEAR, features, month_of, months_before
from amiable_risk.domain.scorecard import Scorecard
from amiable_risk.domain.state import (
    Account,
    CreditLimit,
    Dispute,
    MonthVolume,
    OpenClaim,
    Override,
    Proceeding,
    RecentClaim,
    Settled,
)
from amiable_rules.local_time import zone

Updates = dict[str, Any]
Handler = Callable[[Account, Any, date, Scorecard], Updates]


def _knows(account: Account, claim_id: str) -> bool:
    return claim_id in account.open or any(c.claim_id == claim_id for c in account.recent_claims)


def _registered(account: Account, event: ClaimRegistered, day: date, sc: Scorecard) -> Updates:
    claim_id = str(event.claim_id)
    if _knows(account, claim_id):
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


def _dispute_opened(account: Account, event: DisputeOpened, day: date, sc) -> Updates:
    claim_id, dispute_id = str(event.claim_id), str(event.dispute_id)
    if not _knows(account, claim_id) or any(d.dispute_id == dispute_id for d in account.disputes):
        return {}
    opened_on = event.opened_at.astimezone(zone(account.timezone)).date()
    dispute = Dispute(dispute_id=dispute_id, claim_id=claim_id, opened_on=opened_on)
    return {
        "disputes": (*account.disputes, dispute),
        "recent_claims": _flagged(account.recent_claims, claim_id, True),
    }


def _hardship(account: Account, event: HardshipDeclared, day: date, sc) -> Updates:
    """A sign of a temporary difficulty (``loyal_temporary_difficulty``). A dispute reclassified
    as a hardship was no contestation: it stops counting as a dispute."""
    claim_id = str(event.claim_id)
    if not _knows(account, claim_id):
        return {}
    declared_on = event.declared_at.astimezone(zone(account.timezone)).date()
    updates: Updates = {"hardships": (*account.hardships, declared_on)}
    if event.reclassified:
        disputes = tuple(d for d in account.disputes if d.dispute_id != str(event.dispute_id))
        still = any(d.claim_id == claim_id for d in disputes)
        updates |= {
            "disputes": disputes,
            "recent_claims": _flagged(account.recent_claims, claim_id, still),
        }
    return updates


def _flagged(recent: tuple[RecentClaim, ...], claim_id: str, disputed: bool):
    return tuple(
        c.model_copy(update={"disputed": disputed}) if c.claim_id == claim_id else c for c in recent
    )


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
    DisputeOpened: _dispute_opened,
    HardshipDeclared: _hardship,
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
    for name in ("broken_promises", "defaulted_plans", "hardships"):
        days = getattr(account, name)
        if days and days[0] <= since:
            pruned[name] = tuple(d for d in days if d > since)
    recent = {c.claim_id for c in account.recent_claims}
    kept = tuple(d for d in account.disputes if d.opened_on > since or d.claim_id in recent)
    if kept != account.disputes:
        pruned["disputes"] = kept
    if any(month < oldest_month for month in account.months):
        pruned["months"] = {m: v for m, v in account.months.items() if m >= oldest_month}
    return pruned
