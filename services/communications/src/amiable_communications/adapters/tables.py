"""The communications projection's tables: one state per debtor account, one row per message
(what the list, the review queue and the call tasks read), the inbound interactions, the
tenants' creditor profiles, and the governor's timers. No wall-clock column: a rebuild from the
log gives the same rows. Sealed columns hold the log's ciphertext: they read ``[erased]`` once
the debtor's key is shredded.

The sender's own record of its attempts (``deliveries``) is not here: it is what the sender did,
not what the log says, and a rebuild must not touch it (``adapters.deliveries``).
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

from amiable_events.projection import add_runner_tables
from amiable_events.timers import add_timer_table

metadata = MetaData()

accounts = Table(
    "communication_accounts",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("debtor_id", String, primary_key=True),
    Column("state", Text, nullable=False, comment="domain.state.Account as JSON"),
)

communications = Table(
    "communications",
    metadata,
    Column("communication_id", Uuid, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("debtor_id", String, nullable=False),
    Column("claim_id", Uuid, nullable=False, comment="the leading claim"),
    Column("claims", JSONB, nullable=False, comment="every claim it is about, leader first"),
    Column("purpose", String, nullable=False),
    Column("template", String, nullable=False),
    Column("channel", String, nullable=False),
    Column("tone", String, nullable=False),
    Column("language", String, nullable=False, comment="asked for; rendered_language: used"),
    Column("kind", String, nullable=False),
    Column("status", String, nullable=False),
    Column("review_required", Boolean, nullable=False),
    Column("review_decision", String),
    Column("reviewer", String),
    Column("revision", Integer),
    Column("step", String),
    Column("group_id", Uuid),
    Column("cause_id", Uuid, nullable=False),
    Column("details", JSONB, comment="the dunning step's StepDetails"),
    Column("not_before", DateTime(timezone=True), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False, comment="when the governor decides"),
    Column("deferrals", Integer, nullable=False),
    Column("deferral_rule", String, comment="the latest deferral's rule"),
    Column("queued_at", DateTime(timezone=True), nullable=False),
    Column("released_at", DateTime(timezone=True)),
    Column("sent_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    Column("failed_at", DateTime(timezone=True)),
    Column("suppressed_at", DateTime(timezone=True)),
    Column("reason", String, comment="why it was suppressed or failed"),
    Column("rendered_language", String),
    Column("message_id", String),
    Column("provider_reference", String),
    Column("document_sha256", String),
    Column("registered", Boolean, nullable=False),
    Column("tracking_number", String),
    Column("carrier", String),
    Column("tracking_status", String),
    Column("cost_amount", Numeric),
    Column("cost_currency", String(3)),
    Column("content", Text, comment="sealed JSON {subject, body}"),
    Column("edited_subject", Text, comment="sealed"),
    Column("edited_body", Text, comment="sealed"),
    Column("outcome", String, comment="a task's outcome"),
    Column("outcome_detail", JSONB, comment="the promise or the dispute it gave"),
    Column("notes", Text, comment="sealed"),
    Column("agent", String),
    Column("outcome_at", DateTime(timezone=True)),
    Column("traceparent", String, comment="the span of its release: the sender's parent"),
    Column("tracestate", String),
)
Index("communications_tenant_claim", communications.c.tenant, communications.c.claim_id)
Index("communications_tenant_status", communications.c.tenant, communications.c.status)
Index(
    "communications_claims",
    communications.c.claims,
    postgresql_using="gin",
    postgresql_ops={"claims": "jsonb_path_ops"},
)

interactions = Table(
    "communication_interactions",
    metadata,
    Column("interaction_id", Uuid, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("debtor_id", String, nullable=False),
    Column("claim_id", Uuid, nullable=False),
    Column("kind", String, nullable=False),
    Column("channel", String),
    Column("summary", Text, nullable=False, comment="sealed"),
    Column("in_reply_to", Uuid),
    Column("recorded_by", String, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
Index("communication_interactions_claim", interactions.c.tenant, interactions.c.claim_id)

#: Which debtor account each claim is in: a command on a claim (an interaction) finds its account.
claims = Table(
    "communication_claims",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("claim_id", Uuid, primary_key=True),
    Column("debtor_id", String, nullable=False),
)

profiles = Table(
    "creditor_profiles",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("profile", JSONB, nullable=False),
    Column("set_by", String, nullable=False),
    Column("set_at", DateTime(timezone=True), nullable=False),
)

timers = add_timer_table(metadata)
add_runner_tables(metadata)
