"""The risk projection's tables: one row per debtor account (its state and current assessment),
the assessments and alerts the log holds, and the ageing timers. No wall-clock column: a
rebuild from the log gives the same rows."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
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
    "risk_accounts",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("debtor_id", String, primary_key=True),
    Column("state", Text, nullable=False, comment="domain.state.Account as JSON"),
    Column("score", Integer),
    Column("grade", String(1)),
    Column("segment", String),
    Column("open_balance", JSONB, nullable=False, comment="currency -> open principal"),
    Column("assessed_at", DateTime(timezone=True)),
)
Index("risk_accounts_grade", accounts.c.tenant, accounts.c.grade)

assessments = Table(
    "risk_assessments",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("debtor_id", String, nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
    Column("assessed_at", DateTime(timezone=True), nullable=False),
    Column("assessment", JSONB, nullable=False, comment="the RiskAssessed payload"),
)
Index("risk_assessments_debtor", assessments.c.tenant, assessments.c.debtor_id)

alerts = Table(
    "risk_alerts",
    metadata,
    Column("event_id", Uuid, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("debtor_id", String, nullable=False),
    Column("signal", String, nullable=False),
    Column("as_of", Date, nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("evidence", JSONB, nullable=False),
)
Index("risk_alerts_tenant_raised", alerts.c.tenant, alerts.c.raised_at, alerts.c.event_id)

timers = add_timer_table(metadata)
add_runner_tables(metadata)
