"""The contact governor's timers: each queued message has one, at the instant the governor
decides about it next, carrying the event that decision gives from the account's state as it
is now (``CommunicationReleased``, ``CommunicationDeferred`` or ``CommunicationSuppressed``).

The projection re-computes an account's timers whenever its state changes, so a timer always
carries the decision of the latest state: a payment, a pause, an opt-out or another message
released first changes what the timer will append. The account's queued messages are decided in
the order of their instants, each seeing the releases decided before it, so two messages due at
the same instant cannot both take the day's only contact.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from amiable_communications.domain.governor import (
    Candidate,
    Contact,
    Defer,
    RuleBook,
    Send,
    decide,
)
from amiable_communications.domain.react import debtor_of
from amiable_communications.domain.state import Account, Comm
from amiable_events.base import Event
from amiable_events.communications import (
    CommunicationDeferred,
    CommunicationReleased,
    CommunicationSuppressed,
    SuppressReason,
)

GOVERNOR = "governor"


@dataclass(frozen=True)
class Timer:
    timer_id: str
    due_at: datetime
    claim_id: str
    kind: str
    event: Event


def timer_id(communication_id: str, at: datetime) -> str:
    return f"{GOVERNOR}:{communication_id}:{at.isoformat()}"


def timers(account: Account, rules: RuleBook) -> list[Timer]:
    """The timers the account's queued messages need now."""
    queued = sorted(
        (c for c in account.communications.values() if c.status == "queued"),
        key=lambda c: (c.at, c.communication_id),
    )
    history = [Contact(at=r.at, channel=r.channel, kind=r.kind) for r in account.released]
    found = []
    for comm in queued:
        event = decision(account, comm, history, rules)
        if isinstance(event, CommunicationReleased):
            history.append(Contact(at=comm.at, channel=comm.channel, kind=comm.kind))
        found.append(
            Timer(timer_id(comm.communication_id, comm.at), comm.at, comm.claim_id, GOVERNOR, event)
        )
    return found


def decision(account: Account, comm: Comm, history: list[Contact], rules: RuleBook) -> Event:
    common = {"claim_id": comm.claim_id, "communication_id": comm.communication_id}
    reason = _moot(account, comm)
    if reason is None:
        debtor = debtor_of(account)
        candidate = Candidate(channel=comm.channel, kind=comm.kind, at=comm.at)
        verdict = decide(candidate, history, rules.rules_for(account.country), debtor, comm.at)
        if isinstance(verdict, Send):
            return CommunicationReleased(
                **common, channel=comm.channel, kind=comm.kind, released_at=comm.at
            )
        if isinstance(verdict, Defer):
            return CommunicationDeferred(
                **common,
                channel=comm.channel,
                rule=verdict.reason,
                until=verdict.until,
                deferred_at=comm.at,
            )
        reason = verdict.reason
    return CommunicationSuppressed(
        **common, reason=reason, revision=comm.revision, step=comm.step, suppressed_at=comm.at
    )


def _moot(account: Account, comm: Comm) -> SuppressReason | None:
    """Why the message must not go any more, looking again when it is due."""
    if account.erased:
        return "debtor_erased"
    if not account.reachable_by(comm.channel):
        return "no_address"
    if comm.purpose != "dunning_step":
        return None
    claims = [c for c in (account.claim(i) for i in comm.claims) if c is not None and c.open]
    if not claims:
        return "claim_closed"
    if all(c.dunning == "paused" for c in claims):
        return "claim_paused"
    if all(c.dunning == "stopped" for c in claims):
        return "superseded"
    return None
