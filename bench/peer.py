"""The peer baseline: the ``eventsourcing`` library (9.5) on PostgreSQL, the same kind of events.

A claim registration is a one-event aggregate (``Claim.Registered``: tenant, invoice, amount,
dates, debtor); ``save`` records five of them per transaction (the issue quotes a peer that
committed five events per transaction): the append rate. Then the library's
``ProjectionRunner`` replays the application's notification log into a materialised view with
tracking records (a ``PostgresTrackingRecorder``: each event's row and its tracking record in
one transaction, the library's exactly-once projection): the replay rate our rebuild is
compared with.

It runs in a schema of its own (``POSTGRES_SCHEMA``), which ``run`` drops at the end.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import psycopg
from eventsourcing.application import Application
from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import JSONTranscoder, Tracking, Transcoding
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.projection import Projection, ProjectionRunner
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier


class Claim(Aggregate):
    @event("Registered")
    def __init__(
        self,
        tenant: str,
        invoice_number: str,
        amount: Decimal,
        currency: str,
        issued_on: date,
        due_on: date,
        debtor_id: str,
        debtor_legal_name: str,
        debtor_country: str,
        registered_at: datetime,
    ) -> None:
        self.tenant = tenant
        self.invoice_number = invoice_number
        self.amount = amount
        self.currency = currency
        self.issued_on = issued_on
        self.due_on = due_on
        self.debtor_id = debtor_id
        self.debtor_legal_name = debtor_legal_name
        self.debtor_country = debtor_country
        self.registered_at = registered_at


class DateAsISO(Transcoding):
    """The library transcodes datetimes, not dates: a claim's invoice dates need this one."""

    type = date
    name = "date_iso"

    def encode(self, obj: date) -> str:
        return obj.isoformat()

    def decode(self, data: str) -> date:
        return date.fromisoformat(data)


class Claims(Application[uuid.UUID]):
    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DateAsISO())

    def register(self, numbers: range) -> int:
        """Register claims ``numbers`` in one transaction (the same fields as
        ``tests.factories.registered``); returns the last notification id."""
        return self.save(*(self._claim(n) for n in numbers))[-1].notification.id

    @staticmethod
    def _claim(n: int) -> Claim:
        debtor = f"debtor-{n % 50}"
        return Claim(
            tenant="peer",
            invoice_number=f"INV-{n:06d}",
            amount=Decimal("1250.00") + n,
            currency="EUR",
            issued_on=date(2026, 1, 15),
            due_on=date(2026, 2, 14),
            debtor_id=debtor,
            debtor_legal_name=f"Debtor {debtor} SAS",
            debtor_country="FR",
            registered_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        )


class ClaimsView(PostgresTrackingRecorder):
    """One row per claim, written with its tracking record in one transaction."""

    def __init__(self, datastore: PostgresDatastore, **kwargs: Any) -> None:
        super().__init__(datastore, **kwargs)
        table = (Identifier(datastore.schema), Identifier("claims"))
        self.sql_create_statements.append(
            SQL(
                "CREATE TABLE IF NOT EXISTS {0}.{1} (claim_id uuid PRIMARY KEY, tenant text, "
                "invoice_number text, amount numeric(20, 4), currency text, issued_on date, "
                "due_on date, debtor_id text, debtor_legal_name text, debtor_country text, "
                "registered_at timestamptz)"
            ).format(*table)
        )
        self.insert_claim = SQL(
            "INSERT INTO {0}.{1} VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        ).format(*table)
        self.count_claims = SQL("SELECT count(*) FROM {0}.{1}").format(*table)

    def register_claim(self, registered: Claim.Registered, tracking: Tracking) -> None:
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(
                self.insert_claim,
                (
                    registered.originator_id,
                    registered.tenant,
                    registered.invoice_number,
                    registered.amount,
                    registered.currency,
                    registered.issued_on,
                    registered.due_on,
                    registered.debtor_id,
                    registered.debtor_legal_name,
                    registered.debtor_country,
                    registered.registered_at,
                ),
                prepare=True,
            )
            self._insert_tracking(curs, tracking)

    def claims(self) -> int:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(self.count_claims)
            return curs.fetchone()["count"]


class ClaimsProjection(Projection[ClaimsView]):
    name = "peerclaims"
    topics = (get_topic(Claim.Registered),)

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        self.view.insert_tracking(tracking)

    @process_event.register(Claim.Registered)
    def _registered(self, domain_event: Claim.Registered, tracking: Tracking) -> None:
        self.view.register_claim(domain_event, tracking)


#: Registrations saved per transaction: the issue's quoted peer committed each five-event
#: aggregate in its own transaction; five one-event aggregates per ``save`` commit as many.
PER_TRANSACTION = 5


@dataclass(frozen=True)
class PeerResult:
    events: int
    append_seconds: float
    replay_seconds: float

    @property
    def append_rate(self) -> float:
        return self.events / self.append_seconds

    @property
    def replay_rate(self) -> float:
        return self.events / self.replay_seconds


def run(database_url: str, database: str, events: int) -> PeerResult:
    """Append ``events`` registrations, then replay them into the view; blocking (threads)."""
    server = urlsplit(database_url)
    schema = f"bench_peer_{uuid.uuid4().hex[:8]}"
    conninfo = psycopg.conninfo.make_conninfo(
        host=server.hostname,
        port=server.port or 5432,
        user=server.username,
        password=server.password,
        dbname=database,
    )
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": database,
        "POSTGRES_HOST": server.hostname or "localhost",
        "POSTGRES_PORT": str(server.port or 5432),
        "POSTGRES_USER": server.username or "",
        "POSTGRES_PASSWORD": server.password or "",
        "POSTGRES_SCHEMA": schema,
    }
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(SQL("CREATE SCHEMA {0}").format(Identifier(schema)))
    try:
        app = Claims(env)
        try:
            started = time.perf_counter()
            last = 0
            for start in range(0, events, PER_TRANSACTION):
                last = app.register(range(start, min(events, start + PER_TRANSACTION)))
            append_seconds = time.perf_counter() - started
        finally:
            app.close()
        started = time.perf_counter()
        with ProjectionRunner(
            application_class=Claims,
            projection_class=ClaimsProjection,
            view_class=ClaimsView,
            env=env,
        ) as runner:
            # Polled every 10 ms: the library's own wait() backs off to 800 ms between checks,
            # which would be part of the measured time.
            deadline = time.monotonic() + 3600
            while (runner.view.max_tracking_id(runner.app_name) or 0) < last:
                if time.monotonic() > deadline:
                    raise TimeoutError("the eventsourcing projection did not catch up in an hour")
                runner.run_forever(timeout=0.01)
            replay_seconds = time.perf_counter() - started
            rows = runner.view.claims()
        if rows != events:
            raise RuntimeError(f"the peer's view holds {rows} claims, not {events}")
        return PeerResult(events, append_seconds, replay_seconds)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(SQL("DROP SCHEMA IF EXISTS {0} CASCADE").format(Identifier(schema)))
