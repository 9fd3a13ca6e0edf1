"""``Bulk.insert``: a few rows go as arrays, many are copied; both give the same rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Numeric, String, Table, Uuid, text
from sqlalchemy.dialects.postgresql import JSONB

from amiable_events.db import COPY_FROM_ROWS, Bulk, create_engine, json_text

pytestmark = pytest.mark.integration

metadata = MetaData()
items = Table(
    "items",
    metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", String, nullable=False),
    Column("amount", Numeric(20, 4), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("data", JSONB, nullable=False),
    Column("seen", Integer, nullable=False),
)
COLUMNS = ("id", "name", "amount", "at", "data", "seen")
#: As a projection counts what it saw again.
UPSERT = "ON CONFLICT (id) DO UPDATE SET seen = target.seen + excluded.seen, name = excluded.name"


@pytest.fixture
async def schema(infra, unique):
    engine = create_engine(infra.database_url, "amiable_claims", pool_size=1)
    name = f"test_bulk_{unique}"
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{name}"'))
        await conn.execution_options(schema_translate_map={None: name})
        await conn.run_sync(metadata.create_all)
    try:
        yield engine, name
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        await engine.dispose()


def rows(count: int, *, name: str = "first") -> list[tuple]:
    at = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    return [
        (
            uuid.UUID(int=n + 1),
            name,
            Decimal("1250.5") + n,
            at,
            json_text({"n": n, "text": "nul\x00here", "nested": [1, {"a": None}]}),
            1,
        )
        for n in range(count)
    ]


async def insert(engine, schema: str, batch: list[tuple], then: str = "") -> None:
    async with engine.begin() as conn:
        await conn.execution_options(schema_translate_map={None: schema})
        await conn.execute(text("SELECT 1"))  # SQLAlchemy begins with its first statement
        await (await Bulk.of(conn)).insert(items, COLUMNS, batch, then)


async def table(engine, schema: str) -> list[tuple]:
    async with engine.connect() as conn:
        found = await conn.execute(
            text(f'SELECT id, name, amount, at, data::text, seen FROM "{schema}".items ORDER BY id')
        )
        return [tuple(row) for row in found]


@pytest.mark.parametrize("count", [3, COPY_FROM_ROWS + 7])
async def test_arrays_and_copy_write_the_same_rows_and_upsert_alike(schema, count):
    engine, name = schema
    await insert(engine, name, rows(count))
    await insert(engine, name, rows(count, name="again"), UPSERT)

    found = await table(engine, name)
    assert len(found) == count
    assert {row[1] for row in found} == {"again"}
    assert {row[5] for row in found} == {2}
    first = found[0]
    assert first[2] == Decimal("1250.5000")
    assert first[3] == datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
    # jsonb holds no U+0000: json_text wrote U+FFFD
    assert first[4] == '{"n": 0, "text": "nul\ufffdhere", "nested": [1, {"a": null}]}'


async def test_rows_said_new_that_are_not_still_upsert(schema):
    """``new=True`` copies straight into the table; when a row was there after all (a forged
    claim id, say), the insert takes the way of its ON CONFLICT clause, as if never said new."""
    engine, name = schema
    many = rows(COPY_FROM_ROWS + 5)
    await insert(engine, name, many[:1])
    async with engine.begin() as conn:
        await conn.execution_options(schema_translate_map={None: name})
        await conn.execute(text("SELECT 1"))
        bulk = await Bulk.of(conn)
        await bulk.insert(items, COLUMNS, [(*row[:5], 1) for row in many], UPSERT, new=True)

    found = await table(engine, name)
    assert [row[5] for row in found] == [2] + [1] * (len(many) - 1)

    brand_new = [(uuid.uuid4(), *row[1:]) for row in rows(COPY_FROM_ROWS)]
    async with engine.begin() as conn:
        await conn.execution_options(schema_translate_map={None: name})
        await conn.execute(text("SELECT 1"))
        await (await Bulk.of(conn)).insert(items, COLUMNS, brand_new, UPSERT, new=True)
    assert len(await table(engine, name)) == len(many) + COPY_FROM_ROWS


async def test_a_copy_rolled_back_to_its_savepoint_leaves_nothing_staged(schema):
    """The staging table lives as long as the session: a failed insert rolled back to a
    savepoint must not leave rows that the next insert would then write."""
    engine, name = schema
    many = COPY_FROM_ROWS + 1
    async with engine.begin() as conn:
        await conn.execution_options(schema_translate_map={None: name})
        await conn.execute(text("SELECT 1"))
        bulk = await Bulk.of(conn)
        overflowing = [(*row[:2], Decimal(10) ** 20, *row[3:]) for row in rows(many)]
        with pytest.raises(Exception, match="numeric field overflow"):
            async with conn.begin_nested():
                await bulk.insert(items, COLUMNS, overflowing, UPSERT)
        await bulk.insert(items, COLUMNS, rows(many)[:COPY_FROM_ROWS], UPSERT)

    found = await table(engine, name)
    assert len(found) == COPY_FROM_ROWS
    assert [row[2] for row in found] == [Decimal("1250.5") + n for n in range(COPY_FROM_ROWS)]


async def test_bulk_refuses_a_connection_that_has_not_begun(schema):
    engine, _ = schema
    async with engine.connect() as conn:
        with pytest.raises(RuntimeError, match="begun transaction"):
            await Bulk.of(conn)
