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
