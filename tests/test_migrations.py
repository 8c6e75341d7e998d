"""The migrations build the models' schema from empty, on SQLite and PostgreSQL, and revert."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import JSON, column, insert, inspect, table, text

from devops_center.db import UTCDateTime, make_engine
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


async def test_state_moves_out_of_the_key_value_store_and_back(db_url: str) -> None:
    """0003 moves what had a meaning out of kv_store into its own tables (data kept), and
    its downgrade puts it back."""
    runner.downgrade(db_url, "0002")
    engine = make_engine(db_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO users (id, name, role, email, telegram_blocked, digest_opt_in,"
                    " is_active, created_at, updated_at) VALUES (1, 'U', 'employee', 'u@x.y',"
                    " false, true, true, '2026-12-01 10:00:00', '2026-12-01 10:00:00')"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO bug_logs (id, user_id, title, what_doing, expected, actual,"
                    " priority, status, source, created_at, updated_at) VALUES (7, 1, 'T', 'a',"
                    " 'b', 'c', 'low', 'open', 'web', '2026-12-01 10:00:00',"
                    " '2026-12-01 10:00:00')"
                )
            )
            rows = {
                "status:maintenance": [
                    {
                        "id": "w1",
                        "checks": ["web"],
                        "starts_at": "2026-12-01T02:00:00+00:00",
                        "ends_at": "2099-12-01T03:00:00+00:00",
                        "note": "upgrade",
                    }
                ],
                "status:rolled_until": "2026-12-01T05:00:00+00:00",
                "github:etag:open-issues:o/r": 'W/"abc"',
                "github:last-sync": {"at": "2026-12-01T06:00:00+00:00", "not_modified": True},
                "github:create-intent:o/r:7": True,
                "fsm:1:2:2:0:default": {"state": "BugForm:title", "data": {"a": 1}},
                "dora.report:x": {"stale": "cache"},
            }
            kv = table(
                "kv_store",
                column("key"),
                column("value", JSON),
                column("updated_at", UTCDateTime()),
            )
            now = datetime(2026, 12, 1, 10, tzinfo=UTC)
            await conn.execute(
                insert(kv), [{"key": k, "value": v, "updated_at": now} for k, v in rows.items()]
            )
        runner.upgrade(db_url, "head")
        async with engine.connect() as conn:
            window = (await conn.execute(text("SELECT id, note FROM maintenance_windows"))).one()
            assert tuple(window) == ("w1", "upgrade")
            until = await conn.execute(text("SELECT rolled_until FROM check_rollup_watermark"))
            assert "05:00" in str(until.scalar_one())
            state = (
                await conn.execute(text("SELECT repo, open_issues_etag FROM github_sync_state"))
            ).one()
            assert tuple(state) == ("o/r", 'W/"abc"')
            assert (await conn.execute(text("SELECT bug_id FROM github_issue_requests"))).all() == [
                (7,)
            ]
            assert (await conn.execute(text("SELECT key FROM bot_dialogs"))).all() == [
                ("fsm:1:2:2:0:default",)
            ]
            assert (await conn.execute(text("SELECT count(*) FROM cache_entries"))).scalar() == 0
        runner.downgrade(db_url, "0002")
        async with engine.connect() as conn:
            keys = {k for (k,) in await conn.execute(text("SELECT key FROM kv_store"))}
        assert {
            "status:maintenance",
            "status:rolled_until",
            "github:etag:open-issues:o/r",
            "github:create-intent:o/r:7",
            "fsm:1:2:2:0:default",
        } <= keys
    finally:
        async with engine.begin() as conn:
            for name in ("kv_store", "bug_logs", "users"):
                if name != "kv_store" or "0002" in runner.current(db_url):
                    await conn.execute(text(f"DELETE FROM {name}"))
        await engine.dispose()
        runner.upgrade(db_url, "head")
