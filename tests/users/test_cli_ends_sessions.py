"""`dcc users set-password` and `dcc users deactivate` end the user's web sessions (a new
role does too: the same service call, tested in tests/web/test_sessions.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from devops_center.users import sessions as user_sessions
from devops_center.users.models import UserSession
from tests.cli.test_cli import dcc


async def _sessions_of(sessionmaker: Any, user_id: int) -> int:
    async with sessionmaker() as s:
        stmt = select(func.count()).where(UserSession.user_id == user_id)
        return int(await s.scalar(stmt) or 0)


async def test_cli_account_changes_end_sessions(
    settings: Any, sessionmaker: Any, people: dict[str, Any]
) -> None:
    env = {
        "DATABASE_URL": settings.database_url,
        "DCC_VAR_DIR": str(settings.var_dir),
        "DCC_CONFIG": "",
    }
    uid = people["manager"].id
    policy = user_sessions.SessionPolicy()

    async def sign_in_twice() -> None:
        async with sessionmaker() as s, s.begin():
            for _ in range(2):
                await user_sessions.start(s, user_id=uid, policy=policy)
        assert await _sessions_of(sessionmaker, uid) == 2

    await sign_in_twice()
    done = dcc("users", "set-password", str(uid), env=env, input="another long password\n")
    assert done.returncode == 0, done.stderr
    assert "web sessions were signed out" in done.stdout
    assert await _sessions_of(sessionmaker, uid) == 0

    await sign_in_twice()
    async with sessionmaker() as s, s.begin():
        await user_sessions.start(s, user_id=people["employee"].id, policy=policy)
    done = dcc("users", "deactivate", str(uid), env=env)
    assert done.returncode == 0 and "deactivated" in done.stdout, done.stderr
    assert await _sessions_of(sessionmaker, uid) == 0
    assert await _sessions_of(sessionmaker, people["employee"].id) == 1  # nobody else's
