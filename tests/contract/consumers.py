"""What each consuming service reads from the claim log: its declared inputs.

Per service and ``ce_type``, the payload fields its code reads (dotted paths, ``[]`` for the
items of an array). ``required`` fields are read as always there and never null (``row["x"]``,
a NOT NULL column); ``optional`` ones are read with ``None`` handled. ``test_consumers`` checks
every declaration against the committed schemas, so a producer cannot drop or loosen a field a
consumer relies on, and a consumer cannot start relying on a field nobody guarantees.

Keep a service's entry in step with its projection, API and workers when they read a new field.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reads:
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()


CLAIM_REGISTERED = "amiable.claims.claim-registered.v1"

CONSUMERS: dict[str, dict[str, Reads]] = {
    "claims": {
        # projection.py (the claims row via domain.evolve, debtor_accounts) and api.py (present).
        CLAIM_REGISTERED: Reads(
            required=(
                "claim_id",
                "invoice_number",
                "amount",
                "currency",
                "issued_on",
                "due_on",
                "registered_at",
                "debtor",
                "debtor.id",
                "debtor.legal_name",
                "debtor.country",
                "debtor.language",
                "debtor.timezone",
            ),
            optional=(
                "contract_reference",
                "purchase_order",
                "description",
                "idempotency_key",
                "debtor.registration_id",
                "debtor.contacts",
                "debtor.contacts[].name",
                "debtor.contacts[].email",
                "debtor.contacts[].phone",
                "debtor.contacts[].role",
                "debtor.contacts[].role_sealed",
                "debtor.postal_address",
            ),
        ),
        # domain/proceedings.py (the waiver's dates), domain/evolve.py and domain/timeline.py.
        "amiable.claims.fixed-fee-waived.v1": Reads(
            required=("claim_id", "waived_from", "proceeding_kind", "proceeding_reference")
        ),
        # The risk events: adapters/accounts.py (debtor_risk: grade, segment, the proceeding;
        # the timelines), domain/proceedings.py (the reactions) and domain/timeline.py.
        "amiable.risk.insolvency-recorded.v1": Reads(
            required=("debtor_id", "kind", "opened_on", "reference")
        ),
        "amiable.risk.risk-assessed.v1": Reads(
            required=("debtor_id", "grade", "segment", "score", "scorecard_version")
        ),
        "amiable.risk.risk-alert-raised.v1": Reads(required=("debtor_id", "signal")),
        "amiable.risk.segment-overridden.v1": Reads(
            required=("debtor_id", "segment"), optional=("until",)
        ),
        "amiable.risk.credit-limit-set.v1": Reads(required=("debtor_id", "amount", "currency")),
        # The disputes events: domain/disputes.py (the reactions), domain/evolve.py (the first
        # dispute's date and reason, for the KPIs), domain/timeline.py (the summaries) and
        # api/claims.py (the sealed free text the timeline opens).
        "amiable.disputes.dispute-opened.v1": Reads(
            required=(
                "claim_id",
                "dispute_id",
                "reason",
                "disputed_amount",
                "currency",
                "whole_claim",
                "raised_by",
                "opened_at",
                "acknowledge_by",
                "resolve_by",
            ),
            optional=("description", "evidence"),
        ),
        "amiable.disputes.dispute-assigned.v1": Reads(
            required=("claim_id", "dispute_id", "assignee")
        ),
        "amiable.disputes.dispute-escalated-to-mediation.v1": Reads(
            required=("claim_id", "dispute_id"), optional=("mediator", "automatic")
        ),
        "amiable.disputes.dispute-commented.v1": Reads(
            required=("claim_id", "dispute_id", "comment")
        ),
        "amiable.disputes.dispute-reclassified.v1": Reads(
            required=("claim_id", "dispute_id", "from_reason", "to_reason"), optional=("note",)
        ),
        "amiable.disputes.dispute-resolved.v1": Reads(
            required=(
                "claim_id",
                "dispute_id",
                "outcome",
                "resolution_note",
                "disputed_amount",
                "currency",
                "whole_claim",
                "resolved_at",
            ),
            optional=("accepted_amount", "new_invoice_number"),
        ),
        "amiable.disputes.dispute-withdrawn.v1": Reads(
            required=("claim_id", "dispute_id"), optional=("note",)
        ),
        "amiable.disputes.hardship-declared.v1": Reads(
            required=("claim_id", "dispute_id", "raised_by"),
            optional=("description", "reclassified"),
        ),
        "amiable.disputes.dispute-sla-breached.v1": Reads(
            required=("claim_id", "dispute_id", "which", "due_at")
        ),
        # The dunning events about a claim and communications' failed delivery:
        # domain/timeline.py (the summaries); domain/evolve.py folds ClaimEscalated.
        "amiable.dunning.plan-scheduled.v1": Reads(
            required=(
                "claim_id",
                "revision",
                "steps",
                "steps[].action",
                "steps[].planned_on",
                "reason",
                "policy_id",
                "policy_version",
                "track",
            )
        ),
        "amiable.dunning.paused.v1": Reads(required=("claim_id", "reason"), optional=("until",)),
        "amiable.dunning.resumed.v1": Reads(
            required=("claim_id", "reason", "steps", "steps[].action", "steps[].planned_on")
        ),
        "amiable.dunning.rescheduled.v1": Reads(
            required=(
                "claim_id",
                "reason",
                "step",
                "steps",
                "steps[].action",
                "steps[].planned_on",
            )
        ),
        "amiable.dunning.stopped.v1": Reads(required=("claim_id", "reason")),
        "amiable.dunning.step-skipped.v1": Reads(required=("claim_id", "step", "reason")),
        "amiable.dunning.approval-requested.v1": Reads(required=("claim_id", "step", "action")),
        "amiable.dunning.step-due.v1": Reads(
            required=("claim_id", "step", "action", "channel", "tone", "contact_role", "group"),
            optional=("payment_deadline", "approved_by"),
        ),
        "amiable.dunning.claim-escalated.v1": Reads(required=("claim_id", "escalated_at")),
        "amiable.communications.communication-failed.v1": Reads(
            required=("claim_id", "channel"), optional=("step",)
        ),
    },
    "risk": {
        # domain/evolve.py (the debtor account's features), adapters/projector.py (history,
        # alerts and fired reviews) and app/timers.py.
        CLAIM_REGISTERED: Reads(
            required=(
                "claim_id",
                "amount",
                "currency",
                "issued_on",
                "due_on",
                "debtor",
                "debtor.country",
                "debtor.timezone",
            )
        ),
        "amiable.claims.claim-qualified.v1": Reads(required=("claim_id",)),
        "amiable.claims.claim-rejected.v1": Reads(required=("claim_id",)),
        "amiable.claims.payment-received.v1": Reads(required=("claim_id", "amount")),
        "amiable.claims.claim-adjusted.v1": Reads(required=("claim_id", "amount")),
        "amiable.claims.claim-settled.v1": Reads(required=("claim_id", "settled_on")),
        "amiable.claims.claim-written-off.v1": Reads(required=("claim_id",)),
        "amiable.claims.claim-cancelled.v1": Reads(required=("claim_id",)),
        "amiable.claims.promise-broken.v1": Reads(required=("claim_id",)),
        "amiable.claims.payment-plan-defaulted.v1": Reads(required=("claim_id",)),
        "amiable.claims.debtor-personal-data-erased.v1": Reads(required=("debtor_id",)),
        "amiable.risk.insolvency-recorded.v1": Reads(
            required=("debtor_id", "kind", "opened_on", "reference")
        ),
        "amiable.risk.credit-limit-set.v1": Reads(required=("debtor_id", "amount", "currency")),
        "amiable.risk.segment-overridden.v1": Reads(
            required=("debtor_id", "segment", "reason"), optional=("until",)
        ),
        "amiable.risk.risk-assessed.v1": Reads(
            required=(
                "debtor_id",
                "score",
                "band",
                "grade",
                "segment",
                "scored_segment",
                "reasons",
                "reasons[].code",
                "reasons[].points",
                "reasons[].value",
                "scorecard_version",
                "as_of",
                "assessed_at",
                "trigger",
            ),
            optional=("claim_id",),
        ),
        "amiable.risk.risk-alert-raised.v1": Reads(
            required=("debtor_id", "signal", "evidence", "as_of", "raised_at")
        ),
        # domain/evolve.py: the dispute features, and a hardship's trouble (a reclassified
        # dispute stops counting).
        "amiable.disputes.dispute-opened.v1": Reads(
            required=("claim_id", "dispute_id", "opened_at")
        ),
        "amiable.disputes.hardship-declared.v1": Reads(
            required=("claim_id", "dispute_id", "declared_at"), optional=("reclassified",)
        ),
    },
}
