"""What-if: a claim history replayed in memory against a policy, nothing appended. Pure.

Each debtor account is replayed on its own, as the service would (its state, its reactions and
its timers only ever touch that account): the history's events are folded in order with
``evolve``, each trigger's reactions (``react.TABLE``) are folded right after it, and time
passes by firing, in time order, every timer (``firing.timers``) due before the next event,
then, after the account's last event, every one due up to the horizon. The dunning events a
history holds (a plan the live service made) are left out: the policy under test makes its own.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from statistics import median
from typing import Literal
from uuid import UUID

from amiable_dunning.domain.evolve import evolve
from amiable_dunning.domain.firing import snooze_over, timers
from amiable_dunning.domain.policy import REMINDERS, Policy
from amiable_dunning.domain.react import TABLE, Desk, PolicyBook
from amiable_dunning.domain.state import Account, ClaimDunning, StepRecord
from amiable_events.claims import (
    ClaimAdjusted,
    ClaimCancelled,
    ClaimQualified,
    ClaimSettled,
    ClaimWrittenOff,
    PaymentReceived,
)
from amiable_events.dunning import EVENTS as DUNNING_EVENTS
from amiable_events.envelope import Envelope
from amiable_events.ids import caused_id, keyed_id, timer_event_id
from amiable_events.ledger import Figures

Outcome = Literal["sent", "skipped", "awaiting_approval"]
_OUTCOME: dict[str, Outcome] = {"done": "sent", "skipped": "skipped", "due": "awaiting_approval"}
_OWN_EVENTS = frozenset(DUNNING_EVENTS)
#: The claims a track column reports for a claim the policy never chased
NOT_CHASED = "not_chased"
#: How long after the history's last event the timers keep firing, by default
HORIZON = timedelta(days=120)
#: A rebuilt qualification's limitation date: dunning never reads it
LIMITATION = timedelta(days=5 * 365)


@dataclass(frozen=True)
class StepTaken:
    key: str
    action: str
    stage: str
    day: date
    outcome: Outcome
    reason: str | None


@dataclass(frozen=True)
class ClaimRun:
    """What the policy did to one claim."""

    claim_id: str
    debtor_id: str
    due_on: date
    track: str
    steps: tuple[StepTaken, ...]

    @property
    def contacts(self) -> int:
        return sum(step.outcome == "sent" for step in self.steps)

    @property
    def reminders(self) -> int:
        """Reminders sent; a letter and its email copy the same day are one reminder."""
        return len({s.day for s in self.steps if s.outcome == "sent" and s.action in REMINDERS})

    @property
    def days_to_first_contact(self) -> int | None:
        """From the due date to the first step sent; negative for a call before the due date."""
        sent = [s.day for s in self.steps if s.outcome == "sent"]
        return (min(sent) - self.due_on).days if sent else None

    def count(self, outcome: Outcome) -> int:
        return sum(step.outcome == outcome for step in self.steps)


@dataclass(frozen=True)
class Totals:
    claims: int
    contacted: int
    sent: int
    skipped: int
    awaiting_approval: int
    reminders: int
    reminders_per_claim: float
    mean_days_to_first_contact: float | None
    median_days_to_first_contact: float | None

    @classmethod
    def of(cls, runs: Iterable[ClaimRun]) -> Totals:
        runs = list(runs)
        firsts = [d for d in (run.days_to_first_contact for run in runs) if d is not None]
        reminders = sum(run.reminders for run in runs)
        return cls(
            claims=len(runs),
            contacted=len(firsts),
            sent=sum(run.contacts for run in runs),
            skipped=sum(run.count("skipped") for run in runs),
            awaiting_approval=sum(run.count("awaiting_approval") for run in runs),
            reminders=reminders,
            reminders_per_claim=round(reminders / len(runs), 2) if runs else 0.0,
            mean_days_to_first_contact=round(sum(firsts) / len(firsts), 1) if firsts else None,
            median_days_to_first_contact=float(median(firsts)) if firsts else None,
        )


def by_track(runs: Iterable[ClaimRun]) -> dict[str, Totals]:
    """The totals of each track the claims followed, then of all of them (``total``)."""
    runs = list(runs)
    groups: dict[str, list[ClaimRun]] = defaultdict(list)
    for run in runs:
        groups[run.track].append(run)
    return {
        **{track: Totals.of(groups[track]) for track in sorted(groups)},
        "total": Totals.of(runs),
    }


def simulate(
    history: Iterable[Envelope],
    policy: Policy,
    figures: Figures,
    *,
    until: datetime | None = None,
    accounts: Mapping[str, Account] | None = None,
) -> list[ClaimRun]:
    """Every claim of ``history`` (and of ``accounts``, states to start from, by account key)
    as ``policy`` would have chased it, up to ``until``: by default 120 days after the
    history's last event."""
    by_account: dict[str, list[Envelope]] = defaultdict(list)
    last = None
    for envelope in history:
        if type(envelope.data) in _OWN_EVENTS or not envelope.debtor_id:
            continue
        by_account[envelope.key].append(envelope)
        last = envelope.time if last is None or envelope.time > last else last
    start = dict(accounts or {})
    if until is None:
        if last is None:
            return []
        until = last + HORIZON
    book = PolicyBook(policy)
    runs: list[ClaimRun] = []
    for key in sorted(set(by_account) | set(start)):
        account = _replay(start.get(key), by_account.get(key, []), book, figures, until)
        if account is not None:
            runs += [_run(account, claim) for claim in account.claims.values()]
    return runs


def _replay(
    account: Account | None,
    events: list[Envelope],
    book: PolicyBook,
    figures: Figures,
    until: datetime,
) -> Account | None:
    for envelope in events:
        if envelope.time > until:
            break
        account = _pass_time(account, envelope.time, figures, inclusive=False)
        desk = Desk(evolve(account, envelope), book, figures)
        react = TABLE.get(type(envelope.data))
        reactions = react(desk, envelope) if react is not None and desk.account else []
        account = desk.account
        for step, event in enumerate(reactions):
            caused = envelope.caused(
                event, id=caused_id(envelope.id, "dunning", str(step)), time=envelope.time
            )
            account = evolve(account, caused)
    return _pass_time(account, until, figures, inclusive=True)


def _pass_time(
    account: Account | None, before: datetime, figures: Figures, *, inclusive: bool
) -> Account | None:
    """The account once every timer due before ``before`` (or at it, ``inclusive``) has fired,
    earliest first: each firing changes the state, so the timers are asked again after it."""
    while account is not None:
        soonest = _soonest(account)
        if soonest is None or soonest > before or (soonest == before and not inclusive):
            return account
        due = [
            timer
            for timer in timers(account, figures)
            if timer.due_at < before or (inclusive and timer.due_at == before)
        ]
        if not due:
            return account
        timer = min(due, key=lambda t: (t.due_at, t.timer_id))
        fired = Envelope(
            id=timer_event_id("dunning", timer.timer_id),
            subject=timer.claim_id,
            time=timer.due_at,
            tenant=account.tenant,
            debtor_id=account.debtor_id,
            correlation_id=timer_event_id("dunning", timer.timer_id),
            data=timer.event,
        )
        account = evolve(account, fired)
    return account


def _soonest(account: Account) -> datetime | None:
    """When the account's first timer is due: cheaper to ask than ``timers`` (which decides
    every timer's event), and most events of a history come before any."""
    times = [
        record.step.at
        for claim in account.claims.values()
        if claim.status == "active"
        for record in claim.steps
        if record.status == "planned"
    ]
    times += [
        resumed.resumed_at
        for resumed in map(snooze_over, account.claims.values())
        if resumed is not None
    ]
    return min(times, default=None)


def _run(account: Account, claim: ClaimDunning) -> ClaimRun:
    records: list[StepRecord] = [r for r in (*claim.history, *claim.steps) if r.status in _OUTCOME]
    track = claim.track
    if track == "payment_plan":
        track = claim.track_before_plan or track
    return ClaimRun(
        claim_id=claim.claim_id,
        debtor_id=account.debtor_id,
        due_on=claim.ledger.due_on,
        track=track or NOT_CHASED,
        steps=tuple(
            StepTaken(
                key=r.step.key,
                action=r.step.action,
                stage=r.step.stage,
                day=r.step.planned_on,
                outcome=_OUTCOME[r.status],
                reason=r.reason,
            )
            for r in sorted(records, key=lambda r: (r.step.at, r.step.key))
        ),
    )


def from_states(accounts: Iterable[Account], selected: set[str]) -> tuple[dict, list[Envelope]]:
    """Start states and a history rebuilt from the projection's account states, for the
    ``selected`` claims: each claim as it was registered (its debtor's segment as it is now),
    then its qualification, payments and credit notes on their days, and its closing. Disputes,
    promises and payment plans are not rebuilt: the live service's states do not keep them."""
    starts: dict[str, Account] = {}
    history: list[Envelope] = []
    for account in accounts:
        claims = [c for c in account.claims.values() if c.claim_id in selected]
        if not claims:
            continue
        fresh = {c.claim_id: _as_registered(c) for c in claims}
        starts[f"{account.tenant}:{account.debtor_id}"] = account.model_copy(
            update={"claims": fresh}
        )
        for claim in claims:
            history += [
                Envelope(
                    id=keyed_id("dunning-simulation", claim.claim_id, str(n)),
                    subject=claim.claim_id,
                    time=at,
                    tenant=account.tenant,
                    debtor_id=account.debtor_id,
                    correlation_id=keyed_id("dunning-simulation", claim.claim_id),
                    data=event,
                )
                for n, (at, event) in enumerate(_rebuilt(claim))
            ]
    history.sort(key=lambda envelope: envelope.time)
    return starts, history


def _as_registered(claim: ClaimDunning) -> ClaimDunning:
    ledger = claim.ledger.model_copy(
        update={
            "status": "registered",
            "moves": (),
            "plan_id": None,
            "plan_agreed_on": None,
            "plan_grace_days": 0,
            "plan_defaulted_on": None,
            "fee_waived_from": None,
        }
    )
    return ClaimDunning(
        claim_id=claim.claim_id,
        ledger=ledger,
        registered_at=claim.registered_at,
        hardship=claim.hardship,
    )


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12), UTC)


def _rebuilt(claim: ClaimDunning) -> list[tuple[datetime, object]]:
    ledger = claim.ledger
    claim_id = UUID(claim.claim_id)
    out: list[tuple[datetime, object]] = []
    if claim.qualified:
        out.append(
            (
                claim.registered_at,
                ClaimQualified(
                    claim_id=claim_id,
                    qualified_at=claim.registered_at,
                    prescription_date=ledger.due_on + LIMITATION,
                ),
            )
        )
    for move in ledger.moves:
        at = max(_noon(move.on), claim.registered_at)
        if move.kind == "payment":
            event = PaymentReceived(
                claim_id=claim_id,
                payment_id=keyed_id("dunning-simulation", claim.claim_id, move.ref),
                amount=move.amount,
                currency=ledger.currency,
                received_on=move.on,
                recorded_at=at,
            )
        else:
            event = ClaimAdjusted(
                claim_id=claim_id,
                amount=move.amount,
                credit_note_reference=move.ref,
                adjusted_on=move.on,
                adjusted_at=at,
            )
        out.append((at, event))
    closed = _closed_at(claim)
    if closed is not None:
        out.append((closed, _closing(claim, claim_id, closed)))
    return out


def _closed_at(claim: ClaimDunning) -> datetime | None:
    """When the claim closed: a settled one on its last payment; otherwise when the service
    stopped chasing it for that reason, else (closed before any plan) its last move. (A stop
    can be stamped earlier than the closing: a backlog read in one batch stops a claim when its
    plan arrives, at the plan's time.)"""
    if not claim.ledger.closed:
        return None
    moves = [_noon(m.on) for m in claim.ledger.moves]
    if claim.ledger.status == "settled" and moves:
        return max([claim.registered_at, *moves])
    stopped = [
        r.at
        for r in (*claim.history, *claim.steps)
        if r.status == "cancelled" and r.reason == claim.stop_reason and r.at is not None
    ]
    if stopped:
        return min(stopped)
    return max([claim.registered_at, *moves])


def _closing(claim: ClaimDunning, claim_id: UUID, at: datetime):
    status = claim.ledger.status
    if status == "settled":
        return ClaimSettled(claim_id=claim_id, settled_on=at.date(), overpaid=Decimal(0))
    if status == "written_off":
        return ClaimWrittenOff(claim_id=claim_id, reason="as recorded", written_off_at=at)
    return ClaimCancelled(claim_id=claim_id, reason="as recorded", cancelled_at=at)
