"""The dunning commands and their deciders: a person approves a step that needs one. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from amiable_dunning.domain.firing import step_due, step_timer_id
from amiable_dunning.domain.state import Account
from amiable_events.commands import REPEATED, Context
from amiable_events.dunning import ClaimEscalated
from amiable_events.errors import Conflict, NotFound
from amiable_events.ids import timer_event_id


@dataclass(frozen=True)
class Approve:
    claim_id: UUID
    step: str
    approved_by: str


def approve(account: Account, command: Approve, context: Context):
    claim = account.claim(command.claim_id)
    if claim is None:
        raise NotFound(f"no claim {command.claim_id} for this tenant", title="Claim not found")
    record = next((r for r in claim.steps if r.step.key == command.step), None)
    if record is not None and record.status == "done" and record.step.needs_approval:
        return REPEATED
    if record is None or record.status != "due":
        waiting = [r.step.key for r in claim.awaiting_approval]
        raise Conflict(
            f"step {command.step} is not waiting for approval on claim {command.claim_id}",
            title="Nothing to approve",
            step_status=record.status if record else None,
            awaiting_approval=waiting,
        )
    due = step_due(account, claim, record, context.policy, approved_by=command.approved_by)
    if record.step.action != "litigation_handoff":
        return [due]
    requested = timer_event_id(
        "dunning", step_timer_id(claim.claim_id, record.revision, record.step.key)
    )
    return [
        due,
        ClaimEscalated(
            claim_id=command.claim_id,
            reason="litigation_handoff",
            timeline_reference=requested,
            approved_by=command.approved_by,
            escalated_at=context.now,
        ),
    ]


DECIDERS = {Approve: approve}
