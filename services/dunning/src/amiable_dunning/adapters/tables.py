"""The dunning projection's tables: one state per debtor account, one row per claim and per
current step for the queries, the tenants' policies and their activations, and the timers. No
wall-clock column: a rebuild from the log gives the same rows."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
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
    "dunning_accounts",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("debtor_id", String, primary_key=True),
    Column("state", Text, nullable=False, comment="domain.state.Account as JSON"),
)

claims = Table(
    "dunning_claims",
    metadata,
    Column("claim_id", Uuid, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("debtor_id", String, nullable=False),
    Column("status", String, nullable=False),
    Column("track", String),
    Column("revision", Integer, nullable=False),
    Column("amount", Numeric, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("due_on", Date, nullable=False),
)
Index("dunning_claims_tenant", claims.c.tenant, claims.c.claim_id)

steps = Table(
    "dunning_steps",
    metadata,
    Column("claim_id", Uuid, primary_key=True),
    Column("revision", Integer, primary_key=True),
    Column("step", String, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("debtor_id", String, nullable=False),
    Column("action", String, nullable=False),
    Column("channel", String, nullable=False),
    Column("stage", String, nullable=False),
    Column("status", String, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("needs_approval", Boolean, nullable=False),
    Column("amount", Numeric, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("due_on", Date, nullable=False),
)
Index("dunning_steps_upcoming", steps.c.tenant, steps.c.status, steps.c.at)

policies = Table(
    "dunning_policies",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("policy_id", String, primary_key=True),
    Column("version", String, primary_key=True),
    Column("document", JSONB, nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False),
)

activations = Table(
    "dunning_policy_activations",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("activated_at", DateTime(timezone=True), primary_key=True),
    Column("policy_id", String, primary_key=True),
    Column("version", String, nullable=False),
)

timers = add_timer_table(metadata)
add_runner_tables(metadata)
