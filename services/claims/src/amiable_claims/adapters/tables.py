"""The claims projection's tables: one row per claim (its folded state), one per debtor
account, what the risk service said about a debtor account, every event about a claim (the
timeline), the claims' timers, and the narrow rows the portfolio reads add up (a claim's dates
and amount, its payments and credit notes). No wall-clock column: a rebuild from the log gives
the same rows."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
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

claims = Table(
    "claims",
    metadata,
    Column("claim_id", Uuid, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("debtor_id", String, nullable=False),
    Column("invoice_number", String, nullable=False),
    Column("amount", Numeric(20, 4), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("issued_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("contract_reference", String),
    Column("purchase_order", String),
    Column("description", Text),
    Column(
        "debtor", JSONB, nullable=False, comment="as registered and amended; personal data sealed"
    ),
    Column("status", String, nullable=False),
    Column("outstanding", Numeric(20, 4), nullable=False, comment="principal not yet paid"),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("closed_on", Date),
    Column(
        "fixed_fee_waived_from",
        Date,
        comment="no fixed fee falling due from this day (the debtor's collective proceedings)",
    ),
    Column("idempotency_key", String),
    Column("event_id", Uuid, nullable=False, comment="the ClaimRegistered event"),
    Column(
        "state", JSONB, nullable=False, comment="the domain state (amiable_claims.domain.Claim)"
    ),
    Index("claims_tenant_invoice", "tenant", "invoice_number"),
    Index("claims_tenant_idempotency", "tenant", "idempotency_key"),
    Index("claims_tenant_listing", "tenant", "registered_at", "claim_id"),
    Index("claims_tenant_debtor", "tenant", "debtor_id", "status"),
)

debtor_accounts = Table(
    "debtor_accounts",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("debtor_id", String, primary_key=True),
    Column("legal_name", String, nullable=False),
    Column("country", String(2), nullable=False),
    Column("claims_registered", Integer, nullable=False),
)

# What claims keeps of the risk service's events about a debtor account (any account, with or
# without claims yet): its latest grade and segment, and the collective proceeding that first
# barred payment (its reactions load it, app/reactions.py).
debtor_risk = Table(
    "debtor_risk",
    metadata,
    Column("tenant", String, primary_key=True),
    Column("debtor_id", String, primary_key=True),
    Column("grade", String(1), comment="of the latest RiskAssessed; null: never assessed"),
    Column("segment", String),
    Column("proceeding_kind", String, comment="of the earliest InsolvencyRecorded opening"),
    Column("proceeding_opened_on", Date),
    Column("proceeding_reference", String),
)

# A claim's own events, and each debtor-account event once per claim of the debtor open when it
# was applied: hence the claim in the key.
claim_events = Table(
    "claim_events",
    metadata,
    Column("partition", Integer, primary_key=True),
    Column("offset", BigInteger, primary_key=True),
    Column("claim_id", Uuid, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("debtor_id", String, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("type", String, nullable=False),
    Column("source", String, nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("correlation_id", Uuid, nullable=False),
    Column("causation_id", Uuid),
    Column("actor", String),  # ce_actor; null on events recorded before it existed
    Column("summary", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Index("claim_events_claim", "tenant", "claim_id", "offset"),
)

# The portfolio reads (KPIs, aged balances, a statement's aged principal) are sums over these
# narrow rows in SQL (adapters/portfolio.py), not over every claim's state in Python. Amounts are
# numeric with no scale of their own: they keep the one they were registered with ("1250",
# "1250.5"), so a sum prints as the same sum of Decimals does (docs/kpis.md).
portfolio_claims = Table(
    "portfolio_claims",
    metadata,
    Column("claim_id", Uuid, primary_key=True),
    Column("tenant", String, nullable=False),
    Column("debtor_id", String, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount", Numeric, nullable=False, comment="invoiced principal, as registered"),
    Column("issued_on", Date, nullable=False),
    Column("issued_month", Date, nullable=False, comment="the first day of issued_on's month"),
    Column("due_on", Date, nullable=False),
    Column("registered_on", Date, nullable=False, comment="the UTC date of registered_at"),
    Column("closed_on", Date),
    Column("closed_as", String, comment="settled, written_off or cancelled; null while open"),
    Column("placed_amount", Numeric, nullable=False, comment="domain.kpis.placed_amount"),
    Column(
        "balance",
        Numeric,
        nullable=False,
        comment="amount less every payment and credit note, whatever its date; below 0 if overpaid",
    ),
    Column("disputed_on", Date, comment="the debtor's local date of the claim's first dispute"),
    Column("dispute_reason", String, comment="that dispute's reason"),
    Column(
        "recovery_cost",
        Numeric,
        nullable=False,
        comment="the claim's share of its messages' costs, in its currency (domain.costs)",
    ),
    Index("portfolio_claims_tenant_debtor", "tenant", "debtor_id"),
)

claim_movements = Table(
    "claim_movements",
    metadata,
    Column("claim_id", Uuid, primary_key=True),
    Column("kind", String, primary_key=True, comment="payment or credit (a credit note)"),
    Column(
        "seq", Integer, primary_key=True, comment="its place in the claim's payments or credits"
    ),
    Column("tenant", String, nullable=False),
    Column("on", Date, nullable=False, comment="value date"),
    Column("amount", Numeric, nullable=False),
    Column(
        "recovered",
        Boolean,
        nullable=False,
        comment="a payment dated on or after the claim's registration: collected (docs/kpis.md)",
    ),
    # A balance at d is the amount less ``moved`` plus the movements dated after d: few, for a
    # recent d; the reads find them by this index.
    Index("claim_movements_tenant_on", "tenant", "on"),
)

timers = add_timer_table(metadata)
# The projector reads a changed claim's pending timers by subject on every batch that touches a
# claim it already holds: without this, a scan of every timer (75 ms at 200,000 timers).
Index("timers_pending_subject", timers.c.subject, postgresql_where=timers.c.state == "pending")
add_runner_tables(metadata)
