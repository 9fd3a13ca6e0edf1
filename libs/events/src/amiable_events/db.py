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
        # No pre-ping: it costs a round trip on every checkout; connections are recycled
        # hourly instead, and a query on a dropped connection fails once and is retried.
        pool_recycle=3600,
        json_serializer=_json_text,
        json_deserializer=orjson.loads,
    )


def _json_text(value) -> str:
    """JSONB parameters through orjson: projections write a lot of JSON."""
    return orjson.dumps(value).decode()
