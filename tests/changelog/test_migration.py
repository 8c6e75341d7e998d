"""0012 in both directions keeps every row of the tables it touches and of those that
refer to them (SQLite's foreign keys would cascade a rebuilt users or bug_logs table)."""

from __future__ import annotations

from sqlalchemy import text

from devops_center.db import make_engine
from devops_center.migrations import runner


async def test_0012_up_and_down_keeps_the_data(db_url: str) -> None:
    runner.upgrade(db_url, "head")
    engine = make_engine(db_url, pool_size=1)
    try:
        async with engine.begin() as conn:
            for sql in (
                "DELETE FROM github_issue_requests",
                "DELETE FROM changelog_entries",
                "DELETE FROM bug_logs",
                "DELETE FROM users",
                "INSERT INTO users (id, name, role, email, telegram_blocked, digest_opt_in,"
                " is_active, created_at, updated_at, github_login) VALUES (1, 'U', 'employee',"
                " 'u@x.y', false, true, true, '2026-12-01 10:00:00', '2026-12-01 10:00:00',"
                " 'alice')",
                "INSERT INTO bug_logs (id, user_id, title, what_doing, expected, actual, priority,"
                " status, source, created_at, updated_at, impact_score) VALUES (7, 1, 'T', 'a',"
                " 'b', 'c', 'low', 'open', 'web', '2026-12-01 10:00:00', '2026-12-01 10:00:00',"
                " 0.5)",
                "INSERT INTO github_issue_requests (bug_id, repo, requested_at)"
                " VALUES (7, 'o/r', '2026-12-01 10:00:00')",
                "INSERT INTO changelog_entries (id, date, description, impact_score,"
                " indexed_in_brain) VALUES (3, '2026-12-01 10:00:00', 'fix: x', 0.42, false)",
            ):
                await conn.execute(text(sql))
        runner.downgrade(db_url, "0013")
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM bug_logs"))).scalar() == 1
            requests = await conn.execute(text("SELECT count(*) FROM github_issue_requests"))
            assert requests.scalar() == 1
            score = await conn.execute(text("SELECT impact_score FROM changelog_entries"))
            assert score.scalar() == 42  # the integer column holds a percentage
        runner.upgrade(db_url, "head")
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM users"))).scalar() == 1
            assert (await conn.execute(text("SELECT count(*) FROM bug_logs"))).scalar() == 1
    finally:
        async with engine.begin() as conn:
            for t in ("github_issue_requests", "changelog_entries", "bug_logs", "users"):
                await conn.execute(text(f"DELETE FROM {t}"))
        await engine.dispose()
