"""PostgreSQL engines. Each service owns one database, ``amiable_<service>``, on one server."""

from __future__ import annotations

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
        # Pre-ping: after PostgreSQL restarts every pooled connection is dead; the ping on
        # checkout replaces a dead one instead of failing the request that drew it.
        pool_pre_ping=True,
        pool_recycle=3600,
        # A checkout waits this long at most (a request then answers 503, not a hang).
        pool_timeout=5,
        connect_args={"timeout": 5},
        # Logged exceptions never carry SQL parameters: they hold keys and personal data.
        hide_parameters=True,
        json_serializer=_json_text,
        json_deserializer=orjson.loads,
    )


def _json_text(value) -> str:
    """JSONB parameters through orjson: projections write a lot of JSON."""
    return orjson.dumps(value).decode()
