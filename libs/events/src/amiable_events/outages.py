"""Which failures mean "a dependency is down", not "this code is wrong".

A lost or refused PostgreSQL connection, a pool that cannot hand one out in time, a broker that
does not answer: the request did nothing durable (or the append was not acknowledged, and the
client's retry is idempotent), so the client is told 503 with ``Retry-After`` and retries.
:func:`amiable_events.http.install_problem_handlers` maps them in one place; the projection
runner retries them instead of parking an account.
"""

from __future__ import annotations

import asyncio
import errno
import socket

import asyncpg
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    NotEnoughReplicasError,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

#: SQLSTATE classes and codes a retry can clear: connection exceptions (08), serialisation
#: failure and deadlock (40001, 40P01), lock and statement timeouts (55P03, 57014), the server
#: shutting down or starting (57P01-57P03), too many connections (53300).
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03", "53300"}


#: A socket that could not reach the server or lost it (raw, as asyncpg raises them on connect).
_NETWORK_ERRNOS = {
    errno.ECONNREFUSED,
    errno.ECONNRESET,
    errno.ECONNABORTED,
    errno.EHOSTUNREACH,
    errno.ENETUNREACH,
    errno.ETIMEDOUT,
    errno.EPIPE,
}

#: The exception classes an outage arrives as (each is checked further by :func:`outage`).
OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    DBAPIError,
    PoolTimeout,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    KafkaError,
)


def _sqlstate(exc: BaseException) -> str | None:
    for candidate in (exc, getattr(exc, "orig", None), getattr(exc, "__cause__", None)):
        code = getattr(candidate, "sqlstate", None) or getattr(candidate, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


def database_outage(exc: BaseException) -> bool:
    """True when ``exc`` says PostgreSQL is unreachable or the operation may succeed if retried
    (deadlock, serialisation, timeout, connection lost)."""
    if isinstance(exc, PoolTimeout | ConnectionError | asyncio.TimeoutError):
        return True
    if isinstance(
        exc,
        asyncpg.PostgresConnectionError | asyncpg.InterfaceError | asyncpg.InternalClientError,
    ):
        return True
    if isinstance(exc, socket.gaierror) or (
        isinstance(exc, OSError) and exc.errno in _NETWORK_ERRNOS
    ):
        return True
    code = _sqlstate(exc)
    if code is not None and (code.startswith("08") or code in _TRANSIENT_SQLSTATES):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        orig = exc.orig
        cause = getattr(orig, "__cause__", None) or orig
        return cause is not exc and cause is not None and database_outage(cause)
    return False


def log_outage(exc: BaseException) -> bool:
    """True when the broker did not answer (connection, timeout, not enough replicas)."""
    return isinstance(exc, KafkaConnectionError | KafkaTimeoutError | NotEnoughReplicasError)


def outage(exc: BaseException) -> str | None:
    """``"database"`` or ``"log"`` when ``exc`` is a dependency outage, else None."""
    if log_outage(exc):
        return "log"
    if database_outage(exc):
        return "database"
    return None
