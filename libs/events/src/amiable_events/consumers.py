"""What each consuming service reads from the claim log: its declared inputs.

Per service and ``ce_type``, the payload fields its code reads (dotted paths, ``[]`` for the
items of an array). ``required`` fields are read as always there and never null (``row["x"]``,
a NOT NULL column); ``optional`` ones are read with ``None`` handled. ``reacts`` says that the
service appends events in reaction to that type (its ``Reactions.table``), not only folds it.

``tests/contract/test_consumers.py`` checks every declaration against the committed schemas, so
a producer cannot drop or loosen a field a consumer relies on, and a consumer cannot start
relying on a field nobody guarantees; it also checks that every type a service reacts to or
follows is declared here. The event catalog (``amiable docs``) shows these declarations on each
event type's page.

Keep a service's entry in step with its projection, API and workers when they read a new field.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reads:
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    reacts: bool = False


def _merged(*reads: Reads) -> Reads:
    """One declaration reading everything ``reads`` do (required wins over optional)."""
    required = tuple(dict.fromkeys(path for r in reads for path in r.required))
    optional = tuple(
        dict.fromkeys(path for r in reads for path in r.optional if path not in required)
    )
    return Reads(required, optional, reacts=any(r.reacts for r in reads))


def _with(base: dict[str, Reads], own: dict[str, Reads]) -> dict[str, Reads]:
    """``own`` declarations plus ``base`` ones (a shared fold the service also runs)."""
    return {
        ce_type: _merged(*(d[ce_type] for d in (base, own) if ce_type in d))
        for ce_type in {**base, **own}
    }


CLAIM_REGISTERED = "amiable.claims.claim-registered.v1"

#: What ``amiable_events.ledger`` reads: dunning, communications and disputes fold it.
LEDGER: dict[str, Reads] = {
    CLAIM_REGISTERED: Reads(
        required=(
            "claim_id",
            "invoice_number",
            "amount",
            "currency",
            "issued_on",
            "due_on",
            "debtor",
            "debtor.id",
            "debtor.country",
            "debtor.timezone",
            "debtor.language",
        ),
        optional=(
            "governing_law",
            "late_payment_terms",
            "late_payment_terms.interest",
            "late_payment_terms.fixed_fee",
        ),
    ),
    "amiable.claims.claim-qualified.v1": Reads(required=("claim_id",)),
    "amiable.claims.claim-rejected.v1": Reads(required=("claim_id",)),
    "amiable.claims.claim-settled.v1": Reads(required=("claim_id",)),
    "amiable.claims.claim-written-off.v1": Reads(required=("claim_id",)),
    "amiable.claims.claim-cancelled.v1": Reads(required=("claim_id",)),
    "amiable.dunning.claim-escalated.v1": Reads(required=("claim_id",)),
    "amiable.claims.payment-received.v1": Reads(
        required=("claim_id", "payment_id", "amount", "received_on")
    ),
    "amiable.claims.claim-adjusted.v1": Reads(
        required=("claim_id", "amount", "adjusted_on", "credit_note_reference")
    ),
    "amiable.claims.payment-plan-agreed.v1": Reads(
        required=("claim_id", "plan_id", "agreed_on", "grace_days")
    ),
    "amiable.claims.payment-plan-defaulted.v1": Reads(required=("claim_id", "plan_id", "due_on")),
    "amiable.claims.fixed-fee-waived.v1": Reads(required=("claim_id", "waived_from")),
}

#: A plan's steps as dunning plans, fires and shows them (domain/plans.py, domain/firing.py).
_STEPS = (
    "steps",
    "steps[].key",
    "steps[].action",
    "steps[].channels",
    "steps[].template",
    "steps[].tone",
    "steps[].solution_first",
    "steps[].contact_role",
    "steps[].stage",
    "steps[].planned_on",
    "steps[].at",
)
_OPTIONAL_STEPS = (
    "steps[].needs_approval",
    "steps[].review",
    "steps[].payment_deadline_days",
    "steps[].installment",
)

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
            reacts=True,
        ),
        # domain/proceedings.py (the waiver's dates), domain/evolve.py and domain/timeline.py.
        "amiable.claims.fixed-fee-waived.v1": Reads(
            required=("claim_id", "waived_from", "proceeding_kind", "proceeding_reference")
        ),
        # The risk events: adapters/accounts.py (debtor_risk: grade, segment, the proceeding;
        # the timelines), domain/proceedings.py (the reactions) and domain/timeline.py.
        "amiable.risk.insolvency-recorded.v1": Reads(
            required=("debtor_id", "kind", "opened_on", "reference"), reacts=True
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
            reacts=True,
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
        # The communications events about a claim: domain/timeline.py (the summaries; the
        # sealed texts of FREE_TEXT opened for the reader), domain/calls.py (a call's promise
        # becomes a PromiseToPayRecorded: the reaction), domain/evolve.py and domain/costs.py
        # (a message's cost shared between its claims).
        "amiable.communications.communication-queued.v1": Reads(
            required=("claim_id", "template", "channel", "purpose", "tone", "claims"),
            optional=("review_required",),
        ),
        "amiable.communications.communication-reviewed.v1": Reads(
            required=("claim_id", "decision"), optional=("reason",)
        ),
        "amiable.communications.communication-deferred.v1": Reads(
            required=("claim_id", "channel", "until", "rule")
        ),
        "amiable.communications.communication-suppressed.v1": Reads(
            required=("claim_id", "reason"), optional=("step",)
        ),
        "amiable.communications.communication-released.v1": Reads(
            required=("claim_id", "channel", "kind")
        ),
        "amiable.communications.communication-sent.v1": Reads(
            required=(
                "claim_id",
                "claims",
                "template",
                "channel",
                "language",
                "tone",
                "cost",
                "cost.amount",
                "cost.currency",
            ),
            optional=("registered", "step"),
        ),
        "amiable.communications.communication-delivered.v1": Reads(
            required=("claim_id", "channel")
        ),
        "amiable.communications.tracking-recorded.v1": Reads(
            required=("claim_id", "tracking_number"), optional=("carrier", "status")
        ),
        "amiable.communications.call-outcome-recorded.v1": Reads(
            required=("claim_id", "outcome", "recorded_at"),
            optional=(
                "promise",
                "promise.amount",
                "promise.date",
                "dispute",
                "dispute.reason",
                "dispute.amount",
                "notes",
            ),
            reacts=True,
        ),
        "amiable.communications.interaction-recorded.v1": Reads(
            required=("claim_id", "kind", "summary"), optional=("channel",)
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
        "amiable.claims.claim-qualified.v1": Reads(required=("claim_id",), reacts=True),
        "amiable.claims.claim-rejected.v1": Reads(required=("claim_id",), reacts=True),
        "amiable.claims.payment-received.v1": Reads(required=("claim_id", "amount"), reacts=True),
        "amiable.claims.claim-adjusted.v1": Reads(required=("claim_id", "amount"), reacts=True),
        "amiable.claims.claim-settled.v1": Reads(required=("claim_id", "settled_on"), reacts=True),
        "amiable.claims.claim-written-off.v1": Reads(required=("claim_id",), reacts=True),
        "amiable.claims.claim-cancelled.v1": Reads(required=("claim_id",), reacts=True),
        "amiable.claims.promise-broken.v1": Reads(required=("claim_id",), reacts=True),
        "amiable.claims.payment-plan-defaulted.v1": Reads(required=("claim_id",), reacts=True),
        "amiable.claims.debtor-personal-data-erased.v1": Reads(required=("debtor_id",)),
        "amiable.risk.insolvency-recorded.v1": Reads(
            required=("debtor_id", "kind", "opened_on", "reference"), reacts=True
        ),
        "amiable.risk.credit-limit-set.v1": Reads(
            required=("debtor_id", "amount", "currency"), reacts=True
        ),
        "amiable.risk.segment-overridden.v1": Reads(
            required=("debtor_id", "segment", "reason"), optional=("until",), reacts=True
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
            required=("claim_id", "dispute_id", "opened_at"), reacts=True
        ),
        "amiable.disputes.hardship-declared.v1": Reads(
            required=("claim_id", "dispute_id", "declared_at"),
            optional=("reclassified",),
            reacts=True,
        ),
    },
    # domain/evolve.py (each debtor account's claims, their ledgers, plans and steps),
    # domain/react.py (the reactions), adapters/projector.py (policies, fired timers).
    "dunning": _with(
        LEDGER,
        {
            CLAIM_REGISTERED: Reads(required=("registered_at",)),
            "amiable.claims.claim-qualified.v1": Reads(required=("claim_id",), reacts=True),
            "amiable.claims.claim-rejected.v1": Reads(required=("claim_id",), reacts=True),
            "amiable.claims.claim-settled.v1": Reads(required=("claim_id",), reacts=True),
            "amiable.claims.claim-written-off.v1": Reads(required=("claim_id",), reacts=True),
            "amiable.claims.claim-cancelled.v1": Reads(required=("claim_id",), reacts=True),
            "amiable.claims.payment-received.v1": Reads(required=("claim_id",)),
            "amiable.claims.payment-plan-agreed.v1": Reads(
                required=("claim_id", "installments", "installments[].due_on"), reacts=True
            ),
            "amiable.claims.payment-plan-defaulted.v1": Reads(required=("claim_id",), reacts=True),
            "amiable.claims.promise-to-pay-recorded.v1": Reads(
                required=("claim_id", "promised_on", "grace_days"), reacts=True
            ),
            "amiable.claims.promise-broken.v1": Reads(required=("claim_id",), reacts=True),
            "amiable.risk.risk-assessed.v1": Reads(required=("segment",), reacts=True),
            "amiable.risk.segment-overridden.v1": Reads(required=("segment",), reacts=True),
            # Its kind and dates do not matter: the debtor's segment becomes ``insolvency``.
            "amiable.risk.insolvency-recorded.v1": Reads(reacts=True),
            "amiable.disputes.dispute-opened.v1": Reads(
                required=("claim_id", "dispute_id", "disputed_amount", "whole_claim"),
                reacts=True,
            ),
            "amiable.disputes.dispute-resolved.v1": Reads(
                required=("claim_id", "dispute_id", "outcome", "whole_claim"), reacts=True
            ),
            "amiable.disputes.dispute-withdrawn.v1": Reads(
                required=("claim_id", "dispute_id"), reacts=True
            ),
            "amiable.disputes.hardship-declared.v1": Reads(required=("claim_id",), reacts=True),
            "amiable.communications.communication-failed.v1": Reads(
                required=("claim_id", "channel"), optional=("revision", "step"), reacts=True
            ),
            "amiable.dunning.plan-scheduled.v1": Reads(
                required=(
                    "claim_id",
                    "revision",
                    *_STEPS,
                    "reason",
                    "policy_id",
                    "policy_version",
                    "track",
                ),
                optional=(*_OPTIONAL_STEPS, "max_reminders_per_stage"),
                reacts=True,
            ),
            "amiable.dunning.resumed.v1": Reads(
                required=("claim_id", "revision", *_STEPS, "reason"),
                optional=_OPTIONAL_STEPS,
                reacts=True,
            ),
            "amiable.dunning.rescheduled.v1": Reads(
                required=("claim_id", "revision", *_STEPS, "reason"),
                optional=_OPTIONAL_STEPS,
                reacts=True,
            ),
            "amiable.dunning.paused.v1": Reads(
                required=("claim_id", "reason"), optional=("dispute_id", "until")
            ),
            "amiable.dunning.stopped.v1": Reads(required=("claim_id", "reason")),
            "amiable.dunning.step-skipped.v1": Reads(
                required=("claim_id", "revision", "step", "reason")
            ),
            "amiable.dunning.approval-requested.v1": Reads(
                required=("claim_id", "revision", "step")
            ),
            "amiable.dunning.step-due.v1": Reads(
                required=("claim_id", "revision", "step", "channel"), optional=("approved_by",)
            ),
            "amiable.dunning.policy-published.v1": Reads(
                required=("tenant", "policy_id", "version", "document", "published_at")
            ),
            "amiable.dunning.policy-activated.v1": Reads(
                required=("tenant", "policy_id", "version", "activated_at")
            ),
        },
    ),
    # domain/evolve.py (each debtor account's identity, preferences, claims and messages),
    # domain/react.py (what it queues), adapters/projector.py (one row per message, the
    # interactions, the creditor profiles).
    "communications": _with(
        LEDGER,
        {
            CLAIM_REGISTERED: Reads(
                required=("debtor.legal_name",),
                optional=(
                    "debtor.contacts",
                    "debtor.contacts[].name",
                    "debtor.contacts[].email",
                    "debtor.contacts[].phone",
                    "debtor.contacts[].role",
                    "debtor.postal_address",
                ),
            ),
            "amiable.claims.claim-amended.v1": Reads(
                required=("claim_id",), optional=("contacts", "postal_address")
            ),
            "amiable.claims.claim-settled.v1": Reads(required=("claim_id",), reacts=True),
            "amiable.claims.promise-to-pay-recorded.v1": Reads(
                required=("claim_id", "amount", "promised_on"), reacts=True
            ),
            "amiable.claims.payment-plan-agreed.v1": Reads(
                required=("claim_id", "installments"), reacts=True
            ),
            # Only that it happened: the account's contacts and address are dropped.
            "amiable.claims.debtor-personal-data-erased.v1": Reads(),
            "amiable.disputes.dispute-opened.v1": Reads(
                required=("claim_id", "dispute_id", "whole_claim", "disputed_amount"),
                reacts=True,
            ),
            "amiable.disputes.dispute-resolved.v1": Reads(required=("claim_id",)),
            "amiable.disputes.dispute-withdrawn.v1": Reads(required=("claim_id",)),
            "amiable.dunning.plan-scheduled.v1": Reads(
                required=("claim_id", "revision", "steps", "steps[].at")
            ),
            "amiable.dunning.resumed.v1": Reads(
                required=("claim_id", "revision", "steps", "steps[].at")
            ),
            "amiable.dunning.rescheduled.v1": Reads(
                required=("claim_id", "revision", "steps", "steps[].at")
            ),
            "amiable.dunning.paused.v1": Reads(required=("claim_id",)),
            "amiable.dunning.stopped.v1": Reads(required=("claim_id",)),
            "amiable.dunning.step-due.v1": Reads(
                required=(
                    "claim_id",
                    "revision",
                    "step",
                    "channel",
                    "fallback_channels",
                    "template",
                    "tone",
                    "solution_first",
                    "contact_role",
                    "due_at",
                    "group_id",
                    "group",
                ),
                optional=(
                    "amount_due",
                    "payment_deadline",
                    "disputed_amount",
                    "installment",
                    "review",
                ),
                reacts=True,
            ),
            "amiable.communications.communication-queued.v1": Reads(
                required=(
                    "claim_id",
                    "communication_id",
                    "purpose",
                    "cause_id",
                    "claims",
                    "channel",
                    "template",
                    "tone",
                    "language",
                    "kind",
                    "not_before",
                    "queued_at",
                ),
                optional=("review_required", "revision", "step", "group_id", "details"),
            ),
            "amiable.communications.communication-reviewed.v1": Reads(
                required=("communication_id", "decision", "reviewer", "reviewed_at"),
                optional=("edited_subject", "edited_body"),
            ),
            "amiable.communications.communication-deferred.v1": Reads(
                required=("communication_id", "rule", "until", "deferred_at")
            ),
            "amiable.communications.communication-suppressed.v1": Reads(
                required=("claim_id", "communication_id", "reason", "suppressed_at"),
                optional=("revision", "step"),
            ),
            "amiable.communications.communication-released.v1": Reads(
                required=("communication_id", "channel", "kind", "released_at")
            ),
            "amiable.communications.communication-sent.v1": Reads(
                required=(
                    "communication_id",
                    "language",
                    "cost",
                    "cost.amount",
                    "cost.currency",
                    "content",
                    "sent_at",
                ),
                optional=("message_id", "provider_reference", "document_sha256", "registered"),
            ),
            "amiable.communications.communication-delivered.v1": Reads(
                required=("communication_id", "delivered_at")
            ),
            "amiable.communications.communication-failed.v1": Reads(
                required=("communication_id", "reason", "failed_at")
            ),
            "amiable.communications.tracking-recorded.v1": Reads(
                required=("communication_id", "tracking_number", "recorded_at"),
                optional=("carrier", "status"),
            ),
            "amiable.communications.call-outcome-recorded.v1": Reads(
                required=("communication_id", "outcome", "agent", "recorded_at"),
                optional=("promise", "dispute", "notes"),
            ),
            "amiable.communications.interaction-recorded.v1": Reads(
                required=(
                    "claim_id",
                    "interaction_id",
                    "kind",
                    "summary",
                    "recorded_by",
                    "occurred_at",
                    "recorded_at",
                ),
                optional=("channel", "in_reply_to"),
            ),
            "amiable.communications.contact-preferences-set.v1": Reads(
                optional=("opted_out", "opted_out_channels", "preferred_channel", "language")
            ),
            "amiable.communications.creditor-profile-set.v1": Reads(
                required=("tenant", "profile", "set_by", "set_at")
            ),
        },
    ),
    # domain/evolve.py (each claim's file: its ledger and disputes), domain/react.py and
    # domain/calls.py (the reactions), adapters/projector.py (each dispute event's history row
    # holds its whole payload).
    "disputes": _with(
        LEDGER,
        {
            "amiable.claims.limitation-approaching.v1": Reads(
                required=("claim_id", "prescription_date")
            ),
            "amiable.communications.call-outcome-recorded.v1": Reads(
                required=("claim_id", "outcome", "recorded_at"),
                optional=("dispute", "dispute.reason", "dispute.amount", "notes"),
                reacts=True,
            ),
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
            "amiable.disputes.hardship-declared.v1": Reads(
                required=("claim_id", "dispute_id", "raised_by", "declared_at"),
                optional=("description",),
            ),
            "amiable.disputes.dispute-assigned.v1": Reads(
                required=("claim_id", "dispute_id", "assignee")
            ),
            "amiable.disputes.dispute-escalated-to-mediation.v1": Reads(
                required=("claim_id", "dispute_id"), optional=("mediator", "automatic")
            ),
            "amiable.disputes.dispute-commented.v1": Reads(required=("claim_id", "dispute_id")),
            "amiable.disputes.dispute-reclassified.v1": Reads(
                required=("claim_id", "dispute_id", "to_reason", "reclassified_at")
            ),
            "amiable.disputes.dispute-resolved.v1": Reads(
                required=("claim_id", "dispute_id", "outcome", "resolution_note", "resolved_at"),
                optional=("accepted_amount", "new_invoice_number"),
            ),
            "amiable.disputes.dispute-withdrawn.v1": Reads(
                required=("claim_id", "dispute_id", "withdrawn_at")
            ),
            "amiable.disputes.dispute-sla-breached.v1": Reads(
                required=("claim_id", "dispute_id", "which", "due_at"), reacts=True
            ),
        },
    ),
}
