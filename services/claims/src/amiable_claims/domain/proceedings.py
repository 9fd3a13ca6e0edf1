"""A debtor account in collective proceedings: its claims stop adding the fixed recovery fee
(Code de commerce D441-5). Claims' reactions, pure: the state is one debtor account's
proceeding, its open claims and the claims whose disputes it follows (``domain.disputes``),
folded by :func:`evolve_account`; :data:`REACTIONS` say which claims get a
:class:`FixedFeeWaived` when risk records the proceeding, or when a claim is registered on a
debtor already in proceedings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from uuid import UUID

from amiable_claims.domain.evolve import evolve
from amiable_claims.domain.state import Claim
from amiable_events.base import Event
from amiable_events.claims import (
    ClaimCancelled,
    ClaimRegistered,
    ClaimSettled,
    ClaimWrittenOff,
    FixedFeeWaived,
)
from amiable_events.envelope import Envelope
from amiable_events.risk import InsolvencyRecorded

_CLOSING = (ClaimSettled, ClaimWrittenOff, ClaimCancelled)


@dataclass(frozen=True)
class Proceeding:
    kind: str
    opened_on: date
    reference: str


@dataclass(frozen=True)
class OpenClaim:
    claim_id: UUID
    due_on: date  # its fixed fee falls due the day after
    fee_waived: bool = False


@dataclass(frozen=True)
class DebtorAccount:
    proceeding: Proceeding | None = None
    open_claims: tuple[OpenClaim, ...] = ()
    #: The claims a dispute's resolution may change, each as the claim's own fold has it
    claims: tuple[Claim, ...] = ()
    #: Which claims ``claims`` follows: every one (None), as a fold from the start of the log
    #: does; a state loaded before a batch follows only those its triggers name, so that a
    #: batch of registrations does not fold each of them twice.
    following: frozenset[UUID] | None = None


def fee_falls_due_on(due_on: date) -> date:
    """The day a claim's fixed fee falls due (``amiable_rules.late_fees``: the first late day)."""
    return due_on + timedelta(days=1) if due_on < date.max else date.max


def evolve_account(state: DebtorAccount | None, envelope: Envelope) -> DebtorAccount:
    state = _follow_claim(state or DebtorAccount(), envelope)
    event = envelope.data
    if type(event) is InsolvencyRecorded:
        # The earliest opening is the one that first barred payment; a later proceeding on the
        # same debtor (a safeguard turned liquidation) does not move it.
        if state.proceeding is None or event.opened_on < state.proceeding.opened_on:
            proceeding = Proceeding(event.kind, event.opened_on, event.reference)
            return replace(state, proceeding=proceeding)
        return state
    if type(event) is ClaimRegistered:
        if any(c.claim_id == event.claim_id for c in state.open_claims):
            return state
        registered = OpenClaim(event.claim_id, event.due_on)
        return replace(state, open_claims=(*state.open_claims, registered))
    if type(event) is FixedFeeWaived:
        return replace(
            state,
            open_claims=tuple(
                replace(c, fee_waived=True) if c.claim_id == event.claim_id else c
                for c in state.open_claims
            ),
        )
    if isinstance(event, _CLOSING):
        return replace(
            state, open_claims=tuple(c for c in state.open_claims if c.claim_id != event.claim_id)
        )
    return state


def _follow_claim(state: DebtorAccount, envelope: Envelope) -> DebtorAccount:
    """``state`` with the claim ``envelope`` is about folded, when it follows that claim."""
    claim_id = getattr(envelope.data, "claim_id", None)
    if claim_id is None or (state.following is not None and claim_id not in state.following):
        return state
    before = next((c for c in state.claims if c.claim_id == claim_id), None)
    after = evolve(before, envelope)
    if after is before:
        return state
    others = tuple(c for c in state.claims if c.claim_id != claim_id)
    return replace(state, claims=(*others, after))


def followed_claim(state: DebtorAccount, claim_id: UUID) -> Claim | None:
    return next((c for c in state.claims if c.claim_id == claim_id), None)


def _waivers(state: DebtorAccount, claim_ids: set[UUID] | None = None) -> list[Event]:
    """A waiver for each open claim (of ``claim_ids``, when given) whose fee is not waived yet
    and falls due on or after the opening: a fee already due then stays due."""
    proceeding = state.proceeding
    if proceeding is None:
        return []
    return [
        FixedFeeWaived(
            claim_id=claim.claim_id,
            waived_from=proceeding.opened_on,
            reason="insolvency_proceedings",
            proceeding_kind=proceeding.kind,
            proceeding_reference=proceeding.reference,
        )
        for claim in state.open_claims
        if not claim.fee_waived
        and fee_falls_due_on(claim.due_on) >= proceeding.opened_on
        and (claim_ids is None or claim.claim_id in claim_ids)
    ]


def on_insolvency(state: DebtorAccount, envelope: Envelope) -> list[Event]:
    return _waivers(state)


def on_registration(state: DebtorAccount, envelope: Envelope) -> list[Event]:
    return _waivers(state, {envelope.data.claim_id})


REACTIONS = {InsolvencyRecorded: on_insolvency, ClaimRegistered: on_registration}
