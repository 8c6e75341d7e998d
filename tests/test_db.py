"""The engine's connection check: a rested pooled connection is pinged, a busy one is not."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from devops_center import db
from tests.conftest import _pg_dsn


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("_postgres_url"))


async def _kill_pool_connections(engine: AsyncEngine) -> int:
    """Terminate every server process serving ``engine``'s database (as a restart would)."""
    name = engine.url.database
    admin = await asyncpg.connect(_pg_dsn())
    try:
        return len(
            await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                name,
            )
        )
    finally:
        await admin.close()


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_rested_connection_that_died_is_replaced_before_use(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = db.make_engine(pg_url, pool_size=1)
    try:
        first = await _backend_pid(engine)
        assert await _kill_pool_connections(engine) >= 1
        monkeypatch.setattr(db, "PING_IDLE_AFTER", 0.0)  # every pooled connection has rested
        # The ping finds the connection dead; the pool opens a new one and nobody sees an error.
        second = await _backend_pid(engine)
        assert second != first
    finally:
        await engine.dispose()


async def test_a_connection_used_a_moment_ago_is_not_pinged(pg_url: str) -> None:
    engine = db.make_engine(pg_url, pool_size=1)
    try:
        first = await _backend_pid(engine)
        assert await _kill_pool_connections(engine) >= 1
        # Within the rest window the connection is trusted: this one request fails ...
        with pytest.raises(DBAPIError) as failure:
            await _backend_pid(engine)
        assert failure.value.connection_invalidated
        # ... and the pool, invalidated by it, serves the next one on a fresh connection.
        assert await _backend_pid(engine) != first
    finally:
        await engine.dispose()


async def test_postgresql_connections_run_without_jit(pg_url: str) -> None:
    """Our statements are short (the DORA report runs a dozen): JIT would cost more than
    running them, so every connection the engine opens has it off."""
    engine = db.make_engine(pg_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("SHOW jit"))).scalar_one() == "off"
    finally:
        await engine.dispose()


def test_sqlite_keeps_timestamps_as_sqlalchemys_text_and_reads_them_back_in_utc() -> None:
    """UTCDateTime's own SQLite processors (one call per value, for imports) write the
    text SQLAlchemy's DATETIME writes — microseconds always, so texts compare in time
    order — and read back aware UTC datetimes."""
    from datetime import UTC, datetime, timedelta, timezone

    from sqlalchemy import Column, Integer, MetaData, Table, create_engine, select
    from sqlalchemy.dialects import sqlite

    table = Table(
        "t", MetaData(), Column("id", Integer, primary_key=True), Column("at", db.UTCDateTime())
    )
    plus3 = timezone(timedelta(hours=3))
    given = [
        datetime(2026, 12, 7, 3, 4, 5, tzinfo=UTC),
        datetime(2026, 12, 7, 3, 4, 5, 7, tzinfo=UTC),
        datetime(2026, 12, 7, 6, 4, 6),  # naive: already UTC
        datetime(2026, 12, 7, 9, 4, 4, 999999, tzinfo=plus3),
        datetime(1, 1, 1, tzinfo=UTC),
    ]
    reference = sqlite.DATETIME().bind_processor(sqlite.dialect())
    assert reference is not None
    engine = create_engine("sqlite://")
    with engine.begin() as conn:
        table.create(conn)
        conn.execute(table.insert(), [{"id": i, "at": v} for i, v in enumerate(given)])
        texts = [t for (t,) in conn.exec_driver_sql("SELECT at FROM t ORDER BY id")]
        read = [v for (v,) in conn.execute(select(table.c.at).order_by(table.c.id))]
        ordered = [i for (i,) in conn.execute(select(table.c.id).order_by(table.c.at))]
        later = conn.execute(
            select(table.c.id).where(table.c.at > datetime(2026, 12, 7, 3, 4, 5, tzinfo=UTC))
        ).scalars()
        assert sorted(later) == [1, 2, 3]
    as_utc = [v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC) for v in given]
    assert texts == [reference(v.replace(tzinfo=None)) for v in as_utc]
    assert texts[0] == "2026-12-07 03:04:05.000000"
    assert read == as_utc and all(v.tzinfo is UTC for v in read)
    assert ordered == [4, 0, 1, 3, 2]
