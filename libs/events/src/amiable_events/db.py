"""PostgreSQL engines. Each service owns one database, ``amiable_<service>``, on one server."""

from __future__ import annotations

import re

import orjson
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def database_url(server_url: str, database: str) -> str:
    """``server_url`` with the asyncpg driver and ``database`` as its database."""
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=database)
    return url.render_as_string(hide_password=False)


def create_engine(server_url: str, database: str, *, pool_size: int = 10) -> AsyncEngine:
    return create_async_engine(
        database_url(server_url, database),
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
        json_serializer=_json_text,
        json_deserializer=orjson.loads,
    )


#: An escaped U+0000 that is not itself an escaped backslash followed by "u0000".
_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def _json_text(value) -> str:
    """JSONB parameters through orjson: projections write a lot of JSON. PostgreSQL stores no
    U+0000 in jsonb: an event that carries one (the API refuses it, another producer may not)
    is stored with U+FFFD instead, rather than parking its debtor account."""
    text = orjson.dumps(value).decode()
    return _NUL_ESCAPE.sub(r"\1\\ufffd", text) if "\\u0000" in text else text


def storable(text: str | None) -> str | None:
    """``text`` as PostgreSQL can store it in a text column: U+0000 becomes U+FFFD."""
    return text.replace("\x00", "\ufffd") if text and "\x00" in text else text
