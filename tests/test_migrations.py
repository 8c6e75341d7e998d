"""The migrations build the models' schema from empty, on SQLite and PostgreSQL, and revert."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from devops_center.db import make_engine
from devops_center.migrations import runner
from devops_center.migrations.runner import include_object
from devops_center.models import Base


async def _diff(url: str) -> list[Any]:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:

            def compare(sync_conn: Any) -> list[Any]:
                ctx = MigrationContext.configure(
                    sync_conn,
                    opts={"compare_type": True, "include_object": include_object},
                )
                return list(compare_metadata(ctx, Base.metadata))

            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


async def test_models_and_migrations_agree(db_url: str) -> None:
    assert await _diff(db_url) == []


async def test_sqlite_runs_with_wal_and_foreign_keys(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        return
    engine = make_engine(db_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            assert (await conn.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await engine.dispose()


async def test_downgrade_to_base_and_back(db_url: str) -> None:
    runner.downgrade(db_url, "base")
    engine = make_engine(db_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
    finally:
        runner.upgrade(db_url, "head")
    assert "(head)" in runner.current(db_url)
    assert await _diff(db_url) == []
    await engine.dispose()
