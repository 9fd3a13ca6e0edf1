"""The disputes projection's tables: one file per claim (what is owed, its disputes), one row per
dispute for the queries, each dispute's events (its history), and the SLA timers. No wall-clock
column: a rebuild from the log gives the same rows."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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

files = Table(
    "dispute_files",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("claim_id", Uuid, primary_key=True),
    Column("debtor_id", String, nullable=False),
    Column("state", Text, nullable=False, comment="domain.state.ClaimFile as JSON"),
)

disputes = Table(
    "disputes",
    metadata,
    Column("dispute_id", Uuid, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("claim_id", Uuid, nullable=False),
    Column("debtor_id", String, nullable=False),
    Column("invoice_number", String),
    Column("status", String, nullable=False),
    Column("reason", String, nullable=False),
    Column("raised_by", String, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    Column("outcome", String),
    Column("mediated", Boolean, nullable=False),
    Column("limitation_at_risk", Boolean, nullable=False),
    Column("breaches", JSONB, nullable=False, comment="the deadlines missed"),
    Column("disputed_amount", Numeric),
    Column("accepted_amount", Numeric),
    Column("currency", String(3), nullable=False),
    Column("assignee", String),
    Column("mediator", String),
)
Index("disputes_tenant_opened", disputes.c.tenant, disputes.c.opened_at, disputes.c.dispute_id)
Index("disputes_claim", disputes.c.tenant, disputes.c.claim_id)

history = Table(
    "dispute_events",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("dispute_id", Uuid, nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("type", String, nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("actor", String),
    Column("data", JSONB, nullable=False, comment="the payload; sealed fields stay sealed"),
)
Index("dispute_events_dispute", history.c.dispute_id, history.c.offset)

timers = add_timer_table(metadata)
add_runner_tables(metadata)
