"""The disputes service's own reaction: a dispute still unresolved when its resolution deadline
is breached goes to mediation by itself (when the policy says so), so that no dispute waits
forever on a busy desk."""

from __future__ import annotations

from amiable_disputes.domain.state import ClaimFile, Policy
from amiable_events.disputes import DisputeEscalatedToMediation, DisputeSlaBreached
from amiable_events.envelope import Envelope


def escalate_on_breach(policy: Policy):
    def react(file: ClaimFile | None, envelope: Envelope):
        event: DisputeSlaBreached = envelope.data
        if file is None or event.which != "resolve" or not policy.escalate_on_resolve_breach:
            return []
        dispute = file.dispute(str(event.dispute_id))
        if dispute is None or not dispute.active or dispute.status == "mediation":
            return []
        return [
            DisputeEscalatedToMediation(
                claim_id=event.claim_id,
                dispute_id=event.dispute_id,
                automatic=True,
                escalated_at=envelope.time,
            )
        ]

    return react
