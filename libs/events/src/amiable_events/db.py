"""PostgreSQL engines. Each service owns one database, ``amiable_<service>``, on one server;
TLS is set in the database URL as libpq's ``sslmode`` and ``sslrootcert`` (:func:`create_engine`).

Projections write in bulk through :class:`Bulk`, on the asyncpg connection under SQLAlchemy's:
a batch's rows go to each table as one ``INSERT ... SELECT FROM unnest(<arrays>)``, a prepared
statement whose arrays asyncpg encodes in binary, where SQLAlchemy's executemany processed every
parameter of every row in Python (the rebuild spent most of its time there).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import ssl
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import asyncpg
import orjson
from pydantic import BaseModel
from sqlalchemy import Table, event, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

M = TypeVar("M", bound=BaseModel)


#: libpq's TLS parameters that a URL may carry; SQLAlchemy would hand them to asyncpg.connect,
#: which takes none of them (only ``ssl``), so :func:`create_engine` turns them into that.
_TLS_PARAMETERS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword")
_TLS_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def create_engine(url: str, database: str | None = None, *, pool_size: int = 10) -> AsyncEngine:
    """An engine on ``url``: a server URL and the ``database`` on it, or (``database`` None) a
    full URL. TLS is said as libpq says it, in the URL's query: ``?sslmode=verify-full&
    sslrootcert=/path/ca.crt`` (also ``require``, ``verify-ca``, ``disable``; ``sslcert`` and
    ``sslkey`` for a client certificate)."""
    target = make_url(url).set(drivername="postgresql+asyncpg")
    if database is not None:
        target = target.set(database=database)
    tls = {name: target.query[name] for name in _TLS_PARAMETERS if name in target.query}
    unknown = sorted(name for name in target.query if name.startswith("ssl") and name not in tls)
    if unknown:
        raise ValueError(f"database URL: unsupported TLS parameters {', '.join(unknown)}")
    if tls:
        tls_of(tls)  # a wrong mode or a missing CA file stops the start, not the first query
    engine = create_async_engine(
        target.difference_update_query(_TLS_PARAMETERS),
        pool_size=pool_size,
        max_overflow=pool_size,
        # No pre-ping: with asyncpg it costs three round trips (BEGIN, a query, ROLLBACK) on
        # every checkout, a third of a command's time. After PostgreSQL restarts, the first
        # statement on a dead connection fails as a disconnect; SQLAlchemy then invalidates the
        # whole pool, so that request answers 503 and the next ones connect afresh
        # (services/claims/tests/integration/test_dependencies_down.py).
        pool_recycle=3600,
        # A checkout waits this long at most (a request then answers 503, not a hang).
        pool_timeout=5,
        connect_args={"timeout": 5},
        # Logged exceptions never carry SQL parameters: they hold keys and personal data.
        hide_parameters=True,
        json_serializer=json_text,
        json_deserializer=orjson.loads,
    )
    if tls:

        @event.listens_for(engine.sync_engine, "do_connect")
        def _with_tls(dialect, record, arguments, parameters) -> None:
            # Read at each new connection, not once: a CA or client certificate renewed in its
            # mounted file (CloudNativePG rotates them) is used without a restart.
            parameters["ssl"] = tls_of(tls)

    return engine


def tls_of(parameters: Mapping[str, str]) -> ssl.SSLContext | str | bool:
    """asyncpg's ``ssl`` argument for libpq's TLS parameters."""
    mode = parameters.get("sslmode", "prefer")
    if mode not in _TLS_MODES:
        raise ValueError(f"database URL: sslmode={mode!r} is not one of {', '.join(_TLS_MODES)}")
    if mode == "disable":
        return False
    if mode in ("allow", "prefer"):
        return mode  # asyncpg tries TLS without checking the server, as libpq does
    root = parameters.get("sslrootcert")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = mode == "verify-full"
    # As libpq: sslmode=require with a root certificate given checks the chain (verify-ca).
    if mode == "require" and root is None:
        context.verify_mode = ssl.CERT_NONE
    elif root is None:
        raise ValueError(f"database URL: sslmode={mode} needs sslrootcert=<CA file> (or system)")
    elif root == "system":
        context.load_default_certs()
    else:
        try:
            context.load_verify_locations(cafile=root)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"database URL: sslrootcert={root}: {exc}") from exc
    if "sslcert" in parameters:
        try:
            context.load_cert_chain(
                parameters["sslcert"], parameters.get("sslkey"), parameters.get("sslpassword")
            )
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"database URL: sslcert={parameters['sslcert']}: {exc}") from exc
    return context


_MID_STATEMENT = (
    asyncio.CancelledError,
    TimeoutError,
    OSError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.PostgresConnectionError,
)


@contextlib.asynccontextmanager
async def raw(engine: AsyncEngine) -> AsyncIterator[asyncpg.Connection]:
    """The asyncpg connection under one of ``engine``'s pooled connections, outside any
    transaction: each statement commits on its own.

    The command path's statements go this way, as SQL written for asyncpg: SQLAlchemy's
    statement building, cache keys and result processing cost twice the query itself, and were
    half of a registration's CPU (bench/profile_commands.py). A connection found lost is
    invalidated with the whole pool, as SQLAlchemy does on its own statements, so that the
    requests after it connect afresh."""
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        try:
            yield driver
        except BaseException as exc:
            # Cancelled or cut mid-statement (PostgreSQL killed, a request timed out), the
            # connection may still believe an operation is in progress, and asyncpg would refuse
            # every later use of it ("another operation is in progress"): it is not given back.
            # A server's error answer (asyncpg.PostgresError) leaves it as good as before.
            closed = driver.is_closed()
            if closed or isinstance(exc, _MID_STATEMENT):
                with contextlib.suppress(Exception):
                    await conn.invalidate()
            if closed:
                await engine.dispose(close=False)
            raise


#: An escaped U+0000 that is not itself an escaped backslash followed by "u0000".
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def json_text(value: Any) -> str:
    """``value`` (JSON data) as JSON text for a jsonb column, through orjson: projections write
    a lot of JSON. PostgreSQL stores no U+0000 in jsonb: an event that carries one (the API
    refuses it, another producer may not) is stored with U+FFFD instead, rather than parking
    its debtor account."""
    return _without_nul(orjson.dumps(value).decode())


def model_json(model: BaseModel) -> str:
    """A pydantic model as :func:`json_text` writes its ``model_dump(mode="json")``, serialized
    once by pydantic (several times faster than dumping to Python, then to JSON)."""
    return _without_nul(model.model_dump_json())


async def load_account_states(
    connection: asyncpg.Connection, table: str, keys: list[tuple[str, str]], model: type[M]
) -> dict[tuple[str, str], M]:
    """The states stored as JSON per debtor account (columns ``tenant``, ``debtor_id``,
    ``state``) of these (tenant, debtor id) keys, in one query; absent ones are left out."""
    rows = await connection.fetch(
        f"SELECT tenant, debtor_id, state FROM {table} WHERE (tenant, debtor_id) IN "
        "(SELECT * FROM unnest($1::text[], $2::text[]))",
        [tenant for tenant, _ in keys],
        [debtor for _, debtor in keys],
    )
    return {
        (row["tenant"], row["debtor_id"]): model.model_validate_json(row["state"]) for row in rows
    }


def _without_nul(text: str) -> str:
    return _NUL_ESCAPE.sub(r"\1\\ufffd", text) if "\\u0000" in text else text


def storable(text: str | None) -> str | None:
    """``text`` as PostgreSQL can store it in a text column: U+0000 becomes U+FFFD."""
    return text.replace("\x00", "\ufffd") if text and "\x00" in text else text


#: From this many rows on, :meth:`Bulk.insert` copies them (three round trips) rather than
#: sending them as arrays (one round trip, but asyncpg checks each array element for nesting,
#: which cost more than the rest of the encoding).
COPY_FROM_ROWS = 100


@dataclass(frozen=True)
class Bulk:
    """Set-based statements on the asyncpg connection under a SQLAlchemy one, in its transaction
    and on the tables of its schema (its ``schema_translate_map``).

    jsonb parameters are JSON text (:func:`json_text`; the codec SQLAlchemy installs on each
    connection sends text as it is) and jsonb results come back decoded by orjson.
    """

    connection: asyncpg.Connection
    schema: str

    @classmethod
    async def of(cls, conn: AsyncConnection) -> Bulk:
        raw = (await conn.get_raw_connection()).driver_connection
        if not raw.is_in_transaction():
            # SQLAlchemy begins lazily, with its first statement: a statement sent here before
            # it would commit on its own, outside the batch.
            raise RuntimeError("Bulk needs a connection inside a begun transaction")
        schema = (
            conn.sync_connection.get_execution_options().get("schema_translate_map") or {}
        ).get(None)
        return cls(raw, schema or "public")

    def name(self, table: Table) -> str:
        return f'"{self.schema}"."{table.name}"'

    async def insert(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[Sequence],
        then: str = "",
        *,
        new: bool = False,
    ) -> None:
        """Insert ``rows`` (tuples in the order of ``columns``) as one statement would;
        ``then`` is what follows it (``ON CONFLICT ...``, where the table is ``target``).

        A few rows go as one ``INSERT ... SELECT FROM unnest(<arrays>)``; many are copied
        (binary COPY), straight into the table when nothing follows, else into a temporary
        table of this session that the insert empties as it reads it. ``new``: the caller
        expects none of the rows in the table yet (a claim it did not find), so many are first
        copied straight in, in a savepoint, and take the way of ``then`` only if one was there
        after all: the same rows either way, for half of PostgreSQL's work.
        """
        if not rows:
            return
        columns = tuple(columns)
        if len(rows) < COPY_FROM_ROWS:
            statement = _insert_sql(self.name(table), table, columns) + then
            await self.connection.execute(statement, *zip(*rows, strict=True))
            return
        if not then:
            await self._copy(table, columns, rows)
            return
        if new:
            await self.connection.execute("SAVEPOINT amiable_bulk")
            try:
                await self._copy(table, columns, rows)
            except asyncpg.UniqueViolationError:
                await self.connection.execute(
                    "ROLLBACK TO SAVEPOINT amiable_bulk; RELEASE SAVEPOINT amiable_bulk"
                )
            else:
                await self.connection.execute("RELEASE SAVEPOINT amiable_bulk")
                return
        stage, create = _stage(table, columns)
        # A table of the session's own: created by the first batch that needs it (again after
        # a rollback of that batch) and empty at each commit.
        await self.connection.execute(create)
        await self.connection.copy_records_to_table(stage, columns=columns, records=rows)
        listed = ", ".join(_quoted(columns))
        await self.connection.execute(
            f"WITH staged AS (DELETE FROM {stage} RETURNING {listed}) "
            f"INSERT INTO {self.name(table)} AS target ({listed}) "
            f"SELECT {listed} FROM staged {then}"
        )

    async def _copy(self, table: Table, columns: tuple[str, ...], rows: Sequence[Sequence]):
        await self.connection.copy_records_to_table(
            table.name, schema_name=self.schema, columns=columns, records=rows
        )


@lru_cache(maxsize=1024)  # schemas x tables x column lists
def _insert_sql(name: str, table: Table, columns: tuple[str, ...]) -> str:
    arrays = ", ".join(f"${n}::{_sql_type(table, c)}[]" for n, c in enumerate(columns, 1))
    return (
        f"INSERT INTO {name} AS target ({', '.join(_quoted(columns))}) "
        f"SELECT * FROM unnest({arrays}) "
    )


@lru_cache(maxsize=256)
def _stage(table: Table, columns: tuple[str, ...]) -> tuple[str, str]:
    """The name of a temporary table holding ``columns`` of ``table`` (named after their types,
    so two shapes never share one), and the statement creating it if the session has none."""
    definition = ", ".join(f'"{c}" {_sql_type(table, c)}' for c in columns)
    name = f"amiable_stage_{hashlib.sha256(definition.encode()).hexdigest()[:16]}"
    return name, (
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {name} ({definition}) ON COMMIT DELETE ROWS"
    )


def _sql_type(table: Table, column: str) -> str:
    return table.c[column].type.compile(dialect=postgresql.dialect())


def _quoted(names: Iterable[str]) -> list[str]:
    return [f'"{name}"' for name in names]


class AccountLocks:
    """A lock per debtor account shared by every replica of a service: a transaction-level
    PostgreSQL advisory lock on the service's database, held on a connection of its own for as
    long as the caller's block runs (a command's catch-up, decision and append).

    The command bus locks an account in its process only; that is enough where ``evolve`` makes
    concurrent appends harmless. A rule over the account's history ("one open dispute per
    claim") needs more: of two replicas deciding at once, the second must see the first's
    event. Under this lock it does, since the bus catches up with the log after taking it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @contextlib.asynccontextmanager
    async def hold(self, account: str) -> AsyncIterator[None]:
        # Through SQLAlchemy, which begins the transaction with this statement: sent on the raw
        # connection it would run in a transaction of its own and release the lock at once.
        async with self.engine.connect() as conn, conn.begin():
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended('command:' || :account, 0))"),
                {"account": account},
            )
            yield
